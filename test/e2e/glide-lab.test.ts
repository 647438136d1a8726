// glide's requests on the lab cloud: resources made and attached, rules added
// and deleted through the Paraglider-compatible listener (the bytes glide's
// Go client sends, no token), and real packets that pass once a rule allows
// them and are blocked again once it is deleted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LabNames } from '@skyway/plugin-local';
import { inProcess } from '@skyway/plugin-sdk';
import {
  client,
  type GoCall,
  pingRules,
  rest,
} from '../../packages/controller/src/http/paraglider/testing/glide-client.js';
import {
  goDecode,
  goRequest,
  sendRaw,
} from '../../packages/controller/src/http/paraglider/testing/go-wire.js';
import {
  description,
  eventually,
  hasPing,
  httpCommand,
  httpGet,
  type LabController,
  ping,
  skipReason,
  startLabController,
  testId,
} from './lab-helpers.js';

const skip = skipReason();
const id = testId();
const east = `${id}-east`;
const ns = 'default';
const names = new LabNames(east);
const vmNetns = (name: string) => names.vm(ns, 'r1', name);

describe('glide on the lab cloud', { skip, timeout: 240_000 }, () => {
  let lab: LabController | undefined;
  let port = 0;
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field
  const glide = async (c: GoCall): Promise<any> => {
    const res = await sendRaw({ port }, goRequest(c.method, c.path, c.body, `127.0.0.1:${port}`));
    assert.equal(res.status, 200, `${c.method} ${c.path}: ${res.status} ${res.body}`);
    return c.decode ? goDecode(c.decode, JSON.parse(res.body)) : undefined;
  };

  before(async () => {
    lab = await startLabController(id, ['east'], {
      paraglider: { listen: '127.0.0.1:0', role: 'operator', namespaces: [ns] },
    });
    assert.match(lab.ctl.paragliderUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    port = Number(new URL(lab.ctl.paragliderUrl!).port);
  });
  after(() => lab?.close());

  test('a rule made through the compatible routes lets packets pass; its delete blocks them again', async () => {
    const webFile = `${JSON.stringify({ region: 'r1', command: httpCommand(8080, 'hello-glide') })}\n`;
    const web = await glide(client.createResource(ns, east, 'web-1', webFile));
    assert.equal(web.name, `${ns}.${east}.web-1`);
    const cli = await glide(client.createResource(ns, east, 'cli-1', '{"region": "r1"}\n'));
    assert.equal(cli.name, `${ns}.${east}.cli-1`);

    // A VM made in the lab past the controller, attached by its namespace name.
    const made = await inProcess(lab!.plugins[0]!).createResource({
      deployment: { id: east, namespace: ns },
      name: 'db-1',
      description: description({ region: 'r1' }),
    });
    const attached = await glide(client.attachResource(ns, east, vmNetns('db-1')));
    assert.deepEqual(attached, { name: `${ns}.${east}.db-1`, uri: made.uri, ip: made.ip });
    assert.equal(
      (await lab!.call('GET', `/api/v1/namespaces/${ns}/clouds/${east}/resources/db-1`)).status,
      200,
    );

    const url = `http://${web.ip}:8080/`;
    // Deny is the default: nothing passes before a rule.
    await eventually(
      'web-1 serving',
      async () => (await httpGet(vmNetns('web-1'), 'http://127.0.0.1:8080/')) === 'hello-glide',
    );
    assert.equal(await httpGet(vmNetns('cli-1'), url), undefined, 'blocked before any rule');
    if (hasPing()) assert.equal(await ping(vmNetns('cli-1'), web.ip), false, 'ping blocked before any rule');

    // http-in on web-1 by PUT with the name only in the path; http-out on cli-1 as `glide rule add --rulefile`.
    await glide(
      rest.putRule(ns, east, 'web-1', 'http-in', {
        src_port: -1,
        dst_port: 8080,
        protocol: 6,
        tags: [cli.name],
      }),
    );
    await glide(
      client.addPermitListRules(ns, east, 'cli-1', [
        { name: 'http-out', direction: 1, src_port: -1, dst_port: 8080, protocol: 6, tags: [web.name] },
      ]),
    );
    // `glide rule add <cloud> <vm> --ping <tag>` on both sides.
    await glide(client.addPermitListRules(ns, east, 'web-1', pingRules(cli.name)));
    await glide(client.addPermitListRules(ns, east, 'cli-1', pingRules(web.name)));

    const rules = await glide(client.getPermitList(ns, east, 'web-1'));
    assert.deepEqual(
      rules.find((r: { name: string }) => r.name === 'http-in'),
      {
        name: 'http-in',
        targets: [`${cli.ip}/32`],
        src_port: -1,
        dst_port: 8080,
        protocol: 6,
        tags: [cli.name],
      },
    );
    assert.equal(await httpGet(vmNetns('cli-1'), url), 'hello-glide', 'the rule lets HTTP through');
    if (hasPing())
      assert.equal(await ping(vmNetns('cli-1'), web.ip), true, 'the ping rules let ICMP through');

    // `glide rule delete <cloud> web-1 --rules http-in`: blocked again.
    await glide(client.deletePermitListRules(ns, east, 'web-1', ['http-in']));
    assert.equal(await httpGet(vmNetns('cli-1'), url), undefined, 'blocked again after the delete');
    // DELETE .../rules/{name}: ICMP blocked again.
    const pingIn = pingRules(cli.name)[0]!.name!;
    await glide(rest.deleteRule(ns, east, 'web-1', pingIn));
    if (hasPing()) assert.equal(await ping(vmNetns('cli-1'), web.ip), false, 'ping blocked again');
    const left = (await glide(client.getPermitList(ns, east, 'web-1'))).map((r: { name: string }) => r.name);
    assert.deepEqual(left, [pingRules(cli.name)[1]!.name]);
  });
});
