// The CloudPlugin contract in TypeScript: what a plugin implements and what a
// caller holds. Both are derived from the proto so they cannot drift.
import type { Client, ServiceImpl } from '@connectrpc/connect';
import type { Controller } from '@skyway/proto/controller';
import type { CloudPlugin } from '@skyway/proto/plugin';

/** A plugin implementation: one async method per CloudPlugin RPC. */
export type CloudPluginImpl = ServiceImpl<typeof CloudPlugin>;
/** A handle on a plugin, in-process or remote: the same interface either way. */
export type PluginClient = Client<typeof CloudPlugin>;
/** The controller's callback API, as a plugin sees it. */
export type ControllerClient = Client<typeof Controller>;
export type ControllerImpl = ServiceImpl<typeof Controller>;
