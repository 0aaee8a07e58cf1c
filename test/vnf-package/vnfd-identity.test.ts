import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { patch } from '../artifacts/helpers';
import { assertOnboarded, buildPackage, onboard } from './helpers';

/**
 * A package's identity (issue 8): one onboarded package per vnfdId in a project; packages that
 * differ only in vnfdId all onboard, the version of each decided under a lock per product name.
 */
describe('VNF packages: vnfdId identity and unique versions', function () {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot({ onboarding: { workers: 4 } });
  });
  after(async () => d?.close());

  const versionsOf = async (name: string, as = d.users.alice) => {
    const res = await d.request('GET', `/artifacts/vnf_packages?name=${encodeURIComponent(name)}&sort=version:asc`, { as });
    const body: any = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    return body.artifacts as { id: string; version: string; vnfdId: string; owner: string }[];
  };

  it('four vnfdIds of one product version onboarded at once all end ONBOARDED, one with the plain version', async () => {
    const spec = { provider: 'Vend', product: 'Router', softwareVersion: '3.1.0', vnfdVersion: '1.0' };
    const zips = await Promise.all([0, 1, 2, 3].map(() => buildPackage({ ...spec, vnfdId: randomUUID() })));
    const infos = await Promise.all(zips.map((z) => onboard(d, z)));
    infos.forEach(assertOnboarded);
    const list = await versionsOf('Vend/Router');
    const versions = list.map((a) => a.version);
    assert.equal(versions.length, 4);
    assert.equal(new Set(versions).size, 4, `unique: ${versions}`);
    assert.equal(versions[0], '3.1.0+vnfd.1.0');
    for (const a of list.slice(1)) assert.equal(a.version, `3.1.0+vnfd.1.0.${a.vnfdId}`);
  });

  it('a vnfdId that is not a SemVer identifier is sanitised; two that read alike still get distinct versions', async () => {
    const spec = { provider: 'Vend', product: 'Odd', softwareVersion: '1.0.0', vnfdVersion: '2' };
    const plain = await onboard(d, await buildPackage({ ...spec, vnfdId: 'odd-1' }));
    const a = await onboard(d, await buildPackage({ ...spec, vnfdId: 'op_x' }));
    const b = await onboard(d, await buildPackage({ ...spec, vnfdId: 'op-x' }));
    [plain, a, b].forEach(assertOnboarded);
    const byId = new Map((await versionsOf('Vend/Odd')).map((x) => [x.vnfdId, x.version]));
    assert.equal(byId.get('odd-1'), '1.0.0+vnfd.2');
    assert.equal(byId.get('op_x'), '1.0.0+vnfd.2.op-x');
    assert.match(byId.get('op-x')!, /^1\.0\.0\+vnfd\.2\.op-x\.h[0-9a-f]{12}$/);
  });

  it('a public package of the same name and version (another project) holds its version: the new one is told apart and can be published too', async () => {
    // A product name of its own, and private again at the end: other tests share the database and
    // list every package they can see.
    const product = `Gateway-${randomUUID().slice(0, 8)}`;
    const spec = { provider: 'Vend', product, softwareVersion: '5.0.0', vnfdVersion: '1.0' };
    const visibility = (id: string, value: string) => patch(d, 'vnf_packages', id, [{ op: 'replace', path: '/visibility', value }], { as: d.users.admin });
    const theirs = await onboard(d, await buildPackage({ ...spec, vnfdId: randomUUID() }), d.users.bob);
    assertOnboarded(theirs);
    let ours: any;
    try {
      const published = await visibility(theirs.id, 'public');
      assert.equal(published.status, 200, JSON.stringify(published.body));
      ours = await onboard(d, await buildPackage({ ...spec, vnfdId: randomUUID() }));
      assertOnboarded(ours);
      const list = await versionsOf(`Vend/${product}`);
      assert.deepEqual(list.map((a) => a.id), [theirs.id, ours.id]);
      assert.deepEqual(list.map((a) => a.version), ['5.0.0+vnfd.1.0', `5.0.0+vnfd.1.0.${ours.vnfdId}`]);
      const both = await visibility(ours.id, 'public');
      assert.equal(both.status, 200, JSON.stringify(both.body));
    } finally {
      for (const id of [theirs.id, ours?.id].filter(Boolean)) await visibility(id, 'private');
    }
  });
});
