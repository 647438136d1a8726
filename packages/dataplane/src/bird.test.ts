import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Bird, parseBirdRoutes, parseProtocols, renderBirdConf } from './bird.js';
import { FakeRunner } from './runner.js';

const PROTOCOLS = `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     10:47:44.477  
sky_vpcs   Static     master4    up     10:47:44.477  
sky_kernel Kernel     master4    up     10:47:44.477  
to_west    BGP        ---        up     10:47:49.309  Established   
to_north   BGP        ---        start  10:47:49.309  Connect       Socket: Connection refused
`;

const ROUTES = `BIRD 2.0.12 ready.
Table master4:
10.1.0.0/16          blackhole [sky_vpcs 10:47:44.477] * (200)
10.2.0.0/16          unicast [to_west 10:47:50.494] * (100) [AS65002i]
	via 169.254.21.2 on skyt1
10.3.0.0/16          unicast [to_west 10:47:50.494] * (100) [AS65002 65003i]
	via 169.254.21.2 on skyt1
                     unicast [to_north 10:47:51.000] (100) [AS65004i]
	via 169.254.22.2 on skyt2
`;

test('renders router id, exported prefixes, eBGP neighbors and kernel export of BGP routes only', () => {
  const c = renderBirdConf({
    routerId: '169.254.21.1',
    exportPrefixes: ['10.1.0.0/16'],
    neighbors: [
      {
        name: 'to_west',
        localAs: 65001,
        peerIp: '169.254.21.2',
        peerAs: 65002,
        sourceIp: '169.254.21.1',
        multihop: 4,
      },
    ],
  });
  assert.match(c, /router id 169\.254\.21\.1;/);
  assert.match(c, /route 10\.1\.0\.0\/16 blackhole;/);
  assert.match(c, /local 169\.254\.21\.1 as 65001;\n {2}neighbor 169\.254\.21\.2 as 65002;\n {2}multihop 4;/);
  assert.match(c, /export where source = RTS_BGP;/);
  assert.match(c, /import where net !~ \[ 10\.1\.0\.0\/16\+ \]/);
  assert.throws(() => renderBirdConf({ routerId: 'x', exportPrefixes: [], neighbors: [] }), /router id/);
  assert.throws(
    () =>
      renderBirdConf({
        routerId: '1.1.1.1',
        exportPrefixes: [],
        neighbors: [{ name: 'a-b', localAs: 1, peerIp: '1.1.1.2', peerAs: 2 }],
      }),
    /neighbor name/,
  );
});

test('parses show protocols', () => {
  const p = parseProtocols(PROTOCOLS);
  assert.equal(p.length, 5);
  assert.deepEqual(p[3], { name: 'to_west', proto: 'BGP', table: '---', state: 'up', info: 'Established' });
  assert.equal(p[4]!.info, 'Connect       Socket: Connection refused');
});

test('parses show route including secondary routes', () => {
  const r = parseBirdRoutes(ROUTES);
  assert.deepEqual(
    r.map((x) => [x.prefix, x.proto, x.via, x.dev, x.primary]),
    [
      ['10.1.0.0/16', 'sky_vpcs', undefined, undefined, true],
      ['10.2.0.0/16', 'to_west', '169.254.21.2', 'skyt1', true],
      ['10.3.0.0/16', 'to_west', '169.254.21.2', 'skyt1', true],
      ['10.3.0.0/16', 'to_north', '169.254.22.2', 'skyt2', false],
    ],
  );
  assert.equal(r[2]!.asPath, 'AS65002 65003i');
});

test('birdc talks to the per-namespace socket', async () => {
  const fake = new FakeRunner().on('show protocols', { stdout: PROTOCOLS });
  const bird = new Bird(fake);
  assert.equal((await bird.protocols('sky.gw')).length, 5);
  assert.equal(fake.lines[0], 'birdc -s /run/skyway/sky.gw/bird/bird.ctl show protocols');
});
