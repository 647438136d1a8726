// The requests of Paraglider v0.1.0's pkg/client/client.go, as glide's
// commands (internal/cli/glide) call it: paths from orchestrator.go's URL
// constants filled with Sprintf (no escaping), bodies from json.Marshal of
// the protobuf structs (omitempty on every field, struct field order).
import { CloudDeployment, type GoType, goJson, PermitListRule, TagMapping } from './go-wire.js';

export interface GoCall {
  method: string;
  path: string;
  body?: string;
  /** The Go type the client unmarshals the answer into; none when it ignores the body. */
  decode?: GoType;
}

export interface GoRule {
  name?: string;
  direction?: number;
  src_port?: number;
  dst_port?: number;
  protocol?: number;
  tags?: string[];
}

/** A PermitListRule as json.Marshal writes it: field order name, targets, direction, ports, protocol, tags; zeros left out. */
export function marshalRule(r: GoRule): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (r.name) o.name = r.name;
  if (r.direction) o.direction = r.direction;
  if (r.src_port) o.src_port = r.src_port;
  if (r.dst_port) o.dst_port = r.dst_port;
  if (r.protocol) o.protocol = r.protocol;
  if (r.tags && r.tags.length > 0) o.tags = r.tags;
  return o;
}

/** add.go's getSafeRuleName. */
const safe = (tag: string) => tag.replaceAll('/', '-').replaceAll('.', '-');

/** `glide rule add ... --ping <tag>` (add.go). */
export const pingRules = (tag: string): GoRule[] => [
  { name: `ping-in-${safe(tag)}`, tags: [tag], protocol: 1, direction: 0, dst_port: -1, src_port: -1 },
  { name: `ping-out-${safe(tag)}`, tags: [tag], protocol: 1, direction: 1, dst_port: -1, src_port: -1 },
];
/** `glide rule add ... --ssh <tag>` (add.go). */
export const sshRules = (tag: string): GoRule[] => [
  { name: `ssh-in-${safe(tag)}`, tags: [tag], protocol: 6, direction: 0, dst_port: 22, src_port: -1 },
  { name: `ssh-out-${safe(tag)}`, tags: [tag], protocol: 6, direction: 1, dst_port: -1, src_port: 22 },
];

const resourcePath = (ns: string, cloud: string, name: string) =>
  `/namespaces/${ns}/clouds/${cloud}/resources/${name}`;
const rulesBody = (rules: GoRule[]) => goJson(rules.map(marshalRule));

export const client = {
  /** ListNamespaces: `glide namespace list`, and `glide namespace set`'s Validate. */
  listNamespaces: (): GoCall => ({
    method: 'GET',
    path: '/namespaces',
    decode: { map: { slice: CloudDeployment } },
  }),
  /** CreateResource: `glide resource create <cloud> <name> <file>` sends the file's text as the description. */
  createResource: (ns: string, cloud: string, name: string, fileText: string): GoCall => ({
    method: 'PUT',
    path: resourcePath(ns, cloud, name),
    body: goJson({ description: fileText }),
    decode: { map: 'string' },
  }),
  /** AttachResource: `glide resource attach <cloud> <id>`. */
  attachResource: (ns: string, cloud: string, id: string): GoCall => ({
    method: 'POST',
    path: `/namespaces/${ns}/clouds/${cloud}/resources`,
    body: goJson({ id }),
    decode: { map: 'string' },
  }),
  /** AddPermitListRules: `glide rule add <cloud> <name> --ping/--ssh/--rulefile`. */
  addPermitListRules: (ns: string, cloud: string, name: string, rules: GoRule[]): GoCall => ({
    method: 'POST',
    path: `${resourcePath(ns, cloud, name)}/applyRules`,
    body: rulesBody(rules),
  }),
  /** AddPermitListRulesTag: `glide rule add <tag> --ping/--ssh/--rulefile`. */
  addPermitListRulesTag: (tag: string, rules: GoRule[]): GoCall => ({
    method: 'POST',
    path: `/tags/${tag}/rules`,
    body: rulesBody(rules),
  }),
  /** DeletePermitListRulesTag (client.go; no glide command). */
  deletePermitListRulesTag: (tag: string, names: string[]): GoCall => ({
    method: 'DELETE',
    path: `/tags/${tag}/rules`,
    body: goJson(names),
  }),
  /** GetPermitList: `glide rule get <cloud> <name>`. */
  getPermitList: (ns: string, cloud: string, name: string): GoCall => ({
    method: 'GET',
    path: `${resourcePath(ns, cloud, name)}/rules`,
    decode: { slice: { ptr: PermitListRule } },
  }),
  /** DeletePermitListRules: `glide rule delete <cloud> <name> --rules a,b`. */
  deletePermitListRules: (ns: string, cloud: string, name: string, names: string[]): GoCall => ({
    method: 'POST',
    path: `${resourcePath(ns, cloud, name)}/deleteRules`,
    body: goJson(names),
  }),
  /** SetTag: `glide tag set <tag> --children a,b | --uri u | --ip i`. */
  setTag: (tag: string, m: { children?: string[]; uri?: string; ip?: string }): GoCall => {
    const body: Record<string, unknown> = { name: tag };
    if (m.children && m.children.length > 0) body.child_tags = m.children;
    if (m.uri) body.uri = m.uri;
    if (m.ip) body.ip = m.ip;
    return { method: 'POST', path: `/tags/${tag}/applyMembers`, body: goJson(body) };
  },
  /** GetTag: `glide tag get <tag>`. */
  getTag: (tag: string): GoCall => ({ method: 'GET', path: `/tags/${tag}`, decode: { ptr: TagMapping } }),
  /** ResolveTag: `glide tag get <tag> --resolve` (a POST with a nil body). */
  resolveTag: (tag: string): GoCall => ({
    method: 'POST',
    path: `/tags/${tag}/resolveMembers`,
    decode: { slice: { ptr: TagMapping } },
  }),
  /** ListTags: `glide tag list`. */
  listTags: (): GoCall => ({ method: 'GET', path: '/tags', decode: { slice: { ptr: TagMapping } } }),
  /** DeleteTag: `glide tag delete <tag>`. */
  deleteTag: (tag: string): GoCall => ({ method: 'DELETE', path: `/tags/${tag}` }),
  /** DeleteTagMembers: `glide tag delete <tag> --member <m>`. */
  deleteTagMember: (tag: string, member: string): GoCall => ({
    method: 'DELETE',
    path: `/tags/${tag}/members/${member}`,
  }),
};

/** REST calls of Paraglider's API documentation that client.go does not make. */
export const rest = {
  /** PUT .../rules/{ruleName}: the name only in the path. */
  putRule: (ns: string, cloud: string, name: string, rule: string, r: GoRule): GoCall => ({
    method: 'PUT',
    path: `${resourcePath(ns, cloud, name)}/rules/${rule}`,
    body: goJson(marshalRule(r)),
  }),
  /** POST .../rules with a body as a REST client would send it (text as given). */
  postRule: (ns: string, cloud: string, name: string, text: string): GoCall => ({
    method: 'POST',
    path: `${resourcePath(ns, cloud, name)}/rules`,
    body: text,
  }),
  /** DELETE .../rules/{ruleName}. */
  deleteRule: (ns: string, cloud: string, name: string, rule: string): GoCall => ({
    method: 'DELETE',
    path: `${resourcePath(ns, cloud, name)}/rules/${rule}`,
  }),
};

/** Paraglider's documented rule example (docs/source/overview/api.rst), verbatim, `id` included. */
export const DOCUMENTED_RULE_EXAMPLE = `{
    "name": "rulename",
    "id": "id",
    "tags": ["tagname"],
    "direction": 0,
    "src_port": 1,
    "dst_port": 2,
    "protocol": 3
}`;
