export * from './contract.js';
export * from './transport.js';
