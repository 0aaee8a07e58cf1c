import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { startTestDepot, TestDepot, TestUser } from '../helpers/depot';
import { imageApiClient } from './client';

/** The OpenStack Image API v2 under /image (issue 12), over HTTP as its clients speak it (X-Auth-Token). */
describe('Image API v2 (/image)', () => {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot();
  });
  after(async () => d?.close());

  const PATCH = 'application/openstack-images-v2.1-json-patch';
  const { call, ok, fails } = imageApiClient(() => d);
  const create = async (props: Record<string, unknown> = {}, as?: TestUser) =>
    ok(await call('POST', '/v2/images', { json: { name: `img-${randomBytes(3).toString('hex')}`, disk_format: 'raw', container_format: 'bare', ...props }, as }), 201);
  const patch = (id: string, ops: unknown, as?: TestUser) => call('PATCH', `/v2/images/${id}`, { body: JSON.stringify(ops), headers: { 'Content-Type': PATCH }, as });
  const put = (id: string, data: Buffer | Readable, headers: Record<string, string> = {}, as?: TestUser) =>
    call('PUT', `/v2/images/${id}/file`, { body: data, headers: { 'Content-Type': 'application/octet-stream', ...headers }, as });

  describe('discovery', () => {
    it('GET /image/ is 300 and /image/versions 200 with the same document, without a token; no version past 2.5', async () => {
      const root = await call('GET', '/', { as: null });
      assert.equal(root.status, 300);
      const doc = await root.json();
      const versions = await ok(await call('GET', '/versions', { as: null }));
      assert.deepEqual(doc, versions);
      assert.deepEqual(doc.versions.map((v: any) => v.id), ['v2.5', 'v2.4', 'v2.3', 'v2.2', 'v2.1', 'v2.0']);
      assert.equal(doc.versions[0].status, 'CURRENT');
      assert.equal(doc.versions[0].links[0].href, `${d.url}/image/v2/`);
      assert.deepEqual(await ok(await call('GET', '/v2', { as: null })), doc);
    });

    it('the image schema marks additional properties is_base:false and lists no stores or locations', async () => {
      const s = await ok(await call('GET', '/v2/schemas/image'));
      assert.equal(s.name, 'image');
      assert.deepEqual(s.additionalProperties, { type: 'string' });
      for (const k of ['stores', 'locations', 'direct_url']) assert.equal(s.properties[k], undefined, k);
      for (const k of ['id', 'name', 'status', 'visibility', 'checksum', 'os_hash_algo', 'os_hash_value', 'disk_format', 'min_ram', 'tags', 'os_hidden']) {
        assert.ok(s.properties[k], k);
        assert.equal(s.properties[k].is_base, undefined, k);
      }
      for (const k of ['os_distro', 'architecture', 'kernel_id', 'description']) assert.equal(s.properties[k].is_base, false, k);
      assert.ok(s.properties.disk_format.enum.includes(null) && s.properties.disk_format.enum.includes('qcow2'));
      const images = await ok(await call('GET', '/v2/schemas/images'));
      assert.deepEqual(images.properties.images.items, s);
      const member = await ok(await call('GET', '/v2/schemas/member'));
      assert.deepEqual(member.properties.status.enum, ['pending', 'accepted', 'rejected']);
      assert.deepEqual((await ok(await call('GET', '/v2/schemas/members'))).properties.members.items, member);
    });

    it('/v2/info/import lists no method; /v2/info/stores is 404 as without multi-store', async () => {
      assert.deepEqual((await ok(await call('GET', '/v2/info/import')))['import-methods'].value, []);
      await fails(await call('GET', '/v2/info/stores'), 404, /Multi backend/);
    });

    it('errors are nested JSON a glanceclient reads (401, 404, unknown route, 405), never ProblemDetails', async () => {
      const res = await call('GET', '/v2/images', { as: null });
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
      await fails(res, 401, /token/);
      await fails(await call('GET', `/v2/images/${randomUUID()}`), 404);
      await fails(await call('GET', '/v2/images/not-a-uuid'), 404);
      await fails(await call('GET', '/v2/metadefs/namespaces'), 404);
      await fails(await call('PUT', '/v2/images'), 405);
    });
  });

  describe('images', () => {
    it('POST creates a queued image: 201, Location, Glance defaults; the same id under /artifacts/images', async () => {
      const id = randomUUID();
      const res = await call('POST', '/v2/images', { json: { id, name: 'cirros', disk_format: 'qcow2', container_format: 'bare', min_ram: 64, os_distro: 'cirros', hw_disk_bus: 'scsi', tags: ['a', 'a', 'b'] } });
      const img = await ok(res, 201);
      assert.equal(res.headers.get('location'), `${d.url}/image/v2/images/${id}`);
      assert.equal(img.id, id);
      assert.equal(img.status, 'queued');
      assert.equal(img.visibility, 'shared');
      assert.equal(img.owner, d.users.alice.project);
      assert.equal(img.size, null);
      assert.equal(img.checksum, null);
      assert.equal(img.os_hash_algo, null);
      assert.equal(img.min_ram, 64);
      assert.equal(img.min_disk, 0);
      assert.equal(img.protected, false);
      assert.equal(img.os_hidden, false);
      assert.equal(img.os_distro, 'cirros');
      assert.equal(img.hw_disk_bus, 'scsi');
      assert.deepEqual(img.tags, ['a', 'b']);
      assert.match(img.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(img.self, `/v2/images/${id}`);
      assert.equal(img.file, `/v2/images/${id}/file`);
      assert.equal(img.schema, '/v2/schemas/image');
      const generic = (await (await d.request('GET', `/artifacts/images/${id}`)).json()) as any;
      assert.equal(generic.name, 'cirros');
      assert.equal(generic.os_distro, 'cirros');
      assert.deepEqual(generic.properties, { hw_disk_bus: 'scsi' });
      // Names are not unique in the Image API.
      await create({ name: 'cirros' });
      await fails(await call('POST', '/v2/images', { json: { id, name: 'again' } }), 409);
    });

    it('kernel_id and ramdisk_id are image ids here and links in the generic API', async () => {
      const kernel = await create();
      const img = await create({ kernel_id: kernel.id });
      assert.equal(img.kernel_id, kernel.id);
      const generic = (await (await d.request('GET', `/artifacts/images/${img.id}`)).json()) as any;
      assert.equal(generic.kernel_id, `/artifacts/images/${kernel.id}`);
      await fails(await call('POST', '/v2/images', { json: { ramdisk_id: '00000000-0000-4000-8000-000000000000' } }), 400, /ramdisk_id/);
      const listed = await ok(await call('GET', `/v2/images?kernel_id=${kernel.id}`));
      assert.deepEqual(listed.images.map((i: any) => i.id), [img.id]);
    });

    it('an image without a name shows name null', async () => {
      const img = await ok(await call('POST', '/v2/images', { json: {} }), 201);
      assert.equal(img.name, null);
      assert.equal((await ok(await call('GET', `/v2/images/${img.id}`))).name, null);
    });

    it('POST refuses read-only (403), reserved (403), non-string properties (400) and public by a member (403)', async () => {
      await fails(await call('POST', '/v2/images', { json: { status: 'active' } }), 403, /read-only/);
      await fails(await call('POST', '/v2/images', { json: { checksum: 'x' } }), 403, /read-only/);
      await fails(await call('POST', '/v2/images', { json: { os_glance_import_task: 'x' } }), 403, /reserved/);
      await fails(await call('POST', '/v2/images', { json: { hw_cpu_cores: 4 } }), 400, /string/);
      await fails(await call('POST', '/v2/images', { json: { disk_format: 'floppy' } }), 400, /disk_format/);
      await fails(await call('POST', '/v2/images', { json: { visibility: 'public' } }), 403);
      const pub = await create({ visibility: 'public' }, d.users.admin);
      assert.equal(pub.visibility, 'public');
      const other = await ok(await call('GET', `/v2/images/${pub.id}`, { as: d.users.bob }));
      assert.equal(other.id, pub.id);
    });

    it('PATCH: the v2.1 dialect (add overwrites; replace/remove of a missing property 409; base and read-only 403; 415)', async () => {
      const img = await create({ k1: 'v1' });
      const bad = await call('PATCH', `/v2/images/${img.id}`, { json: [] });
      assert.equal(bad.headers.get('accept-patch'), 'application/openstack-images-v2.1-json-patch, application/openstack-images-v2.0-json-patch');
      await fails(bad, 415);
      const r = await ok(await patch(img.id, [
        { op: 'add', path: '/k1', value: 'v2' }, { op: 'add', path: '/name', value: 'renamed' }, { op: 'add', path: '/min_ram', value: 128 },
        { op: 'replace', path: '/min_disk', value: 2 }, { op: 'add', path: '/k2', value: '' }, { op: 'replace', path: '/tags', value: ['x', 'y'] },
        { op: 'add', path: '/description', value: 'about' },
      ]));
      assert.equal(r.k1, 'v2');
      assert.equal(r.k2, '');
      assert.equal(r.name, 'renamed');
      assert.equal(r.min_ram, 128);
      assert.equal(r.min_disk, 2);
      assert.equal(r.description, 'about');
      assert.deepEqual(r.tags, ['x', 'y']);
      await fails(await patch(img.id, [{ op: 'replace', path: '/nope', value: 'x' }]), 409, /nope/);
      await fails(await patch(img.id, [{ op: 'remove', path: '/nope' }]), 409, /nope/);
      await fails(await patch(img.id, [{ op: 'remove', path: '/name' }]), 403);
      await fails(await patch(img.id, [{ op: 'replace', path: '/status', value: 'active' }]), 403, /read-only/);
      await fails(await patch(img.id, [{ op: 'replace', path: '/size', value: 1 }]), 403, /read-only/);
      await fails(await patch(img.id, [{ op: 'move', from: '/k1', path: '/k3' }]), 400);
      await fails(await patch(img.id, [{ op: 'add', path: '/k1/x', value: 'v' }]), 400);
      await fails(await patch(img.id, [{ op: 'replace', path: '/min_ram', value: -1 }]), 400);
      await fails(await patch(img.id, [{ op: 'replace', path: '/owner', value: d.users.bob.project }]), 403);
      await fails(await patch(img.id, { op: 'add' }), 400);
      const removed = await ok(await patch(img.id, [{ op: 'remove', path: '/k1' }, { op: 'replace', path: '/name', value: null }]));
      assert.equal(removed.k1, undefined);
      assert.equal(removed.name, null);
      // The v2.0 dialect.
      const v20 = await call('PATCH', `/v2/images/${img.id}`, { body: JSON.stringify([{ replace: '/name', value: 'old-style' }]), headers: { 'Content-Type': 'application/openstack-images-v2.0-json-patch' } });
      assert.equal((await ok(v20)).name, 'old-style');
      // Another project cannot see it at all; a reader of the project may not change it.
      await fails(await patch(img.id, [{ op: 'add', path: '/k', value: 'v' }], d.users.bob), 404);
      await fails(await patch(img.id, [{ op: 'add', path: '/k', value: 'v' }], d.users.reader), 403);
    });

    it('DELETE: 204, then 404; a protected image is 403 until unprotected', async () => {
      const img = await create({ protected: true });
      await fails(await call('DELETE', `/v2/images/${img.id}`), 403, /protected/);
      // The generic API holds the protection too.
      const generic = await d.request('DELETE', `/artifacts/images/${img.id}`);
      assert.equal(generic.status, 422);
      assert.equal(((await generic.json()) as any).findings[0].rule, 'IMAGE-PROTECTED');
      await ok(await patch(img.id, [{ op: 'replace', path: '/protected', value: false }]));
      assert.equal((await call('DELETE', `/v2/images/${img.id}`)).status, 204);
      await fails(await call('GET', `/v2/images/${img.id}`), 404);
      await fails(await call('DELETE', `/v2/images/${img.id}`), 404);
    });
  });

  describe('data', () => {
    it('upload (chunked, no size): 204, active, size, MD5 checksum and SHA-512 from the one pass; download byte-exact with hex Content-MD5', async () => {
      const img = await create();
      const data = randomBytes(300_000);
      const chunks = [data.subarray(0, 100_000), data.subarray(100_000)];
      const res = await put(img.id, Readable.from(chunks));
      assert.equal(res.status, 204, await res.text());
      const shown = await ok(await call('GET', `/v2/images/${img.id}`));
      assert.equal(shown.status, 'active');
      assert.equal(shown.size, data.length);
      assert.equal(shown.checksum, createHash('md5').update(data).digest('hex'));
      assert.equal(shown.os_hash_algo, 'sha512');
      assert.equal(shown.os_hash_value, createHash('sha512').update(data).digest('hex'));
      const dl = await call('GET', `/v2/images/${img.id}/file`);
      assert.equal(dl.status, 200);
      assert.equal(dl.headers.get('content-type'), 'application/octet-stream');
      assert.equal(dl.headers.get('content-md5'), shown.checksum);
      assert.equal(dl.headers.get('content-length'), String(data.length));
      assert.ok(Buffer.from(await dl.arrayBuffer()).equals(data));
      const part = await call('GET', `/v2/images/${img.id}/file`, { headers: { Range: 'bytes=10-19' } });
      assert.equal(part.status, 206);
      assert.equal(part.headers.get('content-range'), `bytes 10-19/${data.length}`);
      assert.ok(Buffer.from(await part.arrayBuffer()).equals(data.subarray(10, 20)));
      await fails(await put(img.id, Buffer.from('again')), 409, /active/);
    });

    it('download of an image without data is 204; upload needs octet-stream (415) and both formats (400); a zero-byte upload activates', async () => {
      const img = await ok(await call('POST', '/v2/images', { json: { name: 'no-formats' } }), 201);
      assert.equal((await call('GET', `/v2/images/${img.id}/file`)).status, 204);
      await fails(await call('PUT', `/v2/images/${img.id}/file`, { body: 'x', headers: { 'Content-Type': 'text/plain' } }), 415);
      await fails(await put(img.id, Buffer.from('x')), 400, /disk_format, container_format/);
      assert.equal((await ok(await call('GET', `/v2/images/${img.id}`))).status, 'queued');
      const empty = await create();
      assert.equal((await put(empty.id, Buffer.alloc(0))).status, 204);
      const shown = await ok(await call('GET', `/v2/images/${empty.id}`));
      assert.equal(shown.status, 'active');
      assert.equal(shown.size, 0);
      assert.equal(shown.checksum, createHash('md5').digest('hex'));
    });

    it('x-openstack-image-size is checked; a failed upload kills the image (only delete is left)', async () => {
      const img = await create();
      const res = await put(img.id, Readable.from([Buffer.alloc(10)]), { 'x-openstack-image-size': '20' });
      await fails(res, 400, /10 of 20/);
      const shown = await ok(await call('GET', `/v2/images/${img.id}`));
      assert.equal(shown.status, 'killed');
      await fails(await put(img.id, Buffer.alloc(20)), 409, /killed/);
      assert.equal((await call('DELETE', `/v2/images/${img.id}`)).status, 204);
    });

    it('deactivate/reactivate: only admins download a deactivated image; a queued image cannot be deactivated', async () => {
      const img = await create();
      assert.equal((await put(img.id, Buffer.from('bytes'))).status, 204);
      assert.equal((await call('POST', `/v2/images/${img.id}/actions/deactivate`)).status, 204);
      assert.equal((await call('POST', `/v2/images/${img.id}/actions/deactivate`)).status, 204);
      assert.equal((await ok(await call('GET', `/v2/images/${img.id}`))).status, 'deactivated');
      await fails(await call('GET', `/v2/images/${img.id}/file`), 403, /deactivated/);
      const admin = await call('GET', `/v2/images/${img.id}/file`, { as: d.users.admin });
      assert.equal(admin.status, 200);
      assert.equal(await admin.text(), 'bytes');
      assert.equal((await call('POST', `/v2/images/${img.id}/actions/reactivate`)).status, 204);
      assert.equal((await ok(await call('GET', `/v2/images/${img.id}`))).status, 'active');
      assert.equal((await call('GET', `/v2/images/${img.id}/file`)).status, 200);
      const queued = await create();
      await fails(await call('POST', `/v2/images/${queued.id}/actions/deactivate`), 403, /queued/);
      await fails(await call('POST', `/v2/images/${queued.id}/actions/reactivate`), 403, /queued/);
    });

    it('an active image keeps its properties writable, not its formats', async () => {
      const img = await create();
      assert.equal((await put(img.id, Buffer.from('x'))).status, 204);
      const r = await ok(await patch(img.id, [{ op: 'add', path: '/name', value: 'later' }, { op: 'add', path: '/os_distro', value: 'debian' }]));
      assert.equal(r.name, 'later');
      assert.equal(r.os_distro, 'debian');
      await fails(await patch(img.id, [{ op: 'replace', path: '/disk_format', value: 'qcow2' }]), 403, /queued/);
    });
  });

  describe('tags and members', () => {
    it('tags: PUT is idempotent, DELETE of an absent tag is 404', async () => {
      const img = await create();
      assert.equal((await call('PUT', `/v2/images/${img.id}/tags/t1`)).status, 204);
      assert.equal((await call('PUT', `/v2/images/${img.id}/tags/t1`)).status, 204);
      assert.deepEqual((await ok(await call('GET', `/v2/images/${img.id}`))).tags, ['t1']);
      assert.equal((await call('DELETE', `/v2/images/${img.id}/tags/t1`)).status, 204);
      await fails(await call('DELETE', `/v2/images/${img.id}/tags/t1`), 404);
    });

    it('members: pending can show but not list; accepted lists; the member answers for itself; private images have none', async () => {
      const { alice, bob } = d.users;
      const img = await create();
      await fails(await call('GET', `/v2/images/${img.id}`, { as: bob }), 404);
      const m = await ok(await call('POST', `/v2/images/${img.id}/members`, { json: { member: bob.project } }));
      assert.deepEqual([m.image_id, m.member_id, m.status, m.schema], [img.id, bob.project, 'pending', '/v2/schemas/member']);
      await fails(await call('POST', `/v2/images/${img.id}/members`, { json: { member: bob.project } }), 409);
      assert.equal((await ok(await call('GET', `/v2/images/${img.id}`, { as: bob }))).id, img.id);
      const listed = async (q = '') => (await ok(await call('GET', `/v2/images${q}`, { as: bob }))).images.map((i: any) => i.id);
      assert.ok(!(await listed()).includes(img.id));
      assert.ok((await listed('?member_status=pending')).includes(img.id));
      await fails(await call('PUT', `/v2/images/${img.id}/members/${bob.project}`, { json: { status: 'accepted' }, as: alice }), 403);
      const acc = await ok(await call('PUT', `/v2/images/${img.id}/members/${bob.project}`, { json: { status: 'accepted' }, as: bob }));
      assert.equal(acc.status, 'accepted');
      assert.ok((await listed()).includes(img.id));
      assert.ok((await listed('?visibility=shared')).includes(img.id));
      assert.equal((await ok(await call('GET', `/v2/images/${img.id}/members/${bob.project}`, { as: bob }))).status, 'accepted');
      const seenByBob = await ok(await call('GET', `/v2/images/${img.id}/members`, { as: bob }));
      assert.deepEqual(seenByBob.members.map((x: any) => x.member_id), [bob.project]);
      // A member reads, but does not change, the image.
      await fails(await patch(img.id, [{ op: 'add', path: '/k', value: 'v' }], bob), 403);
      await ok(await call('PUT', `/v2/images/${img.id}/members/${bob.project}`, { json: { status: 'rejected' }, as: bob }));
      assert.ok(!(await listed()).includes(img.id));
      assert.equal((await call('DELETE', `/v2/images/${img.id}/members/${bob.project}`)).status, 204);
      await fails(await call('GET', `/v2/images/${img.id}`, { as: bob }), 404);
      const priv = await create({ visibility: 'private' });
      await fails(await call('POST', `/v2/images/${priv.id}/members`, { json: { member: bob.project } }), 403, /shared/);
    });
  });

  describe('list', () => {
    let ids: string[];
    const tag = `set-${randomBytes(3).toString('hex')}`;
    before(async () => {
      ids = [];
      for (const [name, size] of [['b-img', 3], ['a-img', 1], ['c-img', 2]] as const) {
        const img = await create({ name: `${tag}-${name}`, tags: [tag], os_distro: name === 'a-img' ? 'alpine' : 'debian' });
        assert.equal((await put(img.id, Buffer.alloc(size))).status, 204);
        ids.push(img.id);
      }
    });
    const names = (body: any) => body.images.map((i: any) => i.name.replace(`${tag}-`, ''));

    it('filters (tag, property, name in:, size, status, os_hidden) and sorts in both styles', async () => {
      assert.deepEqual(names(await ok(await call('GET', `/v2/images?tag=${tag}&sort=name:asc`))), ['a-img', 'b-img', 'c-img']);
      assert.deepEqual(names(await ok(await call('GET', `/v2/images?tag=${tag}&sort_key=name&sort_dir=desc`))), ['c-img', 'b-img', 'a-img']);
      assert.deepEqual(names(await ok(await call('GET', `/v2/images?tag=${tag}&sort=size:asc`))), ['a-img', 'c-img', 'b-img']);
      assert.deepEqual(names(await ok(await call('GET', `/v2/images?tag=${tag}&os_distro=alpine`))), ['a-img']);
      assert.deepEqual(names(await ok(await call('GET', `/v2/images?tag=${tag}&size_min=2&sort=name:asc`))), ['b-img', 'c-img']);
      assert.deepEqual(names(await ok(await call('GET', `/v2/images?name=in:${tag}-a-img,"${tag}-c-img"&sort=name:asc`))), ['a-img', 'c-img']);
      assert.deepEqual(names(await ok(await call('GET', `/v2/images?tag=${tag}&status=queued`))), []);
      assert.equal((await ok(await call('GET', `/v2/images?tag=${tag}&status=active`))).images.length, 3);
      await ok(await patch(ids[0], [{ op: 'replace', path: '/os_hidden', value: true }]));
      assert.deepEqual(names(await ok(await call('GET', `/v2/images?tag=${tag}&sort=name:asc`))), ['a-img', 'c-img']);
      assert.deepEqual(names(await ok(await call('GET', `/v2/images?tag=${tag}&os_hidden=true`))), ['b-img']);
      await ok(await patch(ids[0], [{ op: 'replace', path: '/os_hidden', value: false }]));
      await fails(await call('GET', '/v2/images?sort=owner:asc'), 400);
      await fails(await call('GET', '/v2/images?sort=name:up'), 400);
      await fails(await call('GET', '/v2/images?sort=name&sort_key=name'), 400);
      await fails(await call('GET', '/v2/images?changes-since=2020-01-01T00:00:00Z'), 400);
      await fails(await call('GET', '/v2/images?limit=-1'), 400);
    });

    it('pages with limit and next (every query parameter kept, marker replaced); an unknown marker is 400', async () => {
      const seen: string[] = [];
      let url: string | undefined = `/v2/images?tag=${tag}&sort=name:asc&limit=2`;
      let pages = 0;
      while (url) {
        const body = await ok(await call('GET', url));
        assert.equal(body.schema, '/v2/schemas/images');
        assert.match(body.first, /^\/v2\/images\?/);
        seen.push(...names(body));
        url = body.next;
        if (url) assert.match(url, new RegExp(`tag=${tag}.*limit=2.*marker=`));
        pages++;
      }
      assert.deepEqual(seen, ['a-img', 'b-img', 'c-img']);
      assert.equal(pages, 2);
      await fails(await call('GET', `/v2/images?marker=${randomUUID()}`), 400, /marker/);
    });
  });
});
