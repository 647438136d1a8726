// The controller's credential service, error catalog and logger as the
// tunnel package takes them: tokens verified by the one TokenService,
// certificate identities read as the CA writes them, and the one revocation
// list.
import {
  type StatusOf,
  startTunnelEndpoint,
  type TunnelCredentials,
  type TunnelEndpoint,
  type TunnelEndpointOptions,
} from '@skyway/tunnel';
import type { Revocations } from '../auth/revocations.js';
import type { TokenService } from '../auth/tokens.js';
import type { CertificateAuthority } from '../ca/ca.js';
import { identityFromAltNames } from '../ca/identity.js';
import { statusOfKind } from '../http/errors.js';

export function tunnelCredentials(tokens: TokenService, revocations: Revocations): TunnelCredentials {
  return {
    verifyToken: (token) => tokens.verify(token),
    identify: identityFromAltNames,
    isRevoked: (id) => revocations.isRevokedSync(id),
    revoke: (id) => revocations.revoke(id),
    onRevoked: (listener) => revocations.onRevoked(listener),
  };
}

export const tunnelStatusOf: StatusOf = (e) => statusOfKind[e.kind];

/** Starts the tunnel's listeners with the controller's CA, credential service, error catalog and logger. */
export function startAgentTunnel(
  opts: Omit<TunnelEndpointOptions, 'ca' | 'credentials' | 'statusOf'> & {
    ca: CertificateAuthority;
    tokens: TokenService;
    revocations: Revocations;
  },
): Promise<TunnelEndpoint> {
  const { tokens, revocations, ...rest } = opts;
  return startTunnelEndpoint({
    ...rest,
    credentials: tunnelCredentials(tokens, revocations),
    statusOf: tunnelStatusOf,
  });
}
