// Origin servers for the tunnel tests, run inside the edge namespace: JSON
// echo, a chunked watch, a slow endpoint, streamed upload and download, and a
// WebSocket-style upgrade echo. Connection closes are logged to a file.
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import * as http from 'node:http';

const host = process.env.SKY_ORIGIN_HOST ?? '127.0.0.1';
const port = Number(process.env.SKY_ORIGIN_PORT ?? '0');
const logFile = process.env.SKY_ORIGIN_LOG;
const log = (e: Record<string, unknown>) => {
  if (logFile) appendFileSync(logFile, `${JSON.stringify({ t: Date.now(), ...e })}\n`);
};
const block = Buffer.alloc(64 * 1024, 0x61);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://origin');
  const id = url.searchParams.get('id') ?? '';
  res.on('close', () => {
    if (id) log({ event: res.writableFinished ? 'finished' : 'closed', id, path: url.pathname });
  });
  switch (url.pathname) {
    case '/watch': {
      // A Kubernetes-style watch: one JSON event per interval, chunked, until the caller leaves.
      const every = Number(url.searchParams.get('every') ?? '1000');
      const count = Number(url.searchParams.get('count') ?? '0');
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      let n = 0;
      const tick = () => {
        res.write(`${JSON.stringify({ type: 'ADDED', n: n++, sentAt: Date.now() })}\n`);
        if (count && n >= count) {
          clearInterval(timer);
          res.end();
        }
      };
      const timer = setInterval(tick, every);
      tick();
      res.on('close', () => clearInterval(timer));
      return;
    }
    case '/slow': {
      const timer = setTimeout(() => res.end('late'), Number(url.searchParams.get('ms') ?? '60000'));
      res.on('close', () => clearTimeout(timer));
      return;
    }
    case '/upload': {
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ bytes }));
      });
      return;
    }
    case '/download': {
      let left = Number(url.searchParams.get('bytes') ?? '0');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': left });
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, block.length);
          left -= n;
          if (!res.write(n === block.length ? block : block.subarray(0, n)))
            return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    case '/1k': {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 1024 });
      res.end(block.subarray(0, 1024));
      return;
    }
    default: {
      // The origin never echoes credentials, only their hash, so callers can check them without seeing them.
      const headers = { ...req.headers };
      if (headers.authorization) headers.authorization = `sha256:${sha256(headers.authorization)}`;
      const body = JSON.stringify({ method: req.method, path: req.url, headers });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    }
  }
});
server.on('upgrade', (req, socket) => {
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${req.headers.upgrade}\r\n\r\n`,
  );
  socket.pipe(socket);
});
server.keepAliveTimeout = 120_000;
server.listen(port, host, () => {
  process.stdout.write(
    `${JSON.stringify({ ready: true, port: (server.address() as { port: number }).port })}\n`,
  );
});
process.once('SIGTERM', () => process.exit(0));
