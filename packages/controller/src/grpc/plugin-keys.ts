// The API keys of out-of-process plugins: each bound to the (namespace, cloud)
// its process serves, short-lived, renewed while the process runs (handed over
// on the plugin's stdin by the launcher), and revoked when the process stops.
import type { PluginKeyBinding } from '../auth/tokens.js';
import type { AccessService } from '../services/access.js';

/** What a key is rotated into: the launched plugin's rotateKey(). */
export interface KeyHolder {
  rotateKey(key: string): Promise<void>;
}

export interface PluginKeyOptions {
  access: AccessService;
  /** Lifetime of each key; a new one is handed over every third of it. */
  ttlMs: number;
  /** How long the key before stays valid after the plugin took a new one (default 5 s, or a sixth of ttlMs when less). */
  graceMs?: number;
  onError?: (err: unknown, what: string) => void;
}

/** The keys of one plugin process. */
export class PluginKeys {
  private readonly live: string[] = [];
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private rotating?: Promise<void>;

  constructor(
    private readonly opts: PluginKeyOptions,
    private readonly plugin: string,
    private readonly bindings: PluginKeyBinding[],
  ) {}

  /** Issues a key for the bindings (the first key, or the next one). */
  async issue(): Promise<string> {
    const subject = `plugin:${this.bindings.map((b) => `${b.namespace}/${b.cloud}`).join(',')}`;
    const k = await this.opts.access.issue(
      subject,
      { kind: 'plugin', plugin: this.plugin, bindings: this.bindings },
      this.opts.ttlMs,
    );
    this.live.push(k.id);
    return k.token;
  }

  /** Hands `holder` a new key every ttl/3 and revokes the one before once the plugin took it. */
  startRotation(holder: KeyHolder): void {
    const every = Math.max(1000, Math.floor(this.opts.ttlMs / 3));
    const tick = () => {
      this.rotating = this.rotate(holder).finally(() => {
        this.rotating = undefined;
        if (!this.stopped) this.timer = setTimeout(tick, every).unref();
      });
    };
    this.timer = setTimeout(tick, every).unref();
  }

  async rotate(holder: KeyHolder): Promise<void> {
    const old = [...this.live];
    try {
      await holder.rotateKey(await this.issue());
    } catch (e) {
      // The plugin keeps its current key, which is still valid for two thirds of its life.
      this.opts.onError?.(e, 'plugin key rotation failed');
      return;
    }
    // A callback the plugin sent with the old key just before it switched may still be on its way.
    const t = setTimeout(
      () => void this.revoke(old),
      this.opts.graceMs ?? Math.min(5000, this.opts.ttlMs / 6),
    );
    t.unref();
  }

  /** Stops rotating and revokes every key still live (the process has stopped). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.rotating;
    await this.revoke([...this.live]);
  }

  private async revoke(ids: string[]): Promise<void> {
    for (const id of ids) {
      if (!this.live.includes(id)) continue;
      try {
        await this.opts.access.revoke(id);
      } catch (e) {
        this.opts.onError?.(e, 'could not revoke a plugin key');
      }
      this.live.splice(this.live.indexOf(id), 1);
    }
  }
}
