// What the routes need from the controller: its services, nothing else.
import type { PluginRegistry } from '@skyway/plugin-sdk';
import type { AccessService } from '../services/access.js';
import type { ConnectivityService } from '../services/connectivity.js';
import type { EventBus } from '../services/events.js';
import type { PluginManager } from '../services/plugins.js';
import type { Poller } from '../services/poller.js';
import type { ResourceService } from '../services/resources.js';
import type { RuleService } from '../services/rules.js';
import type { TagService } from '../services/tags.js';

export interface Services {
  resources: ResourceService;
  rules: RuleService;
  tags: TagService;
  connectivity: ConnectivityService;
  events: EventBus;
  access: AccessService;
  plugins: PluginManager;
  poller: Poller;
  /** Every plugin descriptor known (config and built-in), all versions: searchable. */
  registry: PluginRegistry;
}
