// Which plugin serves which cloud. Plugins are PluginClients (in-process or
// gRPC, the same interface); every call goes through `call` so a plugin's
// error becomes a domain error naming the cloud.

import { notFound, SkywayError } from '@skyway/core';
import type { PluginClient, PluginDescriptor } from '@skyway/plugin-sdk';
import { fromConnectError } from '@skyway/plugin-sdk';

export interface CloudBinding {
  namespace: string;
  cloud: string;
  /** Deployment id passed to the plugin (ParagliderDeployment.id). */
  deployment: string;
  plugin: string;
  client: PluginClient;
  descriptor?: PluginDescriptor;
}

export class PluginManager {
  private readonly bindings = new Map<string, CloudBinding>();

  /** Wraps each client as it is added (the controller's metrics time every call). */
  wrapClient?: (cloud: string, client: PluginClient) => PluginClient;

  add(binding: CloudBinding): void {
    if (this.wrapClient) binding = { ...binding, client: this.wrapClient(binding.cloud, binding.client) };
    this.bindings.set(`${binding.namespace}\0${binding.cloud}`, binding);
  }

  namespaces(): string[] {
    return [...new Set([...this.bindings.values()].map((b) => b.namespace))].sort();
  }

  all(): CloudBinding[] {
    return [...this.bindings.values()];
  }

  cloudsOf(namespace: string): CloudBinding[] {
    return this.all().filter((b) => b.namespace === namespace);
  }

  hasNamespace(namespace: string): boolean {
    return this.all().some((b) => b.namespace === namespace);
  }

  get(namespace: string, cloud: string): CloudBinding {
    const b = this.bindings.get(`${namespace}\0${cloud}`);
    if (b) return b;
    if (!this.hasNamespace(namespace))
      throw notFound(`namespace "${namespace}" is not configured`, 'UNKNOWN_NAMESPACE');
    const known = this.cloudsOf(namespace).map((c) => c.cloud);
    throw notFound(
      `cloud "${cloud}" is not configured in namespace "${namespace}" (known: ${known.join(', ')})`,
      'UNKNOWN_CLOUD',
    );
  }

  /** Calls a plugin, turning its failure into a domain error that names the cloud. */
  async call<T>(binding: CloudBinding, what: string, fn: (client: PluginClient) => Promise<T>): Promise<T> {
    try {
      return await fn(binding.client);
    } catch (e) {
      const err = e instanceof SkywayError ? e : fromConnectError(e);
      throw new SkywayError(err.code, `cloud "${binding.cloud}" ${what}: ${err.message}`, err.field);
    }
  }
}
