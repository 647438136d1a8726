// Table types for kysely. JSON columns are stored as text so the same code
// runs on SQLite and PostgreSQL; values the code queries are columns.
import type { Generated } from 'kysely';

export interface Database {
  resources: {
    namespace: string;
    cloud: string;
    name: string;
    uri: string;
    ip: string;
    /** ready, creating (intent recorded, cloud call not yet confirmed) or deleting. */
    state: Generated<string>;
    created_at: string;
  };
  tags: {
    name: string;
    uri: string | null;
    ip: string | null;
    /** JSON array of member tag names or IP/CIDR literals. */
    members: string;
    updated_at: string;
    /** The owning namespace; null = a global tag (0002). */
    namespace?: string | null;
    /** JSON array of the namespaces the owner shares the tag with, or null (0002). */
    shared_with?: string | null;
  };
  /** Reverse index of tag membership (member -> parent), for fan-out. */
  tag_edges: { parent: string; member: string };
  rules: {
    namespace: string;
    cloud: string;
    resource: string;
    name: string;
    direction: string;
    src_port: number;
    dst_port: number;
    protocol: number;
    tags: string;
    targets: string;
    updated_at: string;
  };
  /** Which resource's rules reference which tag (re-resolved when the tag changes). */
  subscriptions: { tag: string; namespace: string; cloud: string; resource: string };
  connections: {
    namespace: string;
    cloud_a: string;
    cloud_b: string;
    /** JSON: asns, peering ips, gateway ips per side. */
    detail: string;
    /** Encrypted shared key. */
    shared_key: string;
    status: string;
    created_at: string;
  };
  events: {
    id: Generated<number>;
    time: string;
    type: string;
    subject: string;
    data: string;
  };
  tokens: {
    id: string;
    subject: string;
    scope: string;
    issued_at: string;
    expires_at: string;
    revoked_at: string | null;
  };
  kv: { cloud: string; namespace: string; key: string; value: string };
  /** Address spaces, ASNs and peering IPs handed out, so two callers never get the same. */
  allocations: { kind: string; value: string; owner: string; created_at: string };
  /** The durable work queue (outbox): written in the same transaction as the desired state. */
  operations: {
    id: string;
    kind: string;
    /** Operations of one subject run one at a time, in id order. */
    subject: string;
    namespace: string;
    state: string;
    /** The operation that enqueued this one (a tag fan-out's children). */
    parent: string | null;
    /** JSON: what to do. */
    input: string;
    /** JSON: [{name, state, detail}]. */
    steps: string;
    /** JSON, once succeeded. */
    result: string | null;
    attempts: number;
    last_error: string | null;
    error_code: string | null;
    /** Not run before this time (retry backoff). */
    not_before: string;
    created_at: string;
    updated_at: string;
    started_at: string | null;
    finished_at: string | null;
  };
}
