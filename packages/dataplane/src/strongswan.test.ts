import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeRunner } from './runner.js';
import {
  parseListSas,
  parseViciRaw,
  renderStrongswanConf,
  renderSwanctlConf,
  Strongswan,
} from './strongswan.js';

const RAW = `list-sa event {peer {uniqueid=1 version=2 state=ESTABLISHED local-host=198.18.0.1 local-port=4500 local-id=198.18.0.1 remote-host=198.18.0.2 remote-port=4500 remote-id=198.18.0.2 initiator=yes encr-alg=AES_CBC encr-keysize=256 child-sas {tun-2 {name=tun uniqueid=2 reqid=1 state=INSTALLED mode=TUNNEL protocol=ESP encap=yes spi-in=2fd2774c spi-out=34309fd2 encr-alg=AES_GCM_16 encr-keysize=256 bytes-in=252 packets-in=3 use-in=0 bytes-out=168 packets-out=2 use-out=0 rekey-time=3451 life-time=3959 install-time=1 local-ts=[0.0.0.0/0] remote-ts=[0.0.0.0/0 10.0.0.0/8]}}}}
list-sas reply {}
`;

test('strongswan.conf loads libipsec before netlink, no routes, own vici socket', () => {
  const c = renderStrongswanConf('/run/skyway/sky.gw/strongswan');
  assert.match(c, /load_modular = no/);
  assert.ok(c.indexOf('kernel-libipsec') < c.indexOf('kernel-netlink'));
  assert.match(c, /install_routes = no/);
  assert.match(c, /socket = unix:\/\/\/run\/skyway\/sky\.gw\/strongswan\/charon\.vici/);
});

test('swanctl.conf: IKEv2, PSK in the secrets section, 0/0 selectors by default', () => {
  const c = renderSwanctlConf([
    { name: 'to_west', localAddr: '198.18.0.1', remoteAddr: '198.18.0.2', psk: 's3cret' },
  ]);
  assert.match(c, /version = 2/);
  assert.match(c, /auth = psk/);
  assert.match(c, /local_ts = 0\.0\.0\.0\/0/);
  assert.match(
    c,
    /secrets \{\n {2}ike-to_west \{\n {4}id-1 = 198\.18\.0\.1\n {4}id-2 = 198\.18\.0\.2\n {4}secret = "s3cret"/,
  );
  assert.throws(
    () => renderSwanctlConf([{ name: 'a b', localAddr: '1', remoteAddr: '2', psk: 'x' }]),
    /connection name/,
  );
  assert.throws(
    () => renderSwanctlConf([{ name: 'a', localAddr: '1', remoteAddr: '2', psk: 'x"y' }]),
    /pre-shared key/,
  );
});

test('parses swanctl --raw output', () => {
  const evs = parseViciRaw(RAW);
  assert.equal(evs.length, 2);
  const [sa] = parseListSas(RAW);
  assert.equal(sa!.name, 'peer');
  assert.equal(sa!.state, 'ESTABLISHED');
  assert.equal(sa!.remotePort, 4500);
  assert.deepEqual(sa!.children, [
    {
      name: 'tun',
      state: 'INSTALLED',
      bytesIn: 252,
      bytesOut: 168,
      packetsIn: 3,
      packetsOut: 2,
      encap: true,
      localTs: ['0.0.0.0/0'],
      remoteTs: ['0.0.0.0/0', '10.0.0.0/8'],
    },
  ]);
  assert.deepEqual(parseListSas('list-sas reply {}\n'), []);
});

test('the PSK never appears in argv', async () => {
  const fake = new FakeRunner().on('--list-sas', { stdout: RAW });
  const sw = new Strongswan(fake);
  const dir = `/tmp/skyway-unit-${process.pid}`;
  void dir;
  assert.equal((await sw.listSas('sky.gw'))[0]!.children[0]!.bytesIn, 252);
  await sw.initiate('sky.gw', 'to_west');
  assert.ok(fake.lines.every((l) => !l.includes('s3cret')));
  assert.match(
    fake.lines[1]!,
    /swanctl --initiate --child to_west --timeout 10 --uri unix:\/\/\/run\/skyway\/sky\.gw\/strongswan\/charon\.vici/,
  );
});
