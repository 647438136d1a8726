export { consoleHeader, consoleRoutes, installSessionCookies, sessionCookie } from './routes.js';
export { ConsoleSessions } from './sessions.js';
