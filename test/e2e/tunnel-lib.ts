// Helpers shared by the tunnel end-to-end tests and bench/tunnel.ts.
import { once } from 'node:events';
import type * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
  agent?: https.Agent | false;
}

/** One HTTPS request, body collected. */
export function call(url: string, opts: CallOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: opts.method ?? 'GET',
        headers: opts.headers,
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        servername: opts.servername,
        agent: opts.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Opens a raw TLS connection, sends an upgrade request and returns the socket after the response head. */
export async function upgrade(
  url: string,
  headers: Record<string, string>,
  tlsOpts: { ca: string; servername?: string },
): Promise<{ head: string; socket: tls.TLSSocket; rest: Buffer }> {
  const u = new URL(url);
  const socket = tls.connect({
    host: u.hostname,
    port: Number(u.port),
    ca: tlsOpts.ca,
    servername: tlsOpts.servername,
  });
  await once(socket, 'secureConnect');
  const lines = [
    `GET ${u.pathname} HTTP/1.1`,
    `host: ${u.host}`,
    'connection: Upgrade',
    'upgrade: websocket',
  ];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  while (true) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    buf = Buffer.concat([buf, chunk]);
    const end = buf.indexOf('\r\n\r\n');
    if (end >= 0) return { head: buf.subarray(0, end).toString(), socket, rest: buf.subarray(end + 4) };
  }
}

export const listenHttp = async (server: http.Server, host = '127.0.0.1', port = 0) => {
  server.listen(port, host);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
};
