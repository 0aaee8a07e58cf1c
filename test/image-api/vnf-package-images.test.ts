import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildZip, DEFAULT_METADATA } from '../helpers/csar-builder';
import { startTestDepot, testDatabaseUrl, TestDepot, TestUser } from '../helpers/depot';
import { imageApiClient } from './client';
import { assertOnboarded, buildPackage, imageBytes, META, onboard, packageFiles, V1, vnfd } from '../vnf-package/helpers';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const sha512 = (b: Buffer) => createHash('sha512').update(b).digest('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Bytes of every object in the fs store (what onboarding wrote). */
function storedBytes(dataDir: string): number {
  const root = path.join(dataDir, 'blobs', 'objects');
  let n = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : (n += fs.statSync(path.join(d, e.name)).size);
  };
  if (fs.existsSync(root)) walk(root);
  return n;
}

/**
 * Issue 12, "Images of VNF packages": the software images of an onboarded VNF package are read-only
 * images of the package's project in the Image API, from the package's own bytes, `saving` until
 * their checksum job has run, then active; they follow the package (disabled → deactivated,
 * enabled → active, shared, published, deleted).
 */
describe('Image API: the software images of VNF packages', () => {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot({ gcIntervalSeconds: 0 });
  });
  after(async () => d?.close());

  const { call, ok, fails, settledImagesOf } = imageApiClient(() => d);
  /** The images of a package, as `as` lists them (a property filter on vnf_package_id). */
  const imagesOf = async (pkgId: string, as?: TestUser, query = '') => (await ok(await call('GET', `/v2/images?vnf_package_id=${pkgId}${query}`, { as }))).images as any[];
  const sol005 = (method: string, id: string, json?: unknown, as?: TestUser) =>
    d.request(method, `${V1}/vnf_packages/${id}`, { as, ...(json !== undefined && { json, headers: { 'Content-Type': 'application/merge-patch+json' } }) });
  const genericPatch = (type: string, id: string, ops: unknown, as?: TestUser) =>
    d.request('PATCH', `/artifacts/${type}/${id}`, { as, json: ops, headers: { 'Content-Type': 'application/json-patch+json' } });

  const IMAGE = imageBytes(3 * 2 ** 20, 12);
  let pkg: any;
  let img: any;

  before(async () => {
    pkg = await onboard(d, await buildPackage({ image: IMAGE, imageStored: true }));
    assertOnboarded(pkg);
    const listed = await settledImagesOf(pkg.id);
    assert.equal(listed.length, 1, JSON.stringify(listed));
    img = listed[0];
  });

  it('an onboarded package\'s software image is an active image of its project with the VNFD\'s formats and sizes, checksums and properties leading back', async () => {
    assert.equal(img.status, 'active');
    assert.equal(img.name, 'img');
    assert.equal(img.disk_format, 'qcow2');
    assert.equal(img.container_format, 'bare');
    assert.equal(img.min_disk, 1); // 1 GiB
    assert.equal(img.min_ram, 512); // 512 MiB
    assert.equal(img.size, IMAGE.length);
    assert.equal(img.checksum, md5(IMAGE));
    assert.equal(img.os_hash_algo, 'sha512');
    assert.equal(img.os_hash_value, sha512(IMAGE));
    assert.equal(img.owner, d.users.alice.project);
    assert.equal(img.protected, true);
    assert.equal(img.visibility, 'private');
    assert.equal(img.vnf_package_id, pkg.id);
    assert.equal(img.vnfd_id, pkg.vnfdId);
    assert.equal(img.sw_image_id, pkg.softwareImages[0].id);
    // The same image at /v2/images/{id} and in the generic API, holding the same object as the package's file.
    assert.deepEqual(await ok(await call('GET', `/v2/images/${img.id}`)), img);
    const generic = (await (await d.request('GET', `/artifacts/images/${img.id}`)).json()) as any;
    assert.equal(generic.image.checksums.sha256, sha256(IMAGE));
    assert.equal(generic.image.checksums.md5, md5(IMAGE));
    // Listed with the project's other images, filtered and sorted like them (other tests' public images share the database).
    const all = (await ok(await call('GET', `/v2/images?owner=${d.users.alice.project}&disk_format=qcow2&sort=name:asc`))).images as any[];
    assert.ok(all.some((i) => i.id === img.id));
    assert.equal((await imagesOf(pkg.id, undefined, '&status=deactivated')).length, 0);
    assert.equal((await imagesOf(pkg.id, undefined, `&sw_image_id=${img.sw_image_id}&size_min=${IMAGE.length}`)).length, 1);
    // Paged one by one beside an image of the project's own, it comes exactly once, in sort order.
    const own = await ok(await call('POST', '/v2/images', { json: { name: 'aaa-own', disk_format: 'raw', container_format: 'bare' } }), 201);
    const whole = (await ok(await call('GET', `/v2/images?owner=${d.users.alice.project}&sort=name:asc,id:asc&limit=1000`))).images.map((i: any) => i.id);
    const paged: string[] = [];
    for (let next: string | undefined = `/v2/images?owner=${d.users.alice.project}&sort=name:asc,id:asc&limit=1`; next; ) {
      const page: any = await ok(await call('GET', next));
      paged.push(...page.images.map((i: any) => i.id));
      next = page.next;
    }
    assert.deepEqual(paged, whole);
    assert.ok(whole.indexOf(own.id) < whole.indexOf(img.id), 'aaa-own sorts before img');
    assert.equal(paged.filter((id) => id === img.id).length, 1);
    assert.equal((await ok(await call('DELETE', `/v2/images/${own.id}`), 204)), undefined);
  });

  it('downloads byte-exact from the package\'s own object, with the MD5 as Content-MD5', async () => {
    const res = await call('GET', `/v2/images/${img.id}/file`);
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(res.headers.get('content-md5'), md5(IMAGE));
    assert.ok(body.equals(IMAGE));
    const range = await call('GET', `/v2/images/${img.id}/file`, { headers: { Range: 'bytes=10-19' } });
    assert.equal(range.status, 206);
    assert.ok(Buffer.from(await range.arrayBuffer()).equals(IMAGE.subarray(10, 20)));
  });

  it('is read-only: PATCH, DELETE, upload, tags, members and deactivate are 403 in the Image API, changes 403 in the generic API, for admins too', async () => {
    const patch = (as?: TestUser) => call('PATCH', `/v2/images/${img.id}`, { as, body: JSON.stringify([{ op: 'replace', path: '/name', value: 'x' }]), headers: { 'Content-Type': 'application/openstack-images-v2.1-json-patch' } });
    await fails(await patch(), 403, /read-only/);
    await fails(await patch(d.users.admin), 403, /read-only/);
    await fails(await call('DELETE', `/v2/images/${img.id}`), 403, /read-only/);
    await fails(await call('DELETE', `/v2/images/${img.id}`, { as: d.users.admin }), 403, /read-only/);
    await fails(await call('PUT', `/v2/images/${img.id}/file`, { body: Buffer.from('x'), headers: { 'Content-Type': 'application/octet-stream' } }), 403, /read-only/);
    await fails(await call('PUT', `/v2/images/${img.id}/tags/golden`), 403, /read-only/);
    await fails(await call('POST', `/v2/images/${img.id}/members`, { json: { member: d.users.bob.project } }), 403, /read-only/);
    await fails(await call('POST', `/v2/images/${img.id}/actions/deactivate`), 403, /read-only/);
    let r = await genericPatch('images', img.id, [{ op: 'replace', path: '/min_ram', value: 1 }]);
    assert.equal(r.status, 403, await r.text());
    r = await d.request('DELETE', `/artifacts/images/${img.id}`, { as: d.users.admin });
    assert.equal(r.status, 403, await r.text());
    r = await d.request('PUT', `/artifacts/images/${img.id}/image`, { body: Buffer.from('x'), headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(r.status, 403, await r.text());
    const after = await ok(await call('GET', `/v2/images/${img.id}`));
    assert.deepEqual(after, img);
  });

  it('another project sees it only when the package is shared with it (an accepted member) or public', async () => {
    const bob = d.users.bob;
    await fails(await call('GET', `/v2/images/${img.id}`, { as: bob }), 404);
    assert.equal((await imagesOf(pkg.id, bob)).length, 0);
    let r = await genericPatch('vnf_packages', pkg.id, [{ op: 'add', path: '/shared_with/-', value: bob.project }]);
    assert.equal(r.status, 200, await r.text());
    const shared = await imagesOf(pkg.id, bob);
    assert.deepEqual(shared.map((i) => i.id), [img.id]);
    assert.equal(shared[0].visibility, 'shared');
    assert.deepEqual((await ok(await call('GET', `/v2/images/${img.id}/members`, { as: bob }))).members.map((m: any) => [m.member_id, m.status]), [[bob.project, 'accepted']]);
    assert.deepEqual((await ok(await call('GET', `/v2/images?visibility=shared&vnf_package_id=${pkg.id}`, { as: bob }))).images.map((i: any) => i.id), [img.id]);
    const got = await call('GET', `/v2/images/${img.id}/file`, { as: bob });
    assert.equal(got.status, 200);
    assert.equal(md5(Buffer.from(await got.arrayBuffer())), md5(IMAGE));
    // Unshared: gone again.
    r = await genericPatch('vnf_packages', pkg.id, [{ op: 'replace', path: '/shared_with', value: [] }]);
    assert.equal(r.status, 200, await r.text());
    assert.equal((await imagesOf(pkg.id, bob)).length, 0);
    await fails(await call('GET', `/v2/images/${img.id}`, { as: bob }), 404);
    assert.equal((await ok(await call('GET', `/v2/images/${img.id}`))).visibility, 'private');
    // Published by an admin: public for everyone.
    r = await genericPatch('vnf_packages', pkg.id, [{ op: 'replace', path: '/visibility', value: 'public' }], d.users.admin);
    assert.equal(r.status, 200, await r.text());
    const pub = await imagesOf(pkg.id, bob);
    assert.deepEqual(pub.map((i) => [i.id, i.visibility]), [[img.id, 'public']]);
    r = await genericPatch('vnf_packages', pkg.id, [{ op: 'replace', path: '/visibility', value: 'private' }], d.users.admin);
    assert.equal(r.status, 200, await r.text());
    assert.equal((await imagesOf(pkg.id, bob)).length, 0);
  });

  it('disabling the package deactivates its image (data for admins only); enabling reactivates it', async () => {
    let r = await sol005('PATCH', pkg.id, { operationalState: 'DISABLED' });
    assert.equal(r.status, 200, await r.text());
    assert.equal((await ok(await call('GET', `/v2/images/${img.id}`))).status, 'deactivated');
    assert.deepEqual((await imagesOf(pkg.id, undefined, '&status=deactivated')).map((i) => i.id), [img.id]);
    await fails(await call('GET', `/v2/images/${img.id}/file`), 403, /deactivated/);
    const admin = await call('GET', `/v2/images/${img.id}/file`, { as: d.users.admin });
    assert.equal(admin.status, 200);
    assert.ok(Buffer.from(await admin.arrayBuffer()).equals(IMAGE));
    // Only through the package: reactivating the image itself is refused.
    await fails(await call('POST', `/v2/images/${img.id}/actions/reactivate`), 403, /read-only/);
    r = await sol005('PATCH', pkg.id, { operationalState: 'ENABLED' });
    assert.equal(r.status, 200, await r.text());
    assert.equal((await ok(await call('GET', `/v2/images/${img.id}`))).status, 'active');
    assert.equal((await call('GET', `/v2/images/${img.id}/file`)).status, 200);
  });

  it('two package versions with the same image: two images, one stored object; the bytes of the second are not stored again', async () => {
    const before = storedBytes(d.dataDir);
    const second = await onboard(d, await buildPackage({ image: IMAGE, imageStored: true, vnfdVersion: '2.0' }));
    assertOnboarded(second);
    assert.ok(storedBytes(d.dataDir) - before < IMAGE.length, 'the image was stored a second time');
    const [other] = await settledImagesOf(second.id);
    assert.notEqual(other.id, img.id);
    assert.equal(other.os_hash_value, img.os_hash_value);
    const res = await call('GET', `/v2/images/${other.id}/file`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(IMAGE));
  });

  it('a small (deflated) image gets its MD5 and SHA-512 too (the job reads its decompressed object)', async () => {
    const small = imageBytes(40_000, 3);
    const p = await onboard(d, await buildPackage({ image: small }));
    assertOnboarded(p);
    const [i] = await settledImagesOf(p.id);
    assert.equal(i.size, small.length);
    assert.equal(i.checksum, md5(small));
    assert.equal(i.os_hash_value, sha512(small));
    const res = await call('GET', `/v2/images/${i.id}/file`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(small));
  });

  it('an external software image (a URL, not in the package) is not listed', async () => {
    const ext = imageBytes(1000, 5);
    const entry = 'Definitions/top.yaml';
    const files = { 'TOSCA-Metadata/TOSCA.meta': META(entry, 'manifest.mf'), [entry]: vnfd({ image: ext, imageFile: 'https://images.example.com/ext.qcow2' }) };
    const zip = await buildZip(files, { manifest: { path: 'manifest.mf', metadata: { ...DEFAULT_METADATA, vnf_provider_id: 'Acme', vnf_product_name: 'Test VNF', vnf_package_version: '1.0' } } });
    const p = await onboard(d, zip);
    assertOnboarded(p);
    assert.equal(p.softwareImages.length, 1);
    assert.equal((await imagesOf(p.id)).length, 0);
  });

  it('deleting the package removes its image; the package\'s objects are not taken by the image', async () => {
    const p = await onboard(d, await buildPackage({ imageSize: 2 * 2 ** 20, imageStored: true, imageSeed: 77, vnfdVersion: '3.0' }));
    assertOnboarded(p);
    const [i] = await settledImagesOf(p.id);
    assert.ok(i);
    assert.equal((await sol005('PATCH', p.id, { operationalState: 'DISABLED' })).status, 200);
    const del = await sol005('DELETE', p.id);
    assert.equal(del.status, 204, await del.text());
    await fails(await call('GET', `/v2/images/${i.id}`), 404);
    assert.equal((await imagesOf(p.id)).length, 0);
    assert.equal((await d.request('GET', `/artifacts/images/${i.id}`)).status, 404);
    // The first package's image is unaffected.
    assert.equal((await ok(await call('GET', `/v2/images/${img.id}`))).status, 'active');
  });

  it('an image linking to a package image (kernel_id) blocks the package\'s delete as a link to the package would; an admin forces it', async () => {
    const p = await onboard(d, await buildPackage({ imageSize: 3000, imageSeed: 31, vnfdVersion: '5.0' }));
    assertOnboarded(p);
    const [i] = await settledImagesOf(p.id);
    const own = await ok(await call('POST', '/v2/images', { json: { name: 'uses-kernel', disk_format: 'raw', container_format: 'bare', kernel_id: i.id } }), 201);
    assert.equal(own.kernel_id, i.id);
    assert.equal((await sol005('PATCH', p.id, { operationalState: 'DISABLED' })).status, 200);
    const refused = await sol005('DELETE', p.id);
    assert.equal(refused.status, 409, await refused.text());
    assert.equal((await ok(await call('GET', `/v2/images/${i.id}`))).status, 'deactivated');
    const forced = await d.request('DELETE', `/artifacts/vnf_packages/${p.id}?force=true`, { as: d.users.admin });
    assert.equal(forced.status, 204, await forced.text());
    await fails(await call('GET', `/v2/images/${i.id}`), 404);
    const after = await ok(await call('GET', `/v2/images/${own.id}`));
    assert.equal(after.kernel_id, undefined, JSON.stringify(after));
  });

  it('a package image counts against no quota (the package holds its bytes): the project may still create as many images as its quota says', async () => {
    const bob = d.users.bob;
    const q = await d.request('PUT', `/quotas/${bob.project}`, { as: d.users.admin, json: [{ type_name: 'images', maxArtifacts: 1 }] });
    assert.equal(q.status, 204, await q.text());
    const p = await onboard(d, await buildPackage({ imageSize: 5000, imageSeed: 9, vnfdVersion: '4.0' }), bob);
    assertOnboarded(p);
    assert.equal((await settledImagesOf(p.id, bob)).length, 1);
    const create = () => call('POST', '/v2/images', { as: bob, json: { name: 'own', disk_format: 'raw', container_format: 'bare' } });
    await ok(await create(), 201);
    const res = await create();
    assert.equal(res.status, 403, await res.text());
  });

  describe('the checksum job (src/modules/vnf-packages/images.ts)', function () {
    /**
     * The job's lane claims under an advisory lock on its kinds (JobsRepository.claimNext): holding
     * it keeps the job queued, deterministically, while the test does what a slow job would let a
     * client do. Embedded PGlite has one session (the lock would block the test itself): skipped.
     */
    const CLAIM_LOCK = `SELECT pg_advisory_xact_lock(hashtextextended('jobs.claim:vnf_package.image_checksums', 0))`;
    let release: (() => void) | undefined;
    let held: Promise<unknown> | undefined;
    const holdClaims = async () => {
      const sequelize = d.depot.db.sequelize;
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      held = sequelize.transaction(async (t) => {
        await sequelize.query(CLAIM_LOCK, { transaction: t });
        locked();
        await new Promise<void>((r) => (release = r));
      });
      await isLocked;
    };
    const releaseClaims = async () => {
      release?.();
      await held;
      release = held = undefined;
    };
    const jobOf = async (pkgId: string) => {
      const [rows] = await d.depot.db.sequelize.query(`SELECT id, state, attempts, payload FROM jobs WHERE kind = 'vnf_package.image_checksums' AND artifact_id = :id`, { replacements: { id: pkgId } });
      assert.equal(rows.length, 1, JSON.stringify(rows));
      return rows[0] as any;
    };
    before(function () {
      if (!testDatabaseUrl()) this.skip(); // embedded PGlite: one session (see above)
    });
    afterEach(releaseClaims);

    it('the package is ONBOARDED at once, its image `saving` without checksums; a VNFD SHA-512 is reused, the job adds the MD5', async () => {
      const image = imageBytes(2 * 2 ** 20, 41);
      const spec = { image, imageStored: true, vnfdVersion: '6.0' };
      const top = (packageFiles(spec).files['Definitions/top.yaml'] as string).replace(`algorithm: sha-256\n              hash: ${sha256(image)}`, `algorithm: sha-512\n              hash: ${sha512(image)}`);
      assert.match(top, /algorithm: sha-512/);
      await holdClaims();
      const p = await onboard(d, await buildPackage({ ...spec, extra: { 'Definitions/top.yaml': top } }));
      assertOnboarded(p);
      const [saving] = await imagesOf(p.id);
      assert.equal(saving.status, 'saving');
      assert.equal(saving.checksum, null);
      assert.equal(saving.os_hash_value, null);
      assert.equal(saving.os_hash_algo, null);
      const job = await jobOf(p.id);
      assert.equal(job.state, 'queued');
      assert.deepEqual(job.payload.images, [saving.id]);
      // The VNFD's (verified) SHA-512 is already the image blob's: the job computes the MD5 alone.
      const generic = (await (await d.request('GET', `/artifacts/images/${saving.id}`)).json()) as any;
      assert.equal(generic.image.checksums.sha512, sha512(image));
      assert.equal(generic.image.checksums.md5, undefined);
      await releaseClaims();
      const [done] = await settledImagesOf(p.id);
      assert.equal(done.status, 'active');
      assert.equal(done.checksum, md5(image));
      assert.equal(done.os_hash_algo, 'sha512');
      assert.equal(done.os_hash_value, sha512(image));
      assert.equal((await jobOf(p.id)).state, 'done');
    });

    it('a package disabled before the job ends leaves its image deactivated, with its checksums; enabled, active', async () => {
      const image = imageBytes(2 * 2 ** 20, 42);
      await holdClaims();
      const p = await onboard(d, await buildPackage({ image, imageStored: true, vnfdVersion: '7.0' }));
      assertOnboarded(p);
      assert.equal((await sol005('PATCH', p.id, { operationalState: 'DISABLED' })).status, 200);
      const [still] = await imagesOf(p.id);
      assert.equal(still.status, 'saving', 'a pending image does not follow its package before its checksums');
      await releaseClaims();
      const [i] = await settledImagesOf(p.id);
      assert.equal(i.status, 'deactivated');
      assert.equal(i.checksum, md5(image));
      assert.equal(i.os_hash_value, sha512(image));
      assert.equal((await sol005('PATCH', p.id, { operationalState: 'ENABLED' })).status, 200);
      assert.equal((await ok(await call('GET', `/v2/images/${i.id}`))).status, 'active');
    });

    it('a package deleted before the job runs: the job does nothing (its image went with the package)', async () => {
      await holdClaims();
      const p = await onboard(d, await buildPackage({ imageSize: 2 * 2 ** 20, imageStored: true, imageSeed: 43, vnfdVersion: '8.0' }));
      assertOnboarded(p);
      const [i] = await imagesOf(p.id);
      assert.equal((await sol005('PATCH', p.id, { operationalState: 'DISABLED' })).status, 200);
      const del = await sol005('DELETE', p.id);
      assert.equal(del.status, 204, await del.text());
      await releaseClaims();
      await fails(await call('GET', `/v2/images/${i.id}`), 404);
      assert.equal((await d.request('GET', `/artifacts/images/${i.id}`)).status, 404);
    });

    it('restartable: a job whose worker died (lease run out) is claimed again and completes; one that gives up leaves its image killed', async () => {
      await holdClaims();
      const a = await onboard(d, await buildPackage({ imageSize: 2 * 2 ** 20, imageStored: true, imageSeed: 44, vnfdVersion: '9.0' }));
      const b = await onboard(d, await buildPackage({ imageSize: 2 * 2 ** 20, imageStored: true, imageSeed: 45, vnfdVersion: '10.0' }));
      assertOnboarded(a);
      assertOnboarded(b);
      // As a process killed while running them would leave them: running, lease expired; b on its last attempt.
      const dead = `UPDATE jobs SET state = 'running', attempts = :attempts, lease_until = now() - interval '1 second' WHERE id = :id`;
      await d.depot.db.sequelize.query(dead, { replacements: { id: (await jobOf(a.id)).id, attempts: 1 } });
      await d.depot.db.sequelize.query(dead, { replacements: { id: (await jobOf(b.id)).id, attempts: d.config.onboarding.maxAttempts } });
      await releaseClaims();
      const [ia] = await settledImagesOf(a.id);
      assert.equal(ia.status, 'active');
      assert.equal(ia.checksum, md5(imageBytes(2 * 2 ** 20, 44)));
      const ja = await jobOf(a.id);
      assert.deepEqual([ja.state, ja.attempts], ['done', 2]);
      const [ib] = await settledImagesOf(b.id);
      assert.equal(ib.status, 'killed');
      assert.equal(ib.checksum, null);
      assert.equal((await jobOf(b.id)).state, 'failed');
    });
  });
});
