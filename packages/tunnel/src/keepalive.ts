// Dead-peer detection for one long-lived HTTP/2 connection (the agent tunnel,
// used by both of its ends): a PING every interval; when two intervals pass
// without an answer, or a PING cannot be sent, the peer is given up.

/** The part of a Node HTTP/2 session keepAlive uses. */
export interface PingableSession {
  ping(callback: (err: Error | null, duration: number, payload: Buffer) => void): boolean;
  once(event: 'close', listener: () => void): unknown;
}

/**
 * Pings `session` every `intervalMs` until it closes. `onDead` is called once:
 * 'timeout' after two unanswered intervals, 'error' when a ping cannot be sent.
 * The timer does not keep the process alive. Returns a function that stops it.
 */
export function keepAlive(
  session: PingableSession,
  intervalMs: number,
  onDead: (why: 'timeout' | 'error') => void,
): () => void {
  let waiting = 0;
  const stop = () => clearInterval(timer);
  const timer = setInterval(() => {
    if (waiting >= 2) {
      stop();
      onDead('timeout');
      return;
    }
    waiting++;
    try {
      session.ping((err) => {
        if (!err) waiting = 0;
      });
    } catch {
      stop();
      onDead('error');
    }
  }, intervalMs);
  timer.unref();
  session.once('close', stop);
  return stop;
}
