import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SkywayError } from './errors.js';
import { allocateFirstFit, allocateProxyPort, checkNoOverlap, parseIpRange } from './overlay-iprange.js';
import { checkRfc1123Name, isRfc1123Name } from './overlay-names.js';
import { checkProposal, espProposal, ikeProposal } from './overlay-proposal.js';

const failsOn =
  (field: string, code = 'VALIDATION_FAILED') =>
  (e: unknown) =>
    e instanceof SkywayError && e.field === field && e.code === code;

describe('overlay ip ranges', () => {
  it('reads SCC subnets as the last octet, minIp..maxIp', () => {
    const r = parseIpRange('iprange1', { subnet: '192.168.0.2', minIp: 10, maxIp: 100 });
    assert.deepEqual(r, { name: 'iprange1', cidr: '192.168.0.0/24', first: 0xc0a8000a, last: 0xc0a80064 });
    assert.throws(
      () => parseIpRange('x', { subnet: '10.0.0.1', minIp: 0, maxIp: 255 }),
      failsOn('spec.minIp'),
    );
    assert.throws(
      () => parseIpRange('x', { subnet: '10.0.0.1', minIp: 1, maxIp: 256 }),
      failsOn('spec.maxIp'),
    );
  });

  it('takes any prefix length, whole prefix but network and broadcast by default', () => {
    const r = parseIpRange('big', { subnet: '10.8.0.0/16' });
    assert.equal(r.cidr, '10.8.0.0/16');
    assert.equal(allocateFirstFit([r], new Set()), '10.8.0.1');
    assert.equal(r.last - r.first + 1, 65534);
    const r30 = parseIpRange('p2p', { subnet: '10.9.0.0/30' });
    assert.equal(r30.last - r30.first + 1, 2);
    assert.throws(() => parseIpRange('x', { subnet: '10.8.0.0/16', maxIp: 65536 }), failsOn('spec.maxIp'));
    assert.throws(() => parseIpRange('x', { subnet: '10.8.0.1/16' }), failsOn('spec.subnet', 'INVALID_CIDR'));
    assert.throws(() => parseIpRange('x', { subnet: '' }), failsOn('spec.subnet'));
    assert.throws(
      () => parseIpRange('x', { subnet: '10.0.0.0/24', minIp: 9, maxIp: 3 }),
      failsOn('spec.minIp'),
    );
  });

  it('allocates first-fit without overlap and frees on delete', () => {
    const a = parseIpRange('a', { subnet: '10.1.0.0/30', minIp: 1, maxIp: 2 });
    const b = parseIpRange('b', { subnet: '10.2.0.0/24' });
    const used = new Set<string>();
    const got = [1, 2, 3].map(() => {
      const ip = allocateFirstFit([a, b], used)!;
      used.add(ip);
      return ip;
    });
    assert.deepEqual(got, ['10.1.0.1', '10.1.0.2', '10.2.0.1']);
    used.delete('10.1.0.1');
    assert.equal(allocateFirstFit([a, b], used), '10.1.0.1');
    const tiny = parseIpRange('t', { subnet: '10.3.0.0/32' });
    assert.equal(allocateFirstFit([tiny], new Set(['10.3.0.0'])), undefined);
  });

  it('refuses a range overlapping another, naming it', () => {
    const a = parseIpRange('a', { subnet: '192.168.0.1', minIp: 1, maxIp: 10 });
    const b = parseIpRange('b', { subnet: '192.168.0.0/16' });
    const c = parseIpRange('c', { subnet: '192.168.0.9', minIp: 11, maxIp: 20 });
    assert.throws(
      () => checkNoOverlap(b, [{ ...a, owner: 'provider ip range' }]),
      (e: unknown) =>
        e instanceof SkywayError && e.code === 'ADDRESS_OVERLAP' && /provider ip range "a"/.test(e.message),
    );
    checkNoOverlap(c, [a]);
  });

  it('hands out proxy ports from 10000', () => {
    assert.equal(allocateProxyPort(new Set([10000, 10001])), 10002);
  });
});

describe('overlay names and proposals', () => {
  it('accepts RFC 1123 names only', () => {
    for (const ok of ['overlay1', 'edge-1', 'Hub1', 'a.b-c', 'x'.repeat(63)])
      assert.ok(isRfc1123Name(ok), ok);
    for (const bad of ['', '-a', 'a_b', 'a..b', 'a b', 'x'.repeat(64), 'é', 7])
      assert.ok(!isRfc1123Name(bad), String(bad));
    assert.throws(() => checkRfc1123Name('a_b'), failsOn('metadata.name'));
  });

  it('turns SCC proposals into strongSwan proposals', () => {
    const p = { encryption: 'aes256', hash: 'sha256', dhGroup: 'modp4096' };
    assert.equal(ikeProposal(checkProposal(p)), 'aes256-sha256-modp4096');
    assert.equal(espProposal(p), 'aes256-sha256-modp4096');
    const g = { encryption: 'aes128gcm16', hash: 'sha384', dhGroup: 'x25519' };
    assert.equal(ikeProposal(g), 'aes128gcm16-prfsha384-x25519');
    assert.equal(espProposal(g), 'aes128gcm16-x25519');
    assert.throws(() => checkProposal({ ...p, encryption: 'aes257' }), failsOn('spec.encryption'));
    assert.throws(() => checkProposal({ ...p, hash: 'sha3' }), failsOn('spec.hash'));
    assert.throws(() => checkProposal({ ...p, dhGroup: 'modp4097' }), failsOn('spec.dhGroup'));
  });
});
