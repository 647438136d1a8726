// Where `skyway serve` logs: a file under $SKYWAY_HOME (and stdout with
// --log-stdout), secrets redacted, a line per HTTP request only at debug.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';

/** Fastify's two lines per request: kept for debugging, not for the operator's log. */
const requestLines = new Set(['incoming request', 'request completed']);

export function serveLogger(opts: { home: string; level: string; stdout: boolean; redact: string[] }): {
  logger: Logger;
  file: string;
} {
  const dir = join(opts.home, 'logs');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'skyway.log');
  const streams: pino.StreamEntry[] = [
    {
      level: opts.level as pino.Level,
      stream: pino.destination({ dest: file, append: true, mkdir: true, sync: true }),
    },
  ];
  if (opts.stdout) streams.push({ level: opts.level as pino.Level, stream: pino.destination(1) });
  const logger = pino(
    {
      level: opts.level,
      redact: { paths: [...opts.redact, 'res.headers["set-cookie"]'], censor: '[redacted]' },
      hooks: {
        logMethod(args, method, level) {
          const msg = args.find((a) => typeof a === 'string');
          if (level === 30 && msg !== undefined && requestLines.has(msg)) {
            if (this.isLevelEnabled('debug')) this.debug(...(args as [object, string]));
            return;
          }
          method.apply(this, args);
        },
      },
    },
    pino.multistream(streams),
  );
  return { logger, file };
}
