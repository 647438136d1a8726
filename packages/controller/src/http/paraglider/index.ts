// The Paraglider-compatible API: glide and Paraglider's REST clients, unchanged.
export { isLoopback, type ParagliderConfig, parseParagliderConfig } from './config.js';
export { buildParagliderApp, type ParagliderListener, startParagliderListener } from './server.js';
