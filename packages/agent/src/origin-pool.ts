// Connections from the agent to its services, kept between relayed requests.
// The controller follows every response; when it ends a relay stream after a
// complete HTTP/1.1 response that leaves the connection open, its CLOSE frame
// says the connection may serve another request, and the connection waits
// here for the next stream to the same place instead of being closed. Callers
// that send one request per connection then cost no new service connection
// (and no TIME_WAIT socket) per request.
import type { Socket } from 'node:net';
import { IdlePool } from '@skyway/tunnel/wire';

/** Whoever is using a connection: the relay of one stream. */
export interface OriginUser {
  /** A plain TCP read (in the shared buffer, valid during the call); false pauses reading. */
  read(n: number, buf: Buffer): boolean;
  /** A TLS read. */
  data(chunk: Buffer): void;
  end(): void;
  error(e: NodeJS.ErrnoException): void;
  close(): void;
}

export class OriginLink {
  /** Undefined while the connection waits in the pool. */
  user?: OriginUser;
  readonly socket: Socket;

  constructor(
    readonly target: string,
    connect: (read: (n: number, buf: Buffer) => boolean) => Socket,
    onIdleClose: (link: OriginLink) => void,
  ) {
    const s = connect((n, buf) => {
      if (this.user) return this.user.read(n, buf);
      s.destroy(); // a service speaking out of turn is not reused
      return false;
    });
    this.socket = s;
    s.on('data', (c: Buffer) => (this.user ? this.user.data(c) : s.destroy()));
    s.on('end', () => (this.user ? this.user.end() : s.destroy()));
    s.on('error', (e: NodeJS.ErrnoException) => this.user?.error(e));
    s.on('close', () => (this.user ? this.user.close() : onIdleClose(this)));
  }
}

export class OriginPool {
  private readonly idle = new IdlePool<OriginLink>({
    // Below the usual keep-alive timeouts of servers (Node's is 5 s), so that a reused
    // connection is rarely one the service is just closing.
    idleMs: 4_000,
    maxPerKey: 256,
    usable: (l) => !l.socket.destroyed,
    discard: (l) => l.socket.destroy(),
  });

  /** A waiting connection to `target`, or a new one. */
  link(target: string, connect: (read: (n: number, buf: Buffer) => boolean) => Socket): OriginLink {
    return this.idle.take(target) ?? new OriginLink(target, connect, (l) => this.idle.remove(l.target, l));
  }

  /** Takes a connection back for later; false if it cannot wait (then the caller closes it). */
  put(link: OriginLink): boolean {
    if (!this.idle.put(link.target, link)) return false;
    link.user = undefined;
    link.socket.resume(); // an idle connection is read so that a close is noticed at once
    return true;
  }

  close() {
    this.idle.close();
  }
}
