// SCC's JSON shapes: objects as the API answers them, never with secrets.
import type { ObjectRow } from './store.js';

export interface SccObject {
  metadata: ObjectRow['metadata'];
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, unknown>;
}

/** Device status with SCC's own keys (its Go struct has no JSON tags): Mode, Ip, DataIps, Data, DelegatedHub. */
export interface DeviceStatus {
  Mode: 1 | 2;
  Ip: string;
  DataIps: Record<string, string>;
  Data: Record<string, string>;
  DelegatedHub: string;
}

export function objectView(row: ObjectRow): SccObject {
  const out: SccObject = { metadata: row.metadata, spec: row.spec };
  if (row.kind === 'device') out.status = row.status.view as Record<string, unknown>;
  if (row.kind === 'overlay') out.spec = {};
  return out;
}
