// The poller reads actual state back through the plugins (ListResources,
// GetPermitList), compares it with the desired state in the store, publishes
// every difference as a `drift.detected` event and, when repairing, makes the
// cloud match (`drift.repaired`). A resource gone from its cloud is reported,
// not re-created: that takes its description, which only its owner has.

import { forEachConcurrently, hasDrift, type PermitListDrift } from '@skyway/core';
import type { ResourceRow, Store } from '../store/store.js';
import type { EventBus } from './events.js';
import type { CloudBinding, PluginManager } from './plugins.js';
import type { ResourceService } from './resources.js';
import type { RuleService } from './rules.js';

export type DriftKind = 'rules' | 'resource_missing' | 'resource_unmanaged';

/** One difference found; for `rules`, what the permit list lacks, has too much of or has besides (core's PermitListDrift). */
export interface Drift extends Partial<PermitListDrift> {
  kind: DriftKind;
  namespace: string;
  cloud: string;
  resource: string;
  repaired: boolean;
}

export interface PollReport {
  started_at: string;
  duration_ms: number;
  repair: boolean;
  clouds: number;
  resources: number;
  drift: Drift[];
  /** Clouds or resources that could not be read; they are tried again next time. */
  errors: Array<{ namespace: string; cloud: string; resource?: string; message: string }>;
}

export interface PollerOptions {
  /** Make the clouds match the store (default true); false only reports. */
  repair?: boolean;
  /** Resources checked at once (plugin calls may be remote). */
  concurrency?: number;
  onError?: (e: unknown) => void;
}

export class Poller {
  last?: PollReport;
  private running?: Promise<PollReport>;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly plugins: PluginManager,
    private readonly resources: ResourceService,
    private readonly rules: RuleService,
    private readonly events: EventBus,
    private readonly opts: PollerOptions = {},
  ) {}

  /** Polls every `intervalMs` (0: never) until stopped. */
  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.poll().catch((e) => this.opts.onError?.(e));
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => {});
  }

  /** One pass over every cloud. A pass already running is joined, not doubled. */
  poll(opts: { repair?: boolean } = {}): Promise<PollReport> {
    if (!this.running) {
      this.running = this.pass(opts.repair ?? this.opts.repair ?? true).finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  private async pass(repair: boolean): Promise<PollReport> {
    const t0 = performance.now();
    const report: PollReport = {
      started_at: new Date().toISOString(),
      duration_ms: 0,
      repair,
      clouds: 0,
      resources: 0,
      drift: [],
      errors: [],
    };
    for (const binding of this.plugins.all()) {
      report.clouds++;
      await this.pollCloud(binding, repair, report);
    }
    report.duration_ms = Math.round(performance.now() - t0);
    this.last = report;
    return report;
  }

  private async pollCloud(binding: CloudBinding, repair: boolean, report: PollReport): Promise<void> {
    const { namespace, cloud } = binding;
    // The cloud first, then the store: a resource the store has that the cloud
    // did not list had better be older than the listing.
    const listedAt = new Date().toISOString();
    let live: Map<string, { name: string; state: string }>;
    try {
      const { resources } = await this.plugins.call(binding, 'could not list its resources', (c) =>
        c.listResources({ deployments: [{ id: binding.deployment, namespace }] }),
      );
      live = new Map(resources.map((r) => [r.uri, r]));
    } catch (e) {
      report.errors.push({ namespace, cloud, message: (e as Error).message });
      return;
    }
    const stored = await this.store.resources.list({ namespace, cloud });
    const changing = (name: string) => this.resources.changing(namespace, cloud, name);
    const known = new Set(stored.map((r) => r.uri));
    for (const [uri, r] of live) {
      if (!known.has(uri) && !changing(r.name))
        await this.found(report, {
          kind: 'resource_unmanaged',
          namespace,
          cloud,
          resource: uri,
          repaired: false,
        });
    }
    const present: ResourceRow[] = [];
    for (const r of stored) {
      const state = live.get(r.uri)?.state;
      if (state !== undefined && state !== 'missing') present.push(r);
      else if (r.createdAt < listedAt && !changing(r.name))
        await this.found(report, {
          kind: 'resource_missing',
          namespace,
          cloud,
          resource: r.name,
          repaired: false,
        });
    }
    await forEachConcurrently(present, this.opts.concurrency ?? 8, async (r) => {
      report.resources++;
      const key = { namespace, cloud, resource: r.name };
      try {
        const drift = await this.rules.reconcile(key, r.uri, repair);
        if (hasDrift(drift)) await this.found(report, { kind: 'rules', ...key, ...drift, repaired: repair });
      } catch (e) {
        report.errors.push({ namespace, cloud, resource: r.name, message: (e as Error).message });
      }
    });
  }

  private async found(report: PollReport, drift: Drift): Promise<void> {
    report.drift.push(drift);
    const subject = `${drift.namespace}/${drift.cloud}/${drift.resource}`;
    await this.events.publish('drift.detected', subject, drift);
    if (drift.repaired) await this.events.publish('drift.repaired', subject, drift);
  }
}
