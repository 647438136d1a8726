// Times every call a plugin client makes (in-process or gRPC: the same
// interface) and counts it by cloud, method and result code.
import type { PluginClient } from '@skyway/plugin-sdk';
import { fromConnectError } from '@skyway/plugin-sdk';
import type { ControllerMetrics } from './controller-metrics.js';

export function instrumentPluginClient(
  metrics: ControllerMetrics,
  cloud: string,
  client: PluginClient,
): PluginClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return async (...args: unknown[]) => {
        const end = metrics.pluginDuration.startTimer({ cloud, method: prop });
        let code = 'OK';
        try {
          return await value.apply(target, args);
        } catch (e) {
          code = fromConnectError(e).code;
          throw e;
        } finally {
          end();
          metrics.pluginCalls.inc({ cloud, method: prop, code });
        }
      };
    },
  });
}
