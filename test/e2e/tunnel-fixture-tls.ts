// The floor for idle-watch memory of any Node TLS terminator: a bare Node TLS
// server with the service port's TLS settings that answers each request with
// a watch-like response head and first chunk, then stays quiet, holding the
// socket and nothing else. bench/tunnel.ts measures its RSS per idle watch
// the same way as Skyway's. Prints one JSON line when ready.
import * as tls from 'node:tls';
import { tlsTuning } from '@skyway/tunnel';
import { CertificateAuthority } from '../../packages/controller/src/ca/ca.js';
import { MemoryCaKeyStore, MemoryCredentialRegistry } from '../../packages/controller/src/ca/store.js';

// A server certificate from a CA of our own, as the service port has.
const ca = await CertificateAuthority.open({
  store: new MemoryCaKeyStore(),
  registry: new MemoryCredentialRegistry(),
});
const serverCert = await ca.issueServer({ names: ['localhost', '127.0.0.1'] });
const held = new Set<tls.TLSSocket>();
const head = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n';
const server = tls.createServer(
  {
    key: serverCert.keyPem,
    cert: serverCert.certPem,
    ca: ca.certPem,
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
    `${JSON.stringify({ ready: true, pid: process.pid, url: `https://127.0.0.1:${port}`, ca: ca.certPem })}\n`,
  );
});
process.once('SIGTERM', () => process.exit(0));
