// Things kept open between uses (connections, streams), by key, for a
// limited time: the agent's service connections, the controller's tunnel
// streams. An item that waited too long or stopped being usable is discarded
// instead of handed out; one sweep timer for the whole pool.

export interface IdlePoolOptions<T> {
  /** How long an item may wait. */
  idleMs: number;
  maxPerKey: number;
  usable(item: T): boolean;
  /** Called for an item the pool gives up (too old, unusable, or the pool closes). */
  discard(item: T): void;
}

interface Waiting<T> {
  item: T;
  since: number;
}

export class IdlePool<T> {
  private readonly idle = new Map<string, Array<Waiting<T>>>();
  private sweeper?: NodeJS.Timeout;

  constructor(private readonly opts: IdlePoolOptions<T>) {}

  /** The most recently returned usable item for `key`, if any. */
  take(key: string, now = Date.now()): T | undefined {
    const list = this.idle.get(key);
    while (list?.length) {
      const w = list.pop()!;
      if (list.length === 0) this.idle.delete(key);
      if (now - w.since < this.opts.idleMs && this.opts.usable(w.item)) return w.item;
      this.opts.discard(w.item);
    }
    return undefined;
  }

  /** Keeps `item` for later; false if it cannot wait (the caller closes it). */
  put(key: string, item: T, now = Date.now()): boolean {
    const list = this.idle.get(key) ?? [];
    if (list.length >= this.opts.maxPerKey || !this.opts.usable(item)) return false;
    list.push({ item, since: now });
    this.idle.set(key, list);
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), this.opts.idleMs);
      this.sweeper.unref();
    }
    return true;
  }

  /** Forgets a waiting item (it closed by itself). */
  remove(key: string, item: T) {
    const list = this.idle.get(key);
    const i = list?.findIndex((w) => w.item === item) ?? -1;
    if (i >= 0) list!.splice(i, 1);
    if (list?.length === 0) this.idle.delete(key);
  }

  get size() {
    let n = 0;
    for (const list of this.idle.values()) n += list.length;
    return n;
  }

  sweep(now = Date.now()) {
    for (const [key, list] of [...this.idle])
      for (const w of [...list])
        if (now - w.since >= this.opts.idleMs) {
          this.remove(key, w.item);
          this.opts.discard(w.item);
        }
    if (this.idle.size === 0) this.stopSweeper();
  }

  close() {
    const all = [...this.idle.values()].flat();
    this.idle.clear();
    this.stopSweeper();
    for (const w of all) this.opts.discard(w.item);
  }

  private stopSweeper() {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
