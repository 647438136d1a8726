// moto_server for tests and the bench: started on 127.0.0.1 on a port it picks,
// behind a small counting proxy on loopback, so every AWS API call the plugin
// makes is seen (and counted) at the endpoint. Stopped by its pid.
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ApiCall {
  action: string;
  /** The form parameters of the query-protocol request (EC2 and STS). */
  params: URLSearchParams;
}

export interface Moto {
  /** The proxy's URL: give it to the plugin as `endpoint`. */
  endpoint: string;
  /** moto itself, for tests that look behind the plugin's back without being counted. */
  direct: string;
  calls: ApiCall[];
  /** The next `n` calls are answered as AWS answers when it throttles (HTTP 503, RequestLimitExceeded). */
  throttle(n: number): void;
  /** Actions counted since `mark` (an index into calls), by name. */
  countSince(mark: number): Record<string, number>;
  stop(): Promise<void>;
}

export const MOTO_MISSING =
  'moto_server is not on the PATH: the AWS plugin tests run against moto 5.2.1 (pip install "moto[server]==5.2.1"); set SKYWAY_SKIP_AWS=1 to skip them';

/** Dummy credentials so the SDK's default chain finds something and never asks a metadata service. */
export function useDummyCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  // the SDK's note that it will need Node 22 from 2027 is not news to a test log
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
}

/** `env` goes to moto_server (e.g. INITIAL_NO_AUTH_ACTION_COUNT=0: check access keys like AWS). */
export async function startMoto(env: Record<string, string> = {}): Promise<Moto> {
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('moto_server did not start within 30 s')), 30_000);
    let seen = '';
    const onData = (b: Buffer) => {
      seen += b.toString();
      const m = /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject((e as NodeJS.ErrnoException).code === 'ENOENT' ? new Error(MOTO_MISSING) : e);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`moto_server exited with ${code}: ${seen.slice(-500)}`));
    });
  });
  child.stdout!.resume();
  child.stderr!.resume();
  const calls: ApiCall[] = [];
  let throttled = 0;
  const proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const params = new URLSearchParams(body.toString());
      calls.push({ action: params.get('Action') ?? `${req.method} ${req.url}`, params });
      if (throttled > 0) {
        throttled--;
        res.writeHead(503, { 'content-type': 'text/xml' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>skyway-throttle</RequestID></Response>',
        );
        return;
      }
      const up = http.request(
        { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyPort = (proxy.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${proxyPort}`,
    direct: `http://127.0.0.1:${port}`,
    calls,
    throttle(n) {
      throttled = n;
    },
    countSince(mark) {
      const out: Record<string, number> = {};
      for (const c of calls.slice(mark)) out[c.action] = (out[c.action] ?? 0) + 1;
      return out;
    },
    async stop() {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      if (child.exitCode === null && child.pid) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        process.kill(child.pid, 'SIGTERM');
        const t = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}
