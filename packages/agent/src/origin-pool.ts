// Connections from the agent to its services, kept between relayed requests.
// The controller follows every response; when it ends a relay stream after a
// complete HTTP/1.1 response that leaves the connection open, its CLOSE frame
// says the connection may serve another request, and the connection waits
// here for the next stream to the same place instead of being closed. Callers
// that send one request per stream (HTTP/2) or one per connection then cost
// no new service connection (and no TIME_WAIT socket) per request.
import type { Socket } from 'node:net';

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

/**
 * How long a connection may wait: below the usual keep-alive timeouts of
 * servers (Node's is 5 s), so that a reused connection is rarely one the
 * service is just closing.
 */
const idleMs = 4_000;
const maxIdlePerTarget = 256;

export class OriginLink {
  /** Undefined while the connection waits in the pool. */
  user?: OriginUser;
  idleSince = 0;
  readonly socket: Socket;

  constructor(
    readonly target: string,
    connect: (read: (n: number, buf: Buffer) => boolean) => Socket,
    pool: OriginPool,
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
    s.on('close', () => (this.user ? this.user.close() : pool.remove(this)));
  }
}

export class OriginPool {
  private readonly idle = new Map<string, OriginLink[]>();
  private sweeper?: NodeJS.Timeout;

  /** A waiting connection to `target`, or a new one. */
  link(target: string, connect: (read: (n: number, buf: Buffer) => boolean) => Socket): OriginLink {
    const list = this.idle.get(target);
    while (list?.length) {
      const l = list.pop()!;
      if (list.length === 0) this.idle.delete(target);
      if (!l.socket.destroyed && Date.now() - l.idleSince < idleMs) return l;
      l.socket.destroy();
    }
    return new OriginLink(target, connect, this);
  }

  /** Takes a connection back for later; false if it cannot wait (then the caller closes it). */
  put(link: OriginLink): boolean {
    const list = this.idle.get(link.target) ?? [];
    if (link.socket.destroyed || list.length >= maxIdlePerTarget) return false;
    link.user = undefined;
    link.idleSince = Date.now();
    link.socket.resume(); // an idle connection is read so that a close is noticed at once
    list.push(link);
    this.idle.set(link.target, list);
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), idleMs);
      this.sweeper.unref();
    }
    return true;
  }

  remove(link: OriginLink) {
    const list = this.idle.get(link.target);
    const i = list?.indexOf(link) ?? -1;
    if (i >= 0) list!.splice(i, 1);
    if (list?.length === 0) this.idle.delete(link.target);
  }

  private sweep() {
    const now = Date.now();
    for (const list of this.idle.values())
      for (const l of [...list]) if (now - l.idleSince >= idleMs) l.socket.destroy();
    if (this.idle.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  close() {
    for (const list of this.idle.values()) for (const l of list) l.socket.destroy();
    this.idle.clear();
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
