// The SCC object kinds the API serves: where they hang, what their spec holds
// and which fields are secrets (sealed at rest, never answered).
import type { ObjectKind } from './store.js';

export interface KindInfo {
  kind: ObjectKind;
  /** SCC's collection name in paths. */
  collection: string;
  /** What an error calls one. */
  label: string;
  /** Spec fields sealed at rest and left out of every answer. */
  secrets: string[];
  put: boolean;
}

export const kinds = {
  overlay: { kind: 'overlay', collection: 'overlays', label: 'overlay', secrets: [], put: true },
  proposal: { kind: 'proposal', collection: 'proposals', label: 'proposal', secrets: [], put: true },
  hub: { kind: 'hub', collection: 'hubs', label: 'hub', secrets: ['kubeConfig'], put: true },
  iprange: { kind: 'iprange', collection: 'ipranges', label: 'ip range', secrets: [], put: false },
  device: { kind: 'device', collection: 'devices', label: 'device', secrets: ['kubeConfig'], put: true },
  certificate: {
    kind: 'certificate',
    collection: 'certificates',
    label: 'certificate',
    secrets: [],
    put: false,
  },
  'provider-iprange': {
    kind: 'provider-iprange',
    collection: 'ipranges',
    label: 'provider ip range',
    secrets: [],
    put: false,
  },
} as const satisfies Record<string, KindInfo>;

export type SccKind = keyof typeof kinds;
