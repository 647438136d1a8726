// `skyway overlay`: the SCC API (/scc/v1). `apply -f` and `delete -f` read
// ewoctl's multi-document YAML files as they are (version, resourceContext.anchor,
// metadata, spec; "file:", "b64en:" and "b64de:" values as ewoctl expands
// them), creating or updating in file order and deleting in reverse.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { type ApiClient, ApiError } from '../client.js';
import { clientOf, enc, example, globals } from '../context.js';
import { emit, printTable } from '../output.js';

export interface EwoResource {
  anchor: string;
  body: { metadata?: Record<string, string>; spec?: Record<string, unknown> };
}

/** ewoctl's value functions: "file:<path>" reads a file, "b64en:<v>" encodes, "b64de:<v>" decodes. */
function expand(v: unknown, readFile: (p: string) => string): unknown {
  if (typeof v === 'string') {
    const i = v.indexOf(':');
    if (i < 0) return v;
    const fn = v.slice(0, i).trim().toLowerCase();
    const rest = v.slice(i + 1);
    if (fn === 'file') return readFile(String(expand(rest, readFile)));
    if (fn === 'b64en') return Buffer.from(String(expand(rest, readFile))).toString('base64');
    if (fn === 'b64de') return Buffer.from(rest, 'base64').toString('utf8');
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => expand(x, readFile));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expand(x, readFile)]));
  }
  return v;
}

/** The resources of an ewoctl file, in file order. Empty metadata fields are left out, as ewoctl's omitempty does. */
export function parseEwoFile(
  text: string,
  readFile: (p: string) => string = (p) => readFileSync(p, 'utf8'),
): EwoResource[] {
  const out: EwoResource[] = [];
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    if (doc.errors.length > 0) throw new Error(`document ${i + 1}: ${doc.errors[0]!.message}`);
    const d = doc.toJSON() as Record<string, unknown> | null;
    if (!d) continue;
    const anchor = (d.resourceContext as { anchor?: unknown } | undefined)?.anchor;
    if (typeof anchor !== 'string' || anchor === '') {
      throw new Error(`document ${i + 1}: resourceContext.anchor is required (e.g. overlays/overlay1/hubs)`);
    }
    const metadata = Object.fromEntries(
      Object.entries((d.metadata as Record<string, unknown>) ?? {})
        .filter(([, v]) => v !== null && v !== undefined && v !== '')
        .map(([k, v]) => [k, String(v)]),
    );
    const body: EwoResource['body'] = {};
    if (Object.keys(metadata).length > 0)
      body.metadata = expand(metadata, readFile) as Record<string, string>;
    const spec = d.spec as Record<string, unknown> | null | undefined;
    if (spec && Object.keys(spec).length > 0) body.spec = expand(spec, readFile) as Record<string, unknown>;
    out.push({ anchor: anchor.replace(/^\/+|\/+$/g, ''), body });
  }
  return out;
}

/** Where one resource of a file lives: a hub-device connection by its device, everything else by its name. */
export function resourcePath(r: EwoResource): string {
  const name = /\/hubs\/[^/]+\/devices$/.test(r.anchor)
    ? (r.body.spec?.device as string | undefined)
    : r.body.metadata?.name;
  return `${r.anchor}/${enc(name ?? '')}`;
}

export interface Outcome {
  method: string;
  path: string;
  status: number;
  result: string;
}

const scc = (p: string) => `/scc/v1/${p}`;

/** Creates each resource in order; one that exists is updated where SCC has an update, else left as it is. */
export async function applyResources(client: ApiClient, resources: EwoResource[]): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const r of resources) {
    try {
      await client.post(scc(r.anchor), r.body);
      out.push({ method: 'POST', path: r.anchor, status: 201, result: 'created' });
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== 'ALREADY_EXISTS') throw failure('POST', r.anchor, e);
      try {
        await client.put(scc(resourcePath(r)), r.body);
        out.push({ method: 'PUT', path: resourcePath(r), status: 200, result: 'updated' });
      } catch (e2) {
        if (e2 instanceof ApiError && (e2.status === 405 || e2.status === 404)) {
          out.push({ method: 'POST', path: r.anchor, status: 409, result: 'exists (no update for it)' });
        } else throw failure('PUT', resourcePath(r), e2);
      }
    }
  }
  return out;
}

/** Deletes in reverse file order; what is gone already counts as deleted. */
export async function deleteResources(client: ApiClient, resources: EwoResource[]): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const r of [...resources].reverse()) {
    const path = resourcePath(r);
    try {
      await client.delete(scc(path));
      out.push({ method: 'DELETE', path, status: 204, result: 'deleted' });
    } catch (e) {
      if (e instanceof ApiError && e.status === 404)
        out.push({ method: 'DELETE', path, status: 404, result: 'absent' });
      else throw failure('DELETE', path, e);
    }
  }
  return out;
}

function failure(method: string, path: string, e: unknown): Error {
  if (!(e instanceof ApiError)) return e as Error;
  return new ApiError(e.status, e.code, `${method} ${path}: ${e.message}`, e.field);
}

const readResources = (file: string) => parseEwoFile(readFileSync(file, 'utf8'));

export function registerOverlay(program: Command): void {
  const ov = example(
    program.command('overlay').description('overlays of hubs and edge devices (the SCC API, /scc/v1)'),
    'skyway overlay apply -f overlay.yaml',
    'skyway overlay connections overlay1 --hub hub-a',
  );
  const report = (cmd: Command, out: Outcome[]) =>
    emit(globals(cmd).json, out, () => printTable(out as unknown as Array<Record<string, unknown>>));

  example(
    ov
      .command('apply')
      .description('create (or update) the resources of an ewoctl file, in file order')
      .requiredOption('-f, --filename <file>', 'ewoctl YAML file (several documents separated by ---)'),
    'skyway overlay apply -f examples/test.yaml',
  ).action(async (o, cmd: Command) =>
    report(cmd, await applyResources(clientOf(cmd), readResources(o.filename))),
  );

  example(
    ov
      .command('delete')
      .description('delete the resources of an ewoctl file, in reverse order')
      .requiredOption('-f, --filename <file>', 'ewoctl YAML file'),
    'skyway overlay delete -f examples/test.yaml',
  ).action(async (o, cmd: Command) =>
    report(cmd, await deleteResources(clientOf(cmd), readResources(o.filename))),
  );

  example(ov.command('list').description('list overlays'), 'skyway overlay list --json').action(
    async (_o, cmd: Command) => {
      const r = await clientOf(cmd).get<Array<{ metadata: { name: string; description: string } }>>(
        scc('overlays'),
      );
      emit(globals(cmd).json, r, () =>
        printTable(r.map((x) => ({ name: x.metadata.name, description: x.metadata.description }))),
      );
    },
  );

  const kinds = ['proposals', 'hubs', 'devices', 'ipranges', 'certificates'];
  example(
    ov
      .command('get <overlay> [collection] [name]')
      .description(`an overlay, or its ${kinds.join(', ')} (all, or one by name)`),
    'skyway overlay get overlay1 devices',
    'skyway overlay get overlay1 hubs hub-a --json',
  ).action(
    async (overlay: string, collection: string | undefined, name: string | undefined, _o, cmd: Command) => {
      if (collection && !kinds.includes(collection)) {
        throw new Error(`collection must be one of ${kinds.join(', ')}, not "${collection}"`);
      }
      const path = scc(
        `overlays/${enc(overlay)}${collection ? `/${collection}${name ? `/${enc(name)}` : ''}` : ''}`,
      );
      const r = await clientOf(cmd).get<unknown>(path);
      const rows = (Array.isArray(r) ? r : [r]) as Array<{
        metadata: { name: string };
        spec?: Record<string, unknown>;
        status?: Record<string, unknown>;
      }>;
      emit(globals(cmd).json, r, () =>
        printTable(
          rows.map((x) => ({
            name: x.metadata.name,
            ...summary(collection, x.spec ?? {}, x.status),
          })),
        ),
      );
    },
  );

  example(
    ov
      .command('connections <overlay>')
      .description('the connections of a hub or a device, with the state its agents report')
      .option('--hub <name>', 'a hub')
      .option('--device <name>', 'a device'),
    'skyway overlay connections overlay1 --device edge-1',
  ).action(async (overlay: string, o, cmd: Command) => {
    if (!o.hub === !o.device) throw new Error('give one of --hub <name> or --device <name>');
    const path = scc(
      `overlays/${enc(overlay)}/${o.hub ? `hubs/${enc(o.hub)}` : `devices/${enc(o.device)}`}/connections`,
    );
    const r =
      await clientOf(cmd).get<Array<{ metadata: { name: string }; information: Record<string, any> }>>(path);
    emit(globals(cmd).json, r, () =>
      printTable(
        r.map((c) => ({
          connection: c.metadata.name,
          end1: `${c.information.end1.name} ${c.information.end1.ip}`,
          end2: `${c.information.end2.name} ${c.information.end2.ip}`,
          state: c.information.state,
          message: c.information.message,
        })),
      ),
    );
  });

  example(
    ov
      .command('rotate-ca <overlay>')
      .description("replace the overlay's CA, make-before-break (a Skyway addition to SCC)"),
    'skyway overlay rotate-ca overlay1',
  ).action(async (overlay: string, _o, cmd: Command) => {
    const r = await clientOf(cmd).post<{ serial: string; notAfter: string }>(
      scc(`overlays/${enc(overlay)}/ca/rotate`),
    );
    emit(globals(cmd).json, r, () => printTable([{ overlay, serial: r.serial, expires: r.notAfter }]));
  });
}

function summary(
  collection: string | undefined,
  spec: Record<string, unknown>,
  status?: Record<string, unknown>,
) {
  switch (collection) {
    case 'proposals':
      return { encryption: spec.encryption, hash: spec.hash, dhGroup: spec.dhGroup };
    case 'hubs':
      return { publicIps: spec.publicIps };
    case 'ipranges':
      return { subnet: spec.subnet, minIp: spec.minIp, maxIp: spec.maxIp };
    case 'devices':
      return {
        publicIps: spec.publicIps,
        mode: status?.Mode,
        ip: status?.Ip,
        delegatedHub: status?.DelegatedHub,
        proxy: spec.proxyHub ? `${spec.proxyHub}:${spec.proxyHubPort}` : '',
      };
    case 'certificates':
      return { clusterType: spec.clusterType, isCA: spec.isCA };
    default:
      return {};
  }
}
