// What the controller sends an agent for one site (hub or device) of one
// overlay, and what the agent answers. The same shapes as the controller's
// overlay/service.ts; the agent imports nothing of the controller.
import type { SiteConfig } from '@skyway/core';

export interface SiteDocument {
  overlay: string;
  /** `Hub.<name>` or `Device.<name>`. */
  site: string;
  version: number;
  /** The site left the overlay: remove everything it had. */
  removed?: boolean;
  config: SiteConfig;
  certificate?: { certPem: string; keyPem: string; notAfter: string };
  /** Trusted CAs: the overlay's (two during a rotation) and the controller's root. */
  caPems: string[];
}

export interface TunnelReport {
  connection: string;
  state: 'established' | 'connecting' | 'failed';
  message?: string;
  bytesIn?: number;
  bytesOut?: number;
  packetsIn?: number;
  packetsOut?: number;
}

export interface SiteReport {
  overlay: string;
  site: string;
  appliedVersion: number;
  tunnels: Record<string, TunnelReport>;
}

export type OverlayRequest =
  | { op: 'apply'; doc: SiteDocument }
  | { op: 'status'; overlay: string; site: string };

export const docKey = (d: { overlay: string; site: string }) => `${d.overlay}/${d.site}`;
