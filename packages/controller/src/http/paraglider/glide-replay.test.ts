// Replays, byte for byte, the request of every glide command (Paraglider
// v0.1.0) over a real socket to the compatibility listener, and decodes every
// answer into glide's Go structs. The request bytes are fixtures
// (fixtures/glide/*.http, written from testing/glide-client.ts with
// SKYWAY_WRITE_FIXTURES=1); the test fails if the two ever differ.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../config.js';
import { type Harness, startHarness } from '../../testing/harness.js';
import { parseParagliderConfig } from './config.js';
import { startParagliderListener } from './server.js';
import {
  client,
  DOCUMENTED_RULE_EXAMPLE,
  type GoCall,
  pingRules,
  rest,
  sshRules,
} from './testing/glide-client.js';
import { ATTACH_URI, type GlideWorld, startGlideWorld } from './testing/glide-world.js';
import { goDecode, goRequest, sendRaw } from './testing/go-wire.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/glide/', import.meta.url));
const ns = 'default';
const east = 'lab-east';
const west = 'lab-west';
const web2 = `${ns}.${west}.web-2`;
const description = '{"image": "debian-12", "size": "small"}\n';
const attachUri = ATTACH_URI;
const extUri = 'https://svc.example.com/a?b=1&c=2';

// biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
type Answer = any;
interface Step {
  slug: string;
  command: string;
  call: GoCall;
  status?: number;
  check?: (answer: Answer, raw: string) => void;
}

const ctx: { web1?: Answer; web2?: Answer; db1Ip?: string } = {};
const names = (rules: Answer[]) => rules.map((r) => r.Name ?? r.name).sort();

const steps: Step[] = [
  {
    slug: 'namespace-list',
    command: 'glide namespace list',
    call: client.listNamespaces(),
    check: (a) =>
      assert.deepEqual(a, {
        default: [
          { Name: east, Deployment: east },
          { Name: west, Deployment: west },
        ],
      }),
  },
  {
    slug: 'namespace-set',
    command: 'glide namespace set default',
    call: client.listNamespaces(),
    check: (a) => assert.ok(Object.keys(a).includes('default'), 'namespace set validates against the list'),
  },
  {
    slug: 'resource-create-web-1',
    command: `glide resource create ${east} web-1 vm.json`,
    call: client.createResource(ns, east, 'web-1', description),
    check: (a) => {
      assert.equal(a.name, `${ns}.${east}.web-1`);
      assert.match(a.uri, /^fake:\/\//);
      assert.match(a.ip, /^\d+\.\d+\.\d+\.\d+$/);
      ctx.web1 = a;
    },
  },
  {
    slug: 'resource-create-web-2',
    command: `glide resource create ${west} web-2 vm.json`,
    call: client.createResource(ns, west, 'web-2', description),
    check: (a) => {
      assert.equal(a.name, web2);
      ctx.web2 = a;
    },
  },
  {
    slug: 'resource-attach-db-1',
    command: `glide resource attach ${east} ${attachUri}`,
    call: client.attachResource(ns, east, attachUri),
    check: (a) => assert.deepEqual(a, { name: `${ns}.${east}.db-1`, uri: attachUri, ip: ctx.db1Ip }),
  },
  {
    slug: 'rule-add-ping',
    command: `glide rule add ${east} web-1 --ping ${web2}`,
    call: client.addPermitListRules(ns, east, 'web-1', pingRules(web2)),
  },
  {
    slug: 'rule-add-ssh',
    command: `glide rule add ${east} web-1 --ssh 10.0.0.0/8`,
    call: client.addPermitListRules(ns, east, 'web-1', sshRules('10.0.0.0/8')),
  },
  {
    slug: 'tag-set-children-app',
    command: `glide tag set app --children ${ns}.${east}.web-1,${ns}.${east}.db-1`,
    call: client.setTag('app', { children: [`${ns}.${east}.web-1`, `${ns}.${east}.db-1`] }),
  },
  {
    slug: 'rule-add-tag-ssh',
    command: `glide rule add app --ssh ${web2}`,
    call: client.addPermitListRulesTag('app', sshRules(web2)),
  },
  {
    slug: 'rule-get-db-1',
    command: `glide rule get ${east} db-1`,
    call: client.getPermitList(ns, east, 'db-1'),
    check: (a, raw) => {
      const target = `${ctx.web2.ip}/32`;
      assert.deepEqual(a, [
        {
          name: 'ssh-in-default-lab-west-web-2',
          targets: [target],
          src_port: -1,
          dst_port: 22,
          protocol: 6,
          tags: [web2],
        },
        {
          name: 'ssh-out-default-lab-west-web-2',
          targets: [target],
          direction: 1,
          src_port: 22,
          dst_port: -1,
          protocol: 6,
          tags: [web2],
        },
      ]);
      assert.ok(!Object.hasOwn(JSON.parse(raw)[0], 'direction'), 'INBOUND (0) is left out, as Go does');
    },
  },
  {
    slug: 'rule-get-web-1',
    command: `glide rule get ${east} web-1`,
    call: client.getPermitList(ns, east, 'web-1'),
    check: (a) =>
      assert.deepEqual(names(a), [
        'ping-in-default-lab-west-web-2',
        'ping-out-default-lab-west-web-2',
        'ssh-in-10-0-0-0-8',
        'ssh-in-default-lab-west-web-2',
        'ssh-out-10-0-0-0-8',
        'ssh-out-default-lab-west-web-2',
      ]),
  },
  {
    slug: 'rule-delete',
    command: `glide rule delete ${east} web-1 --rules ssh-in-10-0-0-0-8,ssh-out-10-0-0-0-8`,
    call: client.deletePermitListRules(ns, east, 'web-1', ['ssh-in-10-0-0-0-8', 'ssh-out-10-0-0-0-8']),
  },
  {
    slug: 'rule-get-web-1-after-delete',
    command: `glide rule get ${east} web-1`,
    call: client.getPermitList(ns, east, 'web-1'),
    check: (a) => {
      assert.equal(a.length, 4);
      const ping = a.find((r: Answer) => r.name === 'ping-in-default-lab-west-web-2');
      assert.deepEqual(ping, {
        name: 'ping-in-default-lab-west-web-2',
        targets: [`${ctx.web2.ip}/32`],
        src_port: -1,
        dst_port: -1,
        protocol: 1,
        tags: [web2],
      });
    },
  },
  {
    slug: 'tag-set-ip',
    command: 'glide tag set ext-dns --ip 192.0.2.53',
    call: client.setTag('ext-dns', { ip: '192.0.2.53' }),
  },
  {
    slug: 'tag-set-uri',
    command: `glide tag set ext-svc --uri '${extUri}'`,
    call: client.setTag('ext-svc', { uri: extUri }),
  },
  {
    slug: 'tag-set-children-ext',
    command: 'glide tag set ext --children ext-dns,ext-svc',
    call: client.setTag('ext', { children: ['ext-dns', 'ext-svc'] }),
  },
  {
    slug: 'tag-get',
    command: 'glide tag get ext',
    call: client.getTag('ext'),
    check: (a) => assert.deepEqual(a, { name: 'ext', child_tags: ['ext-dns', 'ext-svc'] }),
  },
  {
    slug: 'tag-get-ip-leaf',
    command: 'glide tag get ext-dns',
    call: client.getTag('ext-dns'),
    check: (a) => assert.deepEqual(a, { name: 'ext-dns', ip: '192.0.2.53' }),
  },
  {
    slug: 'tag-resolve-ext',
    command: 'glide tag get ext --resolve',
    call: client.resolveTag('ext'),
    check: (a) =>
      assert.deepEqual(a, [
        { name: 'ext-dns', ip: '192.0.2.53' },
        { name: 'ext-svc', uri: extUri },
      ]),
  },
  {
    slug: 'tag-resolve-app',
    command: 'glide tag get app --resolve',
    call: client.resolveTag('app'),
    check: (a) =>
      assert.deepEqual(a, [
        { name: `${ns}.${east}.web-1`, uri: ctx.web1.uri, ip: ctx.web1.ip },
        { name: `${ns}.${east}.db-1`, uri: attachUri, ip: ctx.db1Ip },
      ]),
  },
  {
    slug: 'tag-list',
    command: 'glide tag list',
    call: client.listTags(),
    check: (a) => {
      assert.deepEqual(
        a.map((t: Answer) => t.name),
        ['app', `${ns}.${east}.db-1`, `${ns}.${east}.web-1`, web2, 'ext', 'ext-dns', 'ext-svc'],
      );
      assert.deepEqual(
        a.find((t: Answer) => t.name === web2),
        { name: web2, uri: ctx.web2.uri, ip: ctx.web2.ip },
      );
    },
  },
  {
    slug: 'tag-delete-member',
    command: 'glide tag delete ext --member ext-svc',
    call: client.deleteTagMember('ext', 'ext-svc'),
  },
  {
    slug: 'tag-get-after-member-delete',
    command: 'glide tag get ext',
    call: client.getTag('ext'),
    check: (a) => assert.deepEqual(a, { name: 'ext', child_tags: ['ext-dns'] }),
  },
  {
    slug: 'rest-put-rule-name-in-path',
    command: `PUT /namespaces/${ns}/clouds/${east}/resources/web-1/rules/http-in (no name in the body)`,
    call: rest.putRule(ns, east, 'web-1', 'http-in', {
      src_port: -1,
      dst_port: 8080,
      protocol: 6,
      tags: [web2],
    }),
  },
  {
    slug: 'tag-set-ip-tagname',
    command: 'glide tag set tagname --ip 198.51.100.7',
    call: client.setTag('tagname', { ip: '198.51.100.7' }),
  },
  {
    slug: 'rest-post-documented-rule',
    command: `POST /namespaces/${ns}/clouds/${east}/resources/web-1/rules (Paraglider's documented example, with "id")`,
    call: rest.postRule(ns, east, 'web-1', DOCUMENTED_RULE_EXAMPLE),
  },
  {
    slug: 'rule-get-web-1-rest',
    command: `glide rule get ${east} web-1`,
    call: client.getPermitList(ns, east, 'web-1'),
    check: (a) => {
      assert.deepEqual(
        a.find((r: Answer) => r.name === 'http-in'),
        {
          name: 'http-in',
          targets: [`${ctx.web2.ip}/32`],
          src_port: -1,
          dst_port: 8080,
          protocol: 6,
          tags: [web2],
        },
      );
      // Protocol 3 has no ports: Paraglider's clouds ignore them, Skyway enforces "any".
      assert.deepEqual(
        a.find((r: Answer) => r.name === 'rulename'),
        {
          name: 'rulename',
          targets: ['198.51.100.7/32'],
          src_port: -1,
          dst_port: -1,
          protocol: 3,
          tags: ['tagname'],
        },
      );
    },
  },
  {
    slug: 'rest-delete-rule',
    command: `DELETE /namespaces/${ns}/clouds/${east}/resources/web-1/rules/rulename`,
    call: rest.deleteRule(ns, east, 'web-1', 'rulename'),
  },
  {
    slug: 'client-delete-tag-rules',
    command: 'client.DeletePermitListRulesTag("app", [ssh-in-..., ssh-out-...])',
    call: client.deletePermitListRulesTag('app', [
      'ssh-in-default-lab-west-web-2',
      'ssh-out-default-lab-west-web-2',
    ]),
  },
  {
    slug: 'rule-get-db-1-empty',
    command: `glide rule get ${east} db-1`,
    call: client.getPermitList(ns, east, 'db-1'),
    check: (a) => assert.deepEqual(a, []),
  },
  {
    slug: 'rule-get-web-1-final',
    command: `glide rule get ${east} web-1`,
    call: client.getPermitList(ns, east, 'web-1'),
    check: (a) =>
      assert.deepEqual(names(a), [
        'http-in',
        'ping-in-default-lab-west-web-2',
        'ping-out-default-lab-west-web-2',
      ]),
  },
  { slug: 'tag-delete', command: 'glide tag delete ext', call: client.deleteTag('ext') },
  {
    slug: 'tag-get-deleted',
    command: 'glide tag get ext (after delete: not 200, glide reports the error)',
    call: client.getTag('ext'),
    status: 404,
    check: (_a, raw) => assert.match(JSON.parse(raw).error, /tag "ext" does not exist/),
  },
];

describe('glide v0.1.0 against the compatibility listener', () => {
  let w: GlideWorld;
  let h: Harness;
  let port: number;

  before(async () => {
    w = await startGlideWorld();
    ({ h, port } = w);
    assert.equal(w.db1.uri, attachUri);
    ctx.db1Ip = w.db1.ip;
  });
  after(() => w?.close());

  steps.forEach((step, i) => {
    it(step.command, async () => {
      const file = join(FIXTURES, `${String(i + 1).padStart(2, '0')}-${step.slug}.http`);
      const built = goRequest(step.call.method, step.call.path, step.call.body);
      if (process.env.SKYWAY_WRITE_FIXTURES === '1') {
        mkdirSync(FIXTURES, { recursive: true });
        writeFileSync(file, built);
      }
      const fixture = readFileSync(file, 'utf8');
      assert.equal(fixture, built, `${file} is what client.go sends`);
      const res = await sendRaw({ port }, fixture.replace('{{host}}', `127.0.0.1:${port}`));
      assert.equal(res.status, step.status ?? 200, `${step.command}: ${res.status} ${res.body}`);
      const answer =
        step.call.decode && res.status === 200 ? goDecode(step.call.decode, JSON.parse(res.body)) : undefined;
      step.check?.(answer, res.body);
    });
  });

  it("tags made through glide belong to the listener's namespace", () => {
    for (const t of ['app', 'ext-dns', 'ext-svc', 'tagname'])
      assert.equal(h.services.tags.get(t).namespace, ns, t);
  });
});

describe('the compatibility listener', () => {
  it('listens on a Unix socket only its owner may open, and answers there', async () => {
    const h = await startHarness({ clouds: [east] });
    const path = join(tmpdir(), `skyway-glide-${process.pid}.sock`);
    const pg = await startParagliderListener({
      services: h.services,
      config: parseParagliderConfig({ listen: `unix:${path}` }, 'test'),
    });
    try {
      assert.equal(pg.url, `unix:${path}`);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      const res = await sendRaw({ path }, goRequest('GET', '/namespaces', undefined, 'localhost'));
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.body), { default: [{ name: east, deployment: east }] });
    } finally {
      await pg.close();
      await h.close();
      if (existsSync(path)) rmSync(path);
    }
  });

  it('acts with the configured role and namespaces only', async () => {
    const h = await startHarness({ clouds: [east] });
    const pg = await startParagliderListener({
      services: h.services,
      config: parseParagliderConfig(
        { listen: '127.0.0.1:0', role: 'viewer', namespaces: ['default'] },
        'test',
      ),
    });
    try {
      const port = Number(new URL(pg.url).port);
      const send = (c: GoCall) => sendRaw({ port }, goRequest(c.method, c.path, c.body, `127.0.0.1:${port}`));
      const create = await send(client.createResource('default', east, 'vm-x', '{}'));
      assert.equal(create.status, 403);
      assert.match(JSON.parse(create.body).error, /needs the operator role/);
      const other = await send(client.getPermitList('other', east, 'vm-x'));
      assert.equal(other.status, 403);
      assert.match(JSON.parse(other.body).error, /namespace "other"/);
      assert.deepEqual(Object.keys(JSON.parse((await send(client.listNamespaces())).body)), ['default']);
      assert.equal((await h.store.resources.list({})).length, 0, 'nothing was created');
    } finally {
      await pg.close();
      await h.close();
    }
  });

  it('answers a write that outlasts wait_seconds with 503, and the write goes on', async () => {
    const h = await startHarness({ clouds: [east] });
    let finished = false;
    const slowRules = Object.create(h.services.rules) as typeof h.services.rules;
    slowRules.apply = async (...args) => {
      await new Promise((r) => setTimeout(r, 600));
      const out = await h.services.rules.apply(...args);
      finished = true;
      return out;
    };
    const pg = await startParagliderListener({
      services: { ...h.services, rules: slowRules },
      config: parseParagliderConfig({ listen: '127.0.0.1:0', wait_seconds: 0.2 }, 'test'),
    });
    try {
      const port = Number(new URL(pg.url).port);
      const send = (c: GoCall) => sendRaw({ port }, goRequest(c.method, c.path, c.body, `127.0.0.1:${port}`));
      assert.equal((await send(client.createResource('default', east, 'vm-w', '{}'))).status, 200);
      const res = await send(client.addPermitListRules('default', east, 'vm-w', pingRules('10.0.0.0/8')));
      assert.equal(res.status, 503);
      assert.deepEqual(JSON.parse(res.body).code, 'UNAVAILABLE');
      assert.match(JSON.parse(res.body).error, /still in progress after 0.2 s/);
      await new Promise((r) => setTimeout(r, 800));
      assert.ok(finished, 'the write went on');
      assert.equal(
        (await h.services.rules.get({ namespace: 'default', cloud: east, resource: 'vm-w' })).length,
        2,
      );
    } finally {
      await pg.close();
      await h.close();
    }
  });

  it('refuses a listen address other machines can reach, naming the field', () => {
    for (const listen of [
      '0.0.0.0:7071',
      '10.1.2.3:7071',
      '[::]:7071',
      'example.com:7071',
      'unix:relative.sock',
    ]) {
      assert.throws(
        () => parseConfig({ paraglider: { listen } }, 'skyway.yaml', '/tmp/skyway-none'),
        (e: Error & { field?: string }) => e.field === 'paraglider.listen' && e.message.includes(listen),
        listen,
      );
    }
    for (const listen of ['127.0.0.1:7071', 'localhost:0', '[::1]:7071', 'unix:/run/skyway/glide.sock'])
      assert.ok(
        parseConfig({ paraglider: { listen } }, 'skyway.yaml', '/tmp/skyway-none').paraglider,
        listen,
      );
    assert.throws(
      () =>
        parseConfig(
          { paraglider: { listen: '127.0.0.1:1', role: 'root' } },
          'skyway.yaml',
          '/tmp/skyway-none',
        ),
      (e: Error & { field?: string }) => e.field === 'paraglider.role',
    );
  });

  it('is not on the main listener: the root paths are gone there, /api/v1 keeps its token', async () => {
    const h = await startHarness({ clouds: [east] });
    try {
      // Without a token: 401 as for every route; with the admin token: no such route.
      assert.equal((await h.app.inject({ url: '/tags' })).statusCode, 401);
      assert.equal((await h.call('GET', '/tags')).status, 404);
      assert.equal((await h.call('GET', '/namespaces')).status, 404);
      assert.equal((await h.call('POST', '/namespaces/default/clouds/lab-east/resources', {})).status, 404);
      assert.equal((await h.app.inject({ url: '/api/v1/tags' })).statusCode, 401);
      assert.equal((await h.call('GET', '/api/v1/tags')).status, 200);
    } finally {
      await h.close();
    }
  });
});
