// The plugin descriptor: a small YAML file (after CloudLaunch's) that says what
// a plugin is, where its code lives and how Skyway runs it.
import { readFile } from 'node:fs/promises';
import { invalidArgument } from '@skyway/core';
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { parseDocument } from 'yaml';
import { isSemver } from './semver.js';

export const PLUGIN_NAME_PATTERN = '^[a-z][a-z0-9-]*$';
export const RUNTIMES = ['in-process', 'process', 'remote'] as const;
export type PluginRuntime = (typeof RUNTIMES)[number];

const Name = Type.String({ pattern: PLUGIN_NAME_PATTERN, maxLength: 63 });
const NonEmpty = Type.String({ minLength: 1 });

/** Where a component's code lives: an npm (or pip, ...) package and the exported component in it. */
export const ComponentRefSchema = Type.Object(
  { package: NonEmpty, component: NonEmpty },
  { additionalProperties: false },
);

/** The descriptor as written in YAML. Unknown fields are refused. */
export const DescriptorSchema = Type.Object(
  {
    name: Name,
    version: NonEmpty,
    summary: NonEmpty,
    maintainer: Type.Optional(Type.String()),
    categories: Type.Optional(Type.Array(NonEmpty)),
    tags: Type.Optional(Type.Array(NonEmpty)),
    default_config: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    description: Type.Optional(Type.String()),
    backend: ComponentRefSchema,
    frontend: Type.Optional(ComponentRefSchema),
    interfaces: Type.Optional(
      Type.Record(
        Name,
        Type.Object(
          { backend: Type.Optional(ComponentRefSchema), frontend: Type.Optional(ComponentRefSchema) },
          { additionalProperties: false },
        ),
        { additionalProperties: false },
      ),
    ),
    runtime: Type.Optional(Type.Enum([...RUNTIMES])),
    command: Type.Optional(Type.Array(NonEmpty, { minItems: 1 })),
    url: Type.Optional(Type.String({ pattern: '^(http|https)://[^\\s/]+(/\\S*)?$' })),
    capabilities: Type.Optional(Type.Array(Name)),
  },
  { additionalProperties: false },
);

export type DescriptorYaml = Static<typeof DescriptorSchema>;
export type ComponentRef = Static<typeof ComponentRefSchema>;

/** A validated descriptor with defaults applied. */
export interface PluginDescriptor {
  name: string;
  version: string;
  summary: string;
  maintainer: string;
  categories: string[];
  tags: string[];
  default_config: Record<string, unknown>;
  description: string;
  backend: ComponentRef;
  frontend?: ComponentRef;
  interfaces: Record<string, { backend?: ComponentRef; frontend?: ComponentRef }>;
  runtime: PluginRuntime;
  command?: string[];
  url?: string;
  capabilities: string[];
  /** Where it was read from (a file path or a label); not part of the YAML. */
  source: string;
}

type ValueError = { keyword: string; instancePath: string; params: Record<string, unknown>; message: string };

/** JSON pointer "/interfaces/launch/backend" or "/tags/0" as "interfaces.launch.backend" / "tags[0]". */
function fieldPath(pointer: string, child?: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function describeError(e: ValueError): { field: string; text: string } | undefined {
  const at = fieldPath(e.instancePath);
  switch (e.keyword) {
    case 'required': {
      const missing = (e.params.requiredProperties as string[] | undefined) ?? [];
      const field = fieldPath(e.instancePath, missing[0] ?? '?');
      return { field, text: missing.map((m) => `${fieldPath(e.instancePath, m)} is required`).join(', ') };
    }
    case 'additionalProperties': {
      const extra = (e.params.additionalProperties as string[] | undefined) ?? [];
      const field = fieldPath(e.instancePath, extra[0] ?? '?');
      return {
        field,
        text: extra.map((x) => `${fieldPath(e.instancePath, x)} is not a known field`).join(', '),
      };
    }
    case 'boolean': // the per-property twin of additionalProperties
      return undefined;
    case 'type':
      if (at === 'version') return { field: at, text: 'version must be a string (quote it: "1.0.0")' };
      return { field: at, text: `${at || 'the descriptor'} must be ${article(String(e.params.type))}` };
    case 'pattern':
      if (at === 'url') return { field: at, text: 'url must be an http:// or https:// URL' };
      return { field: at, text: `${at} must match ${String(e.params.pattern)}` };
    case 'minLength':
      return { field: at, text: `${at} must not be empty` };
    case 'maxLength':
      return { field: at, text: `${at} must be at most ${String(e.params.limit)} characters` };
    case 'minItems':
      return { field: at, text: `${at} must have at least ${String(e.params.limit)} item(s)` };
    case 'enum':
      return { field: at, text: `${at} must be one of ${RUNTIMES.join(', ')}` };
    case 'propertyNames':
      return { field: at, text: `${at} keys must match ${PLUGIN_NAME_PATTERN}` };
    default:
      return { field: at, text: `${at || 'the descriptor'} ${e.message}` };
  }
}

const article = (t: string) => (t === 'object' || t === 'array' || t === 'integer' ? `an ${t}` : `a ${t}`);

function fail(source: string, problems: { field: string; text: string }[]): never {
  const unique = [...new Map(problems.map((p) => [p.text, p])).values()];
  throw invalidArgument(
    `${source}: ${unique.map((p) => p.text).join('; ')}`,
    unique[0]!.field,
    'INVALID_DESCRIPTOR',
  );
}

/** Validates an already-parsed descriptor object (e.g. from JSON or a REST body). */
export function validateDescriptor(value: unknown, source = 'descriptor'): PluginDescriptor {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(source, [{ field: '', text: 'the descriptor must be a YAML mapping' }]);
  }
  const errors = [...Value.Errors(DescriptorSchema, value)] as ValueError[];
  const problems = errors.map(describeError).filter((p) => p !== undefined);
  // A union/enum failure inside interfaces' record keys reports "propertyNames"; keep messages stable.
  if (problems.length) fail(source, problems);
  const d = value as DescriptorYaml;
  const more: { field: string; text: string }[] = [];
  if (!isSemver(d.version))
    more.push({ field: 'version', text: `version "${d.version}" is not semver (e.g. 1.2.3)` });
  const runtime = d.runtime ?? 'process';
  if (runtime === 'process' && !d.command)
    more.push({ field: 'command', text: 'command is required when runtime is process' });
  if (runtime !== 'process' && d.command)
    more.push({ field: 'command', text: `command is only used with runtime: process, not ${runtime}` });
  if (runtime === 'remote' && !d.url)
    more.push({ field: 'url', text: 'url is required when runtime is remote' });
  if (runtime !== 'remote' && d.url)
    more.push({ field: 'url', text: `url is only used with runtime: remote, not ${runtime}` });
  if (more.length) fail(source, more);
  const out: PluginDescriptor = {
    name: d.name,
    version: d.version,
    summary: d.summary,
    maintainer: d.maintainer ?? '',
    categories: d.categories ?? [],
    tags: d.tags ?? [],
    default_config: d.default_config ?? {},
    description: d.description ?? '',
    backend: d.backend,
    interfaces: d.interfaces ?? {},
    runtime,
    capabilities: d.capabilities ?? [],
    source,
  };
  if (d.frontend) out.frontend = d.frontend;
  if (d.command) out.command = d.command;
  if (d.url) out.url = d.url;
  return structuredClone(out);
}

/** Parses and validates descriptor YAML; `source` (usually the file path) prefixes every error. */
export function parseDescriptor(yamlText: string, source = 'descriptor'): PluginDescriptor {
  const doc = parseDocument(yamlText, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw invalidArgument(`${source}: not valid YAML: ${e.message.split('\n')[0]}`, '', 'INVALID_DESCRIPTOR');
  }
  return validateDescriptor(doc.toJS({ maxAliasCount: 100 }), source);
}

/** Reads and validates a descriptor file. */
export async function loadDescriptor(file: string): Promise<PluginDescriptor> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw invalidArgument(`${file}: cannot read descriptor: ${why}`, '', 'INVALID_DESCRIPTOR');
  }
  return parseDescriptor(text, file);
}
