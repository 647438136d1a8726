// What both ends of the tunnel speak: the relay frames on each stream, the
// keepalive of the HTTP/2 connection, and the pool of idle streams.
export * from './idle-pool.js';
export * from './keepalive.js';
export * from './relay-frames.js';
