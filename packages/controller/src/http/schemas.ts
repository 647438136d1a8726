// Request schemas shared by the REST routes. Unknown fields are refused;
// ranges and names are checked by the domain (core) so messages name fields.
import { Type } from '@fastify/type-provider-typebox';

const closed = { additionalProperties: false } as const;

export const RuleBody = Type.Object(
  {
    name: Type.String(),
    targets: Type.Optional(Type.Array(Type.String())),
    direction: Type.Union([Type.Integer(), Type.String()]),
    src_port: Type.Optional(Type.Integer()),
    dst_port: Type.Optional(Type.Integer()),
    protocol: Type.Integer(),
    tags: Type.Array(Type.String()),
  },
  closed,
);
export const RuleList = Type.Array(RuleBody);
export const NameList = Type.Array(Type.String());

export const ResourceBody = Type.Object(
  {
    name: Type.Optional(Type.String()),
    description: Type.Union([Type.String(), Type.Record(Type.String(), Type.Unknown())]),
  },
  closed,
);

/** A namespace name (RFC 1123 label); core's validateNamespaceName says the same. */
export const namespaceName = (description = 'a namespace name: lowercase letters, digits and "-"') =>
  Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', description });

export const TagMembersBody = Type.Object(
  {
    tag_name: Type.Optional(Type.String()),
    child_tags: Type.Array(Type.String()),
    namespace: Type.Optional(
      namespaceName("The namespace a new tag belongs to (default: the token's only namespace; none: global)"),
    ),
    shared_with: Type.Optional(
      Type.Array(namespaceName(), {
        maxItems: 100,
        description: "Namespaces whose rules and tags may name this tag (replaces the tag's list)",
      }),
    ),
  },
  closed,
);

export const TokenBody = Type.Object(
  {
    subject: Type.String({ minLength: 1, maxLength: 200 }),
    role: Type.String(),
    namespaces: Type.Array(Type.String(), { minItems: 1 }),
    ttl: Type.Optional(Type.String()),
  },
  closed,
);

export const ResourceParams = Type.Object({
  namespace: Type.String(),
  cloud: Type.String(),
  resourceName: Type.String(),
});
export const RuleParams = Type.Object({
  namespace: Type.String(),
  cloud: Type.String(),
  resourceName: Type.String(),
  ruleName: Type.String(),
});
export const CloudParams = Type.Object({ namespace: Type.String(), cloud: Type.String() });

export const RegistryQuery = Type.Object(
  {
    q: Type.Optional(
      Type.String({ description: 'words that must all match a name, tag, category, summary or description' }),
    ),
    category: Type.Optional(Type.String()),
    tag: Type.Optional(Type.String()),
  },
  closed,
);
export const PluginParams = Type.Object({ name: Type.String() });
export const VersionQuery = Type.Object({ version: Type.Optional(Type.String()) }, closed);
export const TagParams = Type.Object({ tag: Type.String() });
