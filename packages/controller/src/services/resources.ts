// Resources: created through the cloud's plugin, recorded in the store with
// their leaf tag `<namespace>.<cloud>.<name>`, and deleted with their rules,
// tags and subscriptions.
import { alreadyExists, invalidArgument, leafTagName, notFound } from '@skyway/core';
import { findNetworkingKey } from '@skyway/plugin-sdk';
import type { ResourceRow, Store } from '../store/store.js';
import type { EventBus } from './events.js';
import type { PluginManager } from './plugins.js';
import type { TagService } from './tags.js';

const RESOURCE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function validateResourceName(name: string, field = 'name'): void {
  if (typeof name !== 'string' || !RESOURCE_NAME.test(name)) {
    throw invalidArgument(
      `${field} must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit; got "${name}"`,
      field,
    );
  }
}

/** Parses a resource description (JSON text or object) and refuses networking details. */
export function parseDescription(description: unknown): Uint8Array {
  let value: unknown = description;
  if (typeof description === 'string') {
    try {
      value = JSON.parse(description);
    } catch {
      throw invalidArgument(
        'description must be a JSON object (cloud-native resource description)',
        'description',
      );
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgument(
      'description must be a JSON object (cloud-native resource description)',
      'description',
    );
  }
  const hit = findNetworkingKey(value);
  if (hit) {
    throw invalidArgument(
      `description must not name networking details ("${hit.key}"); Skyway places the resource in its own network`,
      `description.${hit.path}`,
      'NETWORKING_NOT_ALLOWED',
    );
  }
  return new TextEncoder().encode(JSON.stringify(value));
}

/** A resource as the API returns it. */
export const resourceView = (r: ResourceRow) => ({
  namespace: r.namespace,
  cloud: r.cloud,
  name: r.name,
  uri: r.uri,
  ip: r.ip,
  created_at: r.createdAt,
});

export class ResourceService {
  /** Resources being created or deleted right now: cloud and store may differ for a moment. */
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly plugins: PluginManager,
    private readonly tags: TagService,
    private readonly events: EventBus,
  ) {}

  /** True while the resource is being created or deleted. */
  changing(namespace: string, cloud: string, name: string): boolean {
    return this.inFlight.has(leafTagName(namespace, cloud, name));
  }

  private async whileChanging<T>(namespace: string, cloud: string, name: string, fn: () => Promise<T>) {
    const key = leafTagName(namespace, cloud, name);
    this.inFlight.add(key);
    try {
      return await fn();
    } finally {
      this.inFlight.delete(key);
    }
  }

  async create(
    namespace: string,
    cloud: string,
    name: string,
    description: unknown,
  ): Promise<ResourceRow & { tag: string }> {
    validateResourceName(name);
    return this.whileChanging(namespace, cloud, name, () =>
      this.createNow(namespace, cloud, name, description),
    );
  }

  private async createNow(
    namespace: string,
    cloud: string,
    name: string,
    description: unknown,
  ): Promise<ResourceRow & { tag: string }> {
    const binding = this.plugins.get(namespace, cloud);
    const body = parseDescription(description);
    if (await this.store.resources.get(namespace, cloud, name)) {
      throw alreadyExists(`resource "${name}" already exists in ${namespace}/${cloud}`);
    }
    const created = await this.plugins.call(binding, 'could not create the resource', (c) =>
      c.createResource({ deployment: { id: binding.deployment, namespace }, name, description: body }),
    );
    const tag = leafTagName(namespace, cloud, name);
    await this.store.transaction(async (tx) => {
      await tx.resources.insert({ namespace, cloud, name, uri: created.uri, ip: created.ip });
      await this.tags.putLeaf(tx, { name: tag, uri: created.uri, ip: created.ip, members: [] });
      await this.events.publish('resource.created', tag, { uri: created.uri, ip: created.ip }, tx);
    });
    const row = await this.require(namespace, cloud, name);
    return { ...row, tag };
  }

  /**
   * Brings a resource that already exists in the cloud under the controller
   * (the plugin's AttachResource): recorded with its leaf tag like a created one.
   * Attaching the same resource again answers the same.
   */
  async attach(namespace: string, cloud: string, id: string): Promise<ResourceRow & { tag: string }> {
    if (typeof id !== 'string' || !id)
      throw invalidArgument("id (the cloud's id of the resource) is required", 'id');
    const binding = this.plugins.get(namespace, cloud);
    const found = await this.plugins.call(binding, 'could not attach the resource', (c) =>
      c.attachResource({ namespace, resource: id, deployment: { id: binding.deployment, namespace } }),
    );
    validateResourceName(found.name, 'name');
    const tag = leafTagName(namespace, cloud, found.name);
    return this.whileChanging(namespace, cloud, found.name, async () => {
      const existing = await this.store.resources.get(namespace, cloud, found.name);
      if (existing && existing.uri !== found.uri) {
        throw alreadyExists(
          `resource "${found.name}" already exists in ${namespace}/${cloud} (${existing.uri})`,
        );
      }
      if (!existing) {
        await this.store.transaction(async (tx) => {
          await tx.resources.insert({ namespace, cloud, name: found.name, uri: found.uri, ip: found.ip });
          await this.tags.putLeaf(tx, { name: tag, uri: found.uri, ip: found.ip, members: [] });
          await this.events.publish(
            'resource.created',
            tag,
            { uri: found.uri, ip: found.ip, attached: true },
            tx,
          );
        });
      }
      return { ...(await this.require(namespace, cloud, found.name)), tag };
    });
  }

  async require(namespace: string, cloud: string, name: string): Promise<ResourceRow> {
    this.plugins.get(namespace, cloud);
    const row = await this.store.resources.get(namespace, cloud, name);
    if (!row) throw notFound(`resource "${name}" does not exist in ${namespace}/${cloud}`);
    return row;
  }

  list(filter: { namespace?: string; cloud?: string } = {}): Promise<ResourceRow[]> {
    return this.store.resources.list(filter);
  }

  delete(namespace: string, cloud: string, name: string): Promise<void> {
    return this.whileChanging(namespace, cloud, name, () => this.deleteNow(namespace, cloud, name));
  }

  private async deleteNow(namespace: string, cloud: string, name: string): Promise<void> {
    const row = await this.require(namespace, cloud, name);
    const binding = this.plugins.get(namespace, cloud);
    await this.plugins.call(binding, 'could not delete the resource', (c) =>
      c.deleteResource({ deployment: { id: binding.deployment, namespace }, resource: row.uri }),
    );
    const tag = leafTagName(namespace, cloud, name);
    await this.store.transaction(async (tx) => {
      await tx.resources.delete(namespace, cloud, name);
      await this.events.publish('resource.deleted', tag, { uri: row.uri }, tx);
    });
    // Removing the leaf tag takes it out of every parent and re-applies their subscribers.
    if (this.tags.lookup(tag)) await this.tags.delete(tag);
  }
}
