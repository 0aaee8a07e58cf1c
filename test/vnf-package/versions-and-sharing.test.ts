import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { sha256 } from '../helpers/csar-builder';
import { assertError, assertOnboarded, buildPackage, bytes, IMAGE_PATH, imageBytes, onboard, packageFiles, V1 } from './helpers';

/**
 * A VNF package is also a generic artifact: name "<provider>/<product>", version
 * "<softwareVersion>+vnfd.<vnfdVersion>" (build metadata significant), same id in /artifacts, its
 * CSAR unpacked into the `content` folder. Package versions share the bytes of their images.
 */
describe('VNF packages: versions in the generic API, and shared bytes', function () {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot();
  });
  after(async () => d?.close());

  const json = async (res: Response, status = 200) => {
    const body: any = await res.json();
    assert.equal(res.status, status, JSON.stringify(body));
    return body;
  };

  describe('versions', () => {
    const product = { provider: 'Vend', product: 'Firewall' };
    const made: Record<string, any> = {};
    before(async () => {
      for (const [sw, vnfd] of [['1.0.0', '1.0'], ['1.0.0', '1.1'], ['2.0.0', '1.0'], ['1.10.0', '1.0'], ['2.0.0-rc.1', '1.0']]) {
        const info = await onboard(d, await buildPackage({ ...product, softwareVersion: sw, vnfdVersion: vnfd }));
        assertOnboarded(info);
        made[`${sw}+vnfd.${vnfd}`] = info;
      }
    });

    it('two packages that differ only in vnfdVersion both onboard, as two versions', () => {
      assert.notEqual(made['1.0.0+vnfd.1.0'].vnfdId, made['1.0.0+vnfd.1.1'].vnfdId);
      assert.equal(made['1.0.0+vnfd.1.1'].vnfdVersion, '1.1');
    });

    it('the same package again (same vnfdId) is refused: VNFPKG-DUPLICATE-VNFD-ID names the onboarded one', async () => {
      const first = made['1.0.0+vnfd.1.1'];
      const info = await onboard(d, await buildPackage({ ...product, softwareVersion: '1.0.0', vnfdVersion: '1.1', vnfdId: first.vnfdId }));
      const f = assertError(info, 'VNFPKG-DUPLICATE-VNFD-ID');
      assert.match(f.find((x) => x.rule === 'VNFPKG-DUPLICATE-VNFD-ID').message, new RegExp(`vnfdId ${first.vnfdId} is already onboarded as package ${first.id}`));
    });

    it('two vnfdIds of one product version (operator-specific VNFDs) both onboard, as two unique, sorted versions', async () => {
      const other = { provider: 'Vend', product: 'Switch', softwareVersion: '4.0.0', vnfdVersion: '2.0' };
      const a = await onboard(d, await buildPackage(other));
      const b = await onboard(d, await buildPackage(other));
      assertOnboarded(a);
      assertOnboarded(b);
      assert.notEqual(a.vnfdId, b.vnfdId);
      const list = await json(await d.request('GET', `/artifacts/vnf_packages?name=${encodeURIComponent('Vend/Switch')}&sort=version:asc`));
      const versions = list.artifacts.map((x: any) => x.version);
      assert.equal(versions.length, 2);
      assert.equal(new Set(versions).size, 2, `versions stay unique: ${versions}`);
      assert.equal(versions[0], '4.0.0+vnfd.2.0', 'the first keeps the plain version');
      assert.ok(versions[1].startsWith('4.0.0+vnfd.2.0.'), `the second is told apart by its vnfdId: ${versions[1]}`);
      assert.deepEqual(list.artifacts.map((x: any) => x.vnfdId), [a.vnfdId, b.vnfdId]);
      const desc = await json(await d.request('GET', `/artifacts/vnf_packages?name=${encodeURIComponent('Vend/Switch')}&sort=version:desc`));
      assert.deepEqual(desc.artifacts.map((x: any) => x.version), [...versions].reverse());
      // SOL005 identifies each by its vnfdId.
      for (const p of [a, b]) {
        const hits = await json(await d.request('GET', `${V1}/vnf_packages?filter=(eq,vnfdId,${p.vnfdId})`));
        assert.deepEqual(hits.map((x: any) => x.id), [p.id]);
      }
    });

    it('an operator lists every version of a product, sorted by SemVer (build metadata counts)', async () => {
      const name = encodeURIComponent('Vend/Firewall');
      const desc = await json(await d.request('GET', `/artifacts/vnf_packages?name=${name}&sort=version:desc`));
      assert.deepEqual(desc.artifacts.map((a: any) => a.version), ['2.0.0+vnfd.1.0', '2.0.0-rc.1+vnfd.1.0', '1.10.0+vnfd.1.0', '1.0.0+vnfd.1.1', '1.0.0+vnfd.1.0']);
      assert.ok(desc.artifacts.every((a: any) => a.name === 'Vend/Firewall'));
      const asc = await json(await d.request('GET', `/artifacts/vnf_packages?name=${name}&sort=version:asc`));
      assert.deepEqual(asc.artifacts.map((a: any) => a.version), [...desc.artifacts.map((a: any) => a.version)].reverse());
      const latest = await json(await d.request('GET', `/artifacts/vnf_packages?name=${name}&version=latest`));
      assert.deepEqual(latest.artifacts.map((a: any) => [a.id, a.version]), [[made['2.0.0+vnfd.1.0'].id, '2.0.0+vnfd.1.0']]);
      // The ERROR package (duplicate version) keeps its placeholder name and is not a version of the product.
      assert.equal(desc.artifacts.length, 5);
    });

    it('the same id works in /artifacts/vnf_packages/{id}; the fields agree with VnfPkgInfo', async () => {
      const info = made['1.10.0+vnfd.1.0'];
      const a = await json(await d.request('GET', `/artifacts/vnf_packages/${info.id}`));
      assert.equal(a.id, info.id);
      assert.equal(a.name, 'Vend/Firewall');
      assert.equal(a.version, '1.10.0+vnfd.1.0');
      assert.equal(a.status, 'active');
      assert.equal(a.vnfdId, info.vnfdId);
      assert.equal(a.onboardingState, 'ONBOARDED');
      // Disabling through SOL005 shows in the generic status.
      assert.equal((await d.request('PATCH', `${V1}/vnf_packages/${info.id}`, { json: { operationalState: 'DISABLED' }, headers: { 'Content-Type': 'application/merge-patch+json' } })).status, 200);
      assert.equal((await json(await d.request('GET', `/artifacts/vnf_packages/${info.id}`))).status, 'deactivated');
    });

    it('its folder `content` lists every file of the CSAR, each downloadable byte-exact', async () => {
      const image = imageBytes(20_000, 21);
      const spec = { provider: 'Vend', product: 'Router', vnfdId: 'c0ffee00-0000-4000-8000-000000000001', softwareVersion: '3.0.0', multiFile: true, image, extra: { 'Scripts/a.sh': 'echo a\n', 'Files/docs/readme.txt': 'read me\n' } };
      const { files } = packageFiles(spec);
      const info = await onboard(d, await buildPackage(spec));
      assertOnboarded(info);
      const listing = await json(await d.request('GET', `/artifacts/vnf_packages/${info.id}/content/`));
      const paths = listing.entries.map((e: any) => e.path).sort();
      assert.deepEqual(paths, [...Object.keys(files), 'manifest.mf'].sort());
      for (const p of Object.keys(files)) {
        const res = await d.request('GET', `/artifacts/vnf_packages/${info.id}/content/${p}`);
        assert.equal(res.status, 200, p);
        assert.ok((await bytes(res)).equals(Buffer.from(files[p])), p);
      }
      const sub = await json(await d.request('GET', `/artifacts/vnf_packages/${info.id}/content/Files/`));
      assert.deepEqual(sub.entries.map((e: any) => e.path).sort(), ['Files/docs/readme.txt', IMAGE_PATH]);
    });
  });

  describe('shared bytes', () => {
    const objects = (dir: string): string[] => {
      const root = path.join(dir, 'blobs', 'objects');
      const out: string[] = [];
      const walk = (p: string) => {
        for (const e of fs.readdirSync(p, { withFileTypes: true })) e.isDirectory() ? walk(path.join(p, e.name)) : out.push(path.join(p, e.name));
      };
      if (fs.existsSync(root)) walk(root);
      return out;
    };
    /** Objects holding `probe` anywhere in their bytes. */
    const holding = (probe: Buffer) => objects(d.dataDir).filter((f) => fs.readFileSync(f).includes(probe));

    for (const [how, stored] of [['deflated', false], ['stored (uncompressed, ≥ 1 MiB: decomposed out of the CSAR)', true]] as const) {
      it(`the same ${how} VM image in two package versions is one object, named by its SHA-256`, async () => {
        // The deflated variant is compressible (16 letters), so that deflate really encodes it
        // (incompressible data would sit verbatim inside deflate's stored blocks).
        const image = stored ? imageBytes(1_200_000, 31) : Buffer.from(imageBytes(1_200_000, 32).map((b) => 65 + (b & 15)));
        const zips = [];
        for (const sw of ['5.0.0', '5.1.0']) {
          const zip = await buildPackage({ provider: 'Share', product: stored ? 'Stored' : 'Deflated', softwareVersion: sw, image, imageStored: stored });
          zips.push(zip);
          const info = await onboard(d, zip);
          assertOnboarded(info);
          assert.deepEqual(info.softwareImages[0].checksum, { algorithm: 'SHA-256', hash: sha256(image) });
          const got = await d.request('GET', `${V1}/vnf_packages/${info.id}/artifacts/${IMAGE_PATH}`);
          assert.ok((await bytes(got)).equals(image));
          const pc = await d.request('GET', `${V1}/vnf_packages/${info.id}/package_content`);
          assert.ok((await bytes(pc)).equals(zip), 'the CSAR is served byte-exact');
        }
        const key = sha256(image);
        const named = objects(d.dataDir).filter((f) => path.basename(f) === key);
        assert.equal(named.length, 1, 'one object for the image');
        assert.ok(fs.readFileSync(named[0]).equals(image));
        // Drop what no package references any more (the uploaded CSARs a decomposition replaced).
        const gc = await d.request('POST', '/admin/gc?graceSeconds=0', { as: d.users.admin });
        assert.equal(gc.status, 200, await gc.text());
        const probe = image.subarray(500_000, 500_064);
        const copies = holding(probe).map((f) => path.basename(f));
        if (stored) {
          // Stored image bytes are found verbatim only in the image object: the CSARs became skeletons.
          assert.deepEqual(copies, [key]);
        } else {
          // Deflated in the CSARs (kept whole, as uploaded): the plain bytes exist once, in the image object.
          assert.deepEqual(copies, [key]);
          for (const zip of zips) assert.equal(objects(d.dataDir).filter((f) => path.basename(f) === sha256(zip)).length, 1, 'each CSAR object still holds its (deflated) bytes');
        }
      });
    }
  });
});
