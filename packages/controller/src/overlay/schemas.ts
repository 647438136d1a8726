// TypeBox schemas of SCC's request bodies (scc_apis.yaml's components), with
// its field names. Unknown fields are refused so a typo is a 422 naming it;
// `gitOpsParam` (SCC's GitOps registration, which Skyway does not use) is
// accepted so ewoctl's files load as they are.
import { type TSchema, Type } from '@fastify/type-provider-typebox';

const closed = { additionalProperties: false } as const;
const text = (maxLength: number) => Type.Optional(Type.Union([Type.String({ maxLength }), Type.Null()]));

export const Metadata = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 253 })),
    description: text(1024),
    userData1: text(512),
    userData2: text(512),
  },
  closed,
);

const GitOps = Type.Optional(Type.Record(Type.String(), Type.Unknown()));

export const specs = {
  overlay: Type.Object({}, closed),
  proposal: Type.Object({ encryption: Type.String(), hash: Type.String(), dhGroup: Type.String() }, closed),
  hub: Type.Object(
    {
      publicIps: Type.Array(Type.String()),
      certificateId: Type.Optional(Type.String()),
      kubeConfig: Type.Optional(Type.String()),
      gitOpsParam: GitOps,
    },
    closed,
  ),
  iprange: Type.Object(
    {
      subnet: Type.String({ maxLength: 128 }),
      minIp: Type.Optional(Type.Integer()),
      maxIp: Type.Optional(Type.Integer()),
    },
    closed,
  ),
  device: Type.Object(
    {
      publicIps: Type.Optional(Type.Array(Type.String())),
      forceHubConnectivity: Type.Optional(Type.Boolean()),
      proxyHub: Type.Optional(Type.String()),
      proxyHubPort: Type.Optional(Type.Integer()),
      useHub4Internet: Type.Optional(Type.Boolean()),
      dedicatedSFC: Type.Optional(Type.Boolean()),
      certificateId: Type.Optional(Type.String()),
      kubeConfig: Type.Optional(Type.String()),
      gitOpsParam: GitOps,
    },
    closed,
  ),
  certificate: Type.Object(
    { isCA: Type.Optional(Type.Boolean()), clusterType: Type.Optional(Type.String()) },
    closed,
  ),
} satisfies Record<string, TSchema>;

/** `{metadata, spec}`; the spec is required where SCC requires one. */
export const objectBody = (spec: TSchema, required: boolean) =>
  Type.Object({ metadata: Type.Optional(Metadata), spec: required ? spec : Type.Optional(spec) }, closed);

export const HubDeviceSpec = Type.Object(
  { device: Type.String(), isDelegateHub: Type.Optional(Type.Boolean()) },
  closed,
);

/** SCC's HubDevice is `{metadata, spec: {device, isDelegateHub}}`; the bare spec is taken too. */
export const HubDeviceBody = Type.Object(
  {
    metadata: Type.Optional(Metadata),
    spec: Type.Optional(HubDeviceSpec),
    device: Type.Optional(Type.String()),
    isDelegateHub: Type.Optional(Type.Boolean()),
  },
  closed,
);
