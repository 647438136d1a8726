// The floor for idle-watch memory of any Node TLS terminator: a bare Node TLS
// server with the service port's TLS settings that answers each request with
// a watch-like response head and first chunk, then stays quiet, holding the
// socket and nothing else. bench/tunnel.ts measures its RSS per idle watch
// the same way as Skyway's. Prints one JSON line when ready.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { tlsTuning } from '../../packages/controller/src/tunnel/endpoint.js';

const dir = mkdtempSync(join(tmpdir(), 'skyway-tls-floor-'));
execFileSync(
  'openssl',
  [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
  ],
  { stdio: 'ignore' },
);
const key = readFileSync(join(dir, 'key.pem'));
const cert = readFileSync(join(dir, 'cert.pem'));
rmSync(dir, { recursive: true, force: true });
const held = new Set<tls.TLSSocket>();
const head = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n';
const server = tls.createServer(
  {
    key,
    cert,
    ca: cert,
    requestCert: true,
    rejectUnauthorized: false,
    ALPNProtocols: ['http/1.1'],
    ...tlsTuning,
  },
  (sock) => {
    held.add(sock);
    sock.on('error', () => {});
    sock.once('close', () => held.delete(sock));
    sock.once('data', () => sock.write(`${head}c\r\n{"type":"x"}\r\n`));
  },
);
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(
    `${JSON.stringify({ ready: true, pid: process.pid, url: `https://127.0.0.1:${port}`, ca: cert.toString() })}\n`,
  );
});
process.once('SIGTERM', () => process.exit(0));
