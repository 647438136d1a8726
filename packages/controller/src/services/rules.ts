// Permit lists: the controller validates rules, resolves their tags to
// targets (user-supplied targets are replaced), connects clouds when a target
// lives in another one, records the desired rules and subscriptions in one
// transaction, then has the plugin apply them.

import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  type Direction,
  diffPermitList,
  forEachConcurrently,
  hasDrift,
  type PermitListDrift,
  type Rule,
  type RuleInput,
  SerialQueue,
  type Tag,
  validateRule,
  validateRules,
} from '@skyway/core';
import {
  type PermitListRule,
  type PermitListRuleSchema,
  Direction as ProtoDirection,
} from '@skyway/proto/plugin';
import type { ResourceKey, RuleRow, Store } from '../store/store.js';
import type { ConnectivityService } from './connectivity.js';
import type { EventBus } from './events.js';
import type { PluginManager } from './plugins.js';
import type { ResourceService } from './resources.js';
import type { TagService } from './tags.js';

/** Rules as the API returns them: the proto's snake_case fields. */
export interface RuleView {
  name: string;
  targets: string[];
  direction: Direction;
  src_port: number;
  dst_port: number;
  protocol: number;
  tags: string[];
}

export const ruleView = (r: RuleRow): RuleView => ({
  name: r.name,
  targets: r.targets,
  direction: r.direction,
  src_port: r.srcPort,
  dst_port: r.dstPort,
  protocol: r.protocol,
  tags: r.tags,
});

const toProto = (r: RuleRow): MessageInitShape<typeof PermitListRuleSchema> => ({
  name: r.name,
  targets: r.targets,
  direction: r.direction === 'INBOUND' ? ProtoDirection.INBOUND : ProtoDirection.OUTBOUND,
  srcPort: r.srcPort,
  dstPort: r.dstPort,
  protocol: r.protocol,
  tags: r.tags,
});

const fromProto = (r: PermitListRule) => ({
  name: r.name,
  targets: r.targets,
  direction: (r.direction === ProtoDirection.OUTBOUND ? 'OUTBOUND' : 'INBOUND') as Direction,
  srcPort: r.srcPort,
  dstPort: r.dstPort,
  protocol: r.protocol,
});

const isLiteral = (ref: string) => /^\d+\.\d+\.\d+\.\d+/.test(ref);
const sameTargets = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The cloud of a leaf tag `<namespace>.<cloud>.<name>` (names contain no dots). */
const leafCloud = (leaf: Tag) => leaf.name.split('.')[1];

export class RuleService {
  /** Changes to one resource's permit list run one at a time (API calls, tag fan-out, drift repair). */
  private readonly serial = new SerialQueue();

  constructor(
    private readonly store: Store,
    private readonly resources: ResourceService,
    private readonly tags: TagService,
    private readonly plugins: PluginManager,
    private readonly connectivity: ConnectivityService,
    private readonly events: EventBus,
  ) {}

  async get(key: ResourceKey): Promise<RuleRow[]> {
    await this.resources.require(key.namespace, key.cloud, key.resource);
    return this.store.rules.get(key);
  }

  /**
   * Adds rules, replacing any of the same name. Returns the applied rules with
   * resolved targets. `field` names the input in errors: "rules" (a list) or
   * "rule" (one rule).
   */
  apply(key: ResourceKey, inputs: RuleInput[], field: 'rules' | 'rule' = 'rules'): Promise<RuleRow[]> {
    return this.serial.run(subject(key), () => this.applyNow(key, inputs, field));
  }

  private async applyNow(key: ResourceKey, inputs: RuleInput[], field: 'rules' | 'rule'): Promise<RuleRow[]> {
    const resource = await this.resources.require(key.namespace, key.cloud, key.resource);
    const validated =
      field === 'rule' ? inputs.map((r) => validateRule(r, 'rule')) : validateRules(inputs, field);
    const rules = validated.map((r, i) => this.resolve(key, r, field === 'rule' ? 'rule' : `${field}[${i}]`));
    await this.connectRemotes(key, rules);
    const existing = await this.store.rules.get(key);
    const names = new Set(rules.map((r) => r.rule.name));
    const after = [...existing.filter((r) => !names.has(r.name)), ...rules.map((r) => r.rule)];
    const applied = rules.map((r) => r.rule);
    await this.store.transaction(async (tx) => {
      await tx.rules.put(key, applied, changedSubscriptions(existing, after));
      await this.events.publish('rules.applied', subject(key), { rules: applied.map(ruleView) }, tx);
    });
    const binding = this.plugins.get(key.namespace, key.cloud);
    try {
      await this.plugins.call(binding, 'could not apply the rules', (c) =>
        c.addPermitListRules({
          namespace: key.namespace,
          resource: resource.uri,
          rules: applied.map(toProto),
        }),
      );
    } catch (e) {
      // Keep the store equal to what the cloud has: put back what was there before.
      await this.store.transaction(async (tx) => {
        const previous = existing.filter((r) => names.has(r.name));
        const added = applied.filter((r) => !previous.some((p) => p.name === r.name)).map((r) => r.name);
        await tx.rules.delete(key, added, subscribedTags(existing));
        if (previous.length > 0) await tx.rules.put(key, previous, subscribedTags(existing));
      });
      throw e;
    }
    return applied;
  }

  delete(key: ResourceKey, names: string[]): Promise<void> {
    return this.serial.run(subject(key), () => this.deleteNow(key, names));
  }

  private async deleteNow(key: ResourceKey, names: string[]): Promise<void> {
    const resource = await this.resources.require(key.namespace, key.cloud, key.resource);
    const existing = await this.store.rules.get(key);
    const remaining = existing.filter((r) => !names.includes(r.name));
    const binding = this.plugins.get(key.namespace, key.cloud);
    await this.plugins.call(binding, 'could not delete the rules', (c) =>
      c.deletePermitListRules({ namespace: key.namespace, resource: resource.uri, ruleNames: names }),
    );
    await this.store.transaction(async (tx) => {
      await tx.rules.delete(key, names, subscribedTags(remaining));
      await this.events.publish('rules.deleted', subject(key), { rule_names: names }, tx);
    });
  }

  /** Re-resolves the rules of every subscriber of `changedTags` and re-applies those whose targets changed. */
  async reapplySubscribers(changedTags: string[]): Promise<number> {
    const subscribers = await this.store.rules.subscribersOf(changedTags);
    let changed = 0;
    // A few in parallel: plugin calls may be remote; the store serializes its own writes.
    await forEachConcurrently(subscribers, 8, async (key) => {
      if (await this.serial.run(subject(key), () => this.reapply(key))) changed++;
    });
    return changed;
  }

  private async reapply(key: ResourceKey): Promise<boolean> {
    const resource = await this.store.resources.get(key.namespace, key.cloud, key.resource);
    if (!resource) return false;
    const rules = await this.store.rules.get(key);
    const updated: RuleRow[] = [];
    for (const rule of rules) {
      const { rule: next } = this.resolve(key, rule, 'rules', true);
      if (!sameTargets(next.targets, rule.targets)) updated.push(next);
    }
    if (updated.length === 0) return false;
    await this.connectRemotes(
      key,
      updated.map((rule) => this.resolve(key, rule, 'rules', true)),
    );
    await this.store.transaction(async (tx) => {
      await tx.rules.put(key, updated, undefined);
      await this.events.publish(
        'rules.applied',
        subject(key),
        { rules: updated.map(ruleView), reason: 'tag changed' },
        tx,
      );
    });
    const binding = this.plugins.get(key.namespace, key.cloud);
    await this.plugins.call(binding, 'could not re-apply the rules', (c) =>
      c.addPermitListRules({ namespace: key.namespace, resource: resource.uri, rules: updated.map(toProto) }),
    );
    return true;
  }

  /**
   * Compares the rules the cloud enforces on a resource with the desired ones
   * and, with `repair`, makes the cloud match them. Returns what differed.
   */
  reconcile(key: ResourceKey, uri: string, repair: boolean): Promise<PermitListDrift> {
    return this.serial.run(subject(key), async () => {
      const desired = await this.store.rules.get(key);
      const binding = this.plugins.get(key.namespace, key.cloud);
      const target = { namespace: key.namespace, resource: uri };
      const live = await this.plugins.call(binding, 'could not read the permit list', (c) =>
        c.getPermitList(target),
      );
      const drift: PermitListDrift = diffPermitList(desired, live.rules.map(fromProto));
      if (live.unfiltered) drift.unfiltered = true;
      if (live.deviations.length > 0) drift.deviations = live.deviations;
      if (!repair || !hasDrift(drift)) return drift;
      // Unfiltered or deviating: applying the whole list (even no rules) puts the default deny back
      // and undoes what no rule accounts for.
      const reapply = live.unfiltered || live.deviations.length > 0;
      const fix = reapply
        ? desired
        : desired.filter((r) => drift.missing.includes(r.name) || drift.changed.includes(r.name));
      if (fix.length > 0 || reapply)
        await this.plugins.call(binding, 'could not repair the permit list', (c) =>
          c.addPermitListRules({ ...target, rules: fix.map(toProto) }),
        );
      if (drift.extra.length > 0)
        await this.plugins.call(binding, 'could not remove rules it should not have', (c) =>
          c.deletePermitListRules({ ...target, ruleNames: drift.extra }),
        );
      return drift;
    });
  }

  /** Resolves a rule's tags to targets. With `lenient`, a tag that no longer exists resolves to nothing. */
  private resolve(key: ResourceKey, rule: Rule | RuleRow, field: string, lenient = false) {
    const targets = new Set<string>();
    const remoteClouds = new Set<string>();
    rule.tags.forEach((tag, i) => {
      let resolution: ReturnType<TagService['resolve']>;
      try {
        resolution = this.tags.resolve(tag, key.namespace);
      } catch (e) {
        if (lenient) return;
        if (e instanceof Error && 'field' in e) Object.assign(e, { field: `${field}.tags[${i}]` });
        throw e;
      }
      for (const c of resolution.cidrs) targets.add(c);
      for (const leaf of resolution.leaves) {
        const cloud = leafCloud(leaf);
        if (leaf.name.startsWith(`${key.namespace}.`) && cloud && cloud !== key.cloud)
          remoteClouds.add(cloud);
      }
    });
    const sorted = [...targets].sort();
    return { rule: { ...rule, targets: sorted } as RuleRow, remoteClouds };
  }

  private async connectRemotes(
    key: ResourceKey,
    resolved: Array<{ remoteClouds: Set<string> }>,
  ): Promise<void> {
    const clouds = new Set(resolved.flatMap((r) => [...r.remoteClouds]));
    for (const cloud of clouds) await this.connectivity.ensureConnected(key.namespace, key.cloud, cloud);
  }
}

const subject = (key: ResourceKey) => `${key.namespace}/${key.cloud}/${key.resource}`;

/** The new subscriptions when `after` references other tags than `before`, else undefined. */
function changedSubscriptions(before: Array<{ tags: string[] }>, after: Array<{ tags: string[] }>) {
  const old = subscribedTags(before);
  const next = subscribedTags(after);
  return old.length === next.length && next.every((t) => old.includes(t)) ? undefined : next;
}

/** The tag names (not literals) that a resource's rules reference. */
const subscribedTags = (rules: Array<{ tags: string[] }>) => [
  ...new Set(rules.flatMap((r) => r.tags.filter((t) => !isLiteral(t)))),
];
