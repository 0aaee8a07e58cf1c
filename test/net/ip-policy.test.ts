import assert from 'node:assert/strict';
import { classifyAddress, TargetPolicy } from '../../src/net/ip-policy';

describe('net ip-policy', () => {
  const nonPublic: [string, string][] = [
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.1', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fd00::1', 'uniqueLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fe80::1', 'linkLocal'],
    ['fe80::1%eth0', 'linkLocal'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:a9fe:a9fe', 'linkLocal'],
    ['64:ff9b::a00:1', 'rfc6052'],
    ['2002:a00:1::', '6to4'],
    ['2001:db8::1', 'reserved'],
    ['::7f00:1', 'reserved'], // IPv4-compatible (deprecated)
    ['not-an-ip', 'invalid'],
  ];
  for (const [ip, range] of nonPublic) {
    it(`${ip} is not public (${range})`, () => assert.deepEqual(classifyAddress(ip), { public: false, range }));
  }
  for (const ip of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '::ffff:8.8.8.8']) {
    it(`${ip} is public`, () => assert.equal(classifyAddress(ip).public, true));
  }

  it('allow list: CIDRs, single addresses, host names and wildcards', () => {
    const p = new TargetPolicy(['127.0.0.0/8', 'fd00::/8', '10.1.2.3', 'Repo.Internal', '*.lab.example']);
    assert.equal(p.allowsAddress('127.0.0.1'), true);
    assert.equal(p.allowsAddress('::ffff:127.0.0.1'), true);
    assert.equal(p.allowsAddress('fd12::1'), true);
    assert.equal(p.allowsAddress('10.1.2.3'), true);
    assert.equal(p.allowsAddress('10.1.2.4'), false);
    assert.equal(p.allowsAddress('::1'), false);
    assert.equal(p.allowsHost('repo.internal'), true);
    assert.equal(p.allowsHost('repo.internal.'), true);
    assert.equal(p.allowsHost('a.lab.example'), true);
    assert.equal(p.allowsHost('lab.example'), false);
    assert.equal(p.allowsHost('evilrepo.internal'), false);
    assert.equal(p.refusal('127.0.0.1'), undefined);
    assert.equal(p.refusal('192.168.0.1'), 'private');
    assert.equal(p.refusal('8.8.8.8'), undefined);
  });

  it('rejects a malformed CIDR in config', () => {
    assert.throws(() => new TargetPolicy(['10.0.0.0/99']));
  });
});
