import assert from 'node:assert/strict';
import { startTestDepot, TestDepot } from '../helpers/depot';
import { create, json, patch, problem, upload, uniq } from './helpers';

/** The generic artifact API (issue 2): CRUD, lifecycle, immutability, versions, links, visibility, sharing, ETags. */
describe('generic artifact API', () => {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot();
  });
  after(async () => d?.close());

  describe('create, show, list, patch, delete', () => {
    it('POST creates a draft: 201, Location, ETag, defaults and owner', async () => {
      const res = await d.request('POST', '/artifacts/files', { json: { name: 'crud', version: '1.2', description: 'd', tags: ['x'], metadata: { k: 'v' }, size_hint: 7 } });
      const a = await json(res, 201);
      assert.match(a.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(res.headers.get('location'), `/artifacts/files/${a.id}`);
      assert.match(res.headers.get('etag') ?? '', /^"[^"]+"$/);
      assert.equal(a.type_name, 'files');
      assert.equal(a.name, 'crud');
      assert.equal(a.version, '1.2.0');
      assert.equal(a.owner, d.users.alice.project);
      assert.equal(a.status, 'drafted');
      assert.equal(a.visibility, 'private');
      assert.equal(a.description, 'd');
      assert.deepEqual(a.tags, ['x']);
      assert.deepEqual(a.metadata, { k: 'v' });
      assert.deepEqual(a.shared_with, []);
      assert.equal(a.size_hint, 7);
      assert.equal(a.content, null);
      assert.deepEqual(a.tree, { url: `/artifacts/files/${a.id}/tree`, count: 0, size: 0 });
      assert.equal(a.depends_on, null);
      assert.equal(a.activated_at, null);
      assert.ok(Date.parse(a.created_at) > Date.now() - 60_000);

      const shown = await d.request('GET', `/artifacts/files/${a.id}`);
      assert.deepEqual(await json(shown), a);
      assert.equal(shown.headers.get('etag'), res.headers.get('etag'));
      const minimal = await create(d, 'files', { name: 'crud-min' });
      assert.equal(minimal.version, '0.0.0');
      assert.equal(minimal.description, '');
    });

    it('PATCH applies a JSON Patch and changes the ETag; DELETE answers 204 and the artifact is gone', async () => {
      const a = await create(d, 'files', { name: 'crud-patch', tags: ['a'] });
      const before = await d.request('GET', `/artifacts/files/${a.id}`);
      const r = await patch(d, 'files', a.id, [
        { op: 'replace', path: '/description', value: 'new' },
        { op: 'add', path: '/tags/-', value: 'b' },
        { op: 'add', path: '/metadata/k1', value: 'v1' },
        { op: 'replace', path: '/size_hint', value: 42 },
      ]);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.description, 'new');
      assert.deepEqual(r.body.tags, ['a', 'b']);
      assert.deepEqual(r.body.metadata, { k1: 'v1' });
      assert.equal(r.body.size_hint, 42);
      assert.notEqual(r.res.headers.get('etag'), before.headers.get('etag'));
      assert.ok(Date.parse(r.body.updated_at) >= Date.parse(a.updated_at));

      const del = await d.request('DELETE', `/artifacts/files/${a.id}`);
      assert.equal(del.status, 204);
      assert.equal(await del.text(), '');
      await problem(await d.request('GET', `/artifacts/files/${a.id}`), 404);
      await problem(await d.request('DELETE', `/artifacts/files/${a.id}`), 404);
    });

    it('GET /artifacts/{type} lists the caller\'s artifacts in the Glare shape', async () => {
      const name = uniq('listshape');
      const a = await create(d, 'files', { name });
      const body = await json(await d.request('GET', `/artifacts/files?name=${name}`));
      assert.equal(body.type_name, 'files');
      assert.equal(body.total_count, 1);
      assert.equal(body.first, `/artifacts/files?name=${name}`);
      assert.equal(body.schema, '/schemas/files');
      assert.equal(body.next, undefined);
      assert.deepEqual(body.artifacts.map((x: any) => x.id), [a.id]);
      const empty = await json(await d.request('GET', `/artifacts/files?name=${name}`, { as: d.users.bob }));
      assert.deepEqual(empty, { type_name: 'files', artifacts: [], first: `/artifacts/files?name=${name}`, schema: '/schemas/files', total_count: 0 });
    });

    it('/artifacts/all lists and shows every type, read-only', async () => {
      const name = uniq('all');
      const f = await create(d, 'files', { name });
      const i = await create(d, 'images', { name });
      const body = await json(await d.request('GET', `/artifacts/all?name=${name}&sort=type_name:asc`));
      assert.equal(body.type_name, 'all');
      assert.equal(body.total_count, 2);
      assert.deepEqual(body.artifacts.map((x: any) => [x.type_name, x.id]), [['files', f.id], ['images', i.id]]);
      const onlyImages = await json(await d.request('GET', `/artifacts/all?name=${name}&type_name=in:images,tosca_templates`));
      assert.deepEqual(onlyImages.artifacts.map((x: any) => x.id), [i.id]);
      const shown = await json(await d.request('GET', `/artifacts/all/${i.id}`));
      assert.equal(shown.id, i.id);
      assert.equal(shown.type_name, 'images');
      await problem(await d.request('POST', '/artifacts/all', { json: { name: 'x' } }), 403);
      // Another project does not see them through the all view either.
      assert.equal((await json(await d.request('GET', `/artifacts/all?name=${name}`, { as: d.users.bob }))).total_count, 0);
      await problem(await d.request('GET', `/artifacts/all/${i.id}`, { as: d.users.bob }), 404);
      await problem(await d.request('GET', '/artifacts/all/not-a-uuid'), 404);
    });
  });

  describe('lifecycle', () => {
    it('activation needs the required fields (403 naming them), then drafted → active ⇄ deactivated', async () => {
      const img = await create(d, 'images', { name: uniq('img') });
      let r = await patch(d, 'images', img.id, [{ op: 'replace', path: '/status', value: 'active' }]);
      assert.equal(r.status, 403);
      assert.match(r.body.detail, /required field\(s\) not set: disk_format, container_format, image$/);
      assert.equal(r.res.headers.get('content-type'), 'application/problem+json');
      r = await patch(d, 'images', img.id, [{ op: 'replace', path: '/disk_format', value: 'qcow2' }, { op: 'replace', path: '/container_format', value: 'bare' }]);
      assert.equal(r.status, 200);
      r = await patch(d, 'images', img.id, [{ op: 'replace', path: '/status', value: 'active' }]);
      assert.equal(r.status, 403);
      assert.match(r.body.detail, /required field\(s\) not set: image$/);
      assert.equal((await upload(d, 'images', img.id, 'image', 'disk bytes')).status, 200);
      r = await patch(d, 'images', img.id, [{ op: 'replace', path: '/status', value: 'active' }]);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.status, 'active');
      assert.ok(Date.parse(r.body.activated_at) > Date.now() - 60_000);
      // Idempotent.
      assert.equal((await patch(d, 'images', img.id, [{ op: 'replace', path: '/status', value: 'active' }])).status, 200);

      r = await patch(d, 'images', img.id, [{ op: 'replace', path: '/status', value: 'deactivated' }]);
      assert.equal(r.status, 200);
      assert.equal(r.body.status, 'deactivated');
      // Nothing else changes while deactivated.
      r = await patch(d, 'images', img.id, [{ op: 'replace', path: '/description', value: 'x' }]);
      assert.equal(r.status, 403);
      assert.equal((await upload(d, 'images', img.id, 'image', 'other')).status, 403);
      r = await patch(d, 'images', img.id, [{ op: 'replace', path: '/status', value: 'active' }, { op: 'replace', path: '/description', value: 'back' }]);
      assert.equal(r.status, 200);
      assert.equal(r.body.status, 'active');
      assert.equal(r.body.description, 'back');
      r = await patch(d, 'images', img.id, [{ op: 'replace', path: '/status', value: 'drafted' }]);
      assert.equal(r.status, 403);
      assert.match(r.body.detail, /from active to drafted/);
    });

    it('refuses unknown and null statuses (400) and deactivating a draft (403)', async () => {
      const a = await create(d, 'files', { name: uniq('st') });
      for (const value of ['deleted', 'deleting', null, 1]) {
        const r = await patch(d, 'files', a.id, [{ op: 'replace', path: '/status', value }]);
        assert.equal(r.status, 400, `${value}: ${JSON.stringify(r.body)}`);
        assert.match(r.body.detail, /status/);
      }
      const r = await patch(d, 'files', a.id, [{ op: 'replace', path: '/status', value: 'deactivated' }]);
      assert.equal(r.status, 403);
      assert.equal((await json(await d.request('GET', `/artifacts/files/${a.id}`))).status, 'drafted');
    });

    it('an active artifact is immutable except its mutable fields', async () => {
      const a = await create(d, 'files', { name: uniq('imm'), metadata: { a: '1' } });
      assert.equal((await upload(d, 'files', a.id, 'content', 'c')).status, 200);
      assert.equal((await patch(d, 'files', a.id, [{ op: 'replace', path: '/status', value: 'active' }])).status, 200);
      for (const [path, value] of [['/name', 'renamed'], ['/version', '9.9.9'], ['/size_hint', 3], ['/metadata/b', '2']] as const) {
        const r = await patch(d, 'files', a.id, [{ op: path === '/metadata/b' ? 'add' : 'replace', path, value }]);
        assert.equal(r.status, 403, path);
        assert.match(r.body.detail, new RegExp(`'${path.split('/')[1]}' is immutable`));
      }
      assert.equal((await upload(d, 'files', a.id, 'content', 'new bytes')).status, 403);
      const r = await patch(d, 'files', a.id, [
        { op: 'replace', path: '/description', value: 'still editable' },
        { op: 'add', path: '/tags/-', value: 't' },
        { op: 'add', path: '/shared_with/-', value: d.users.bob.project },
      ]);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.description, 'still editable');
      const cur = await json(await d.request('GET', `/artifacts/files/${a.id}`));
      assert.equal(cur.name, a.name);
      assert.deepEqual(cur.metadata, { a: '1' });
    });

    it('system fields are never writable: 403 at create and in PATCH', async () => {
      for (const f of ['id', 'owner', 'created_at', 'updated_at', 'activated_at', 'type_name']) {
        const res = await d.request('POST', '/artifacts/files', { json: { name: 'sys', [f]: f === 'id' ? '00000000-0000-4000-8000-000000000000' : 'x' } });
        await problem(res, 403, new RegExp(`'${f}'`));
      }
      const a = await create(d, 'files', { name: uniq('sys') });
      for (const f of ['id', 'owner', 'created_at', 'updated_at', 'activated_at', 'type_name']) {
        const r = await patch(d, 'files', a.id, [{ op: 'replace', path: `/${f}`, value: 'x' }]);
        assert.equal(r.status, 403, f);
        assert.match(r.body.detail, new RegExp(`'${f}' is read-only`));
      }
      const admin = await patch(d, 'files', a.id, [{ op: 'replace', path: '/owner', value: 'elsewhere' }], { as: d.users.admin });
      assert.equal(admin.status, 403);
      assert.equal((await json(await d.request('GET', `/artifacts/files/${a.id}`))).owner, d.users.alice.project);
      // status and visibility are changed with PATCH only.
      await problem(await d.request('POST', '/artifacts/files', { json: { name: 'x', status: 'active' } }), 400, /'status'/);
      await problem(await d.request('POST', '/artifacts/files', { json: { name: 'x', visibility: 'public' } }), 400, /'visibility'/);
    });
  });

  describe('versions', () => {
    it('reads versions leniently and normalises them', async () => {
      const name = uniq('ver');
      for (const [input, out] of [['1', '1.0.0'], ['1.1', '1.1.0'], [2, '2.0.0'], [2.5, '2.5.0'], ['3.0.1-beta.2', '3.0.1-beta.2'], ['v4.0.0', '4.0.0'], ['5.0.0+build.7', '5.0.0+build.7']] as const) {
        assert.equal((await create(d, 'files', { name, version: input })).version, out, String(input));
      }
    });

    it('rejects bad versions with 400 naming the field', async () => {
      for (const v of ['dummy', '', '-1', ':', '1.2.3.4', 'x'.repeat(256), '1.0.0-01', true, {}]) {
        await problem(await d.request('POST', '/artifacts/files', { json: { name: 'badver', version: v } }), 400, /version/);
      }
      const a = await create(d, 'files', { name: uniq('badver') });
      const r = await patch(d, 'files', a.id, [{ op: 'replace', path: '/version', value: 'nope' }]);
      assert.equal(r.status, 400);
      assert.match(r.body.detail, /'version'/);
    });

    it('(type, name, version) is unique per owner: 409, also for equivalent spellings; other projects and types may reuse it', async () => {
      const name = uniq('dup');
      await create(d, 'files', { name, version: '1.0.0' });
      await problem(await d.request('POST', '/artifacts/files', { json: { name, version: '1.0' } }), 409);
      await problem(await d.request('POST', '/artifacts/files', { json: { name, version: '1.0.0+other-build' } }), 409);
      await problem(await d.request('POST', '/artifacts/files', { json: { name, version: '1' }, as: d.users.alice2 }), 409);
      await create(d, 'files', { name, version: '1.0.0' }, d.users.bob);
      await create(d, 'images', { name, version: '1.0.0' });
      // Renaming into a clash is 409 too; the clash disappears when the other is deleted.
      const b = await create(d, 'files', { name, version: '2.0' });
      const r = await patch(d, 'files', b.id, [{ op: 'replace', path: '/version', value: '1.0.0' }]);
      assert.equal(r.status, 409);
      assert.equal(r.res.headers.get('content-type'), 'application/problem+json');
      const list = await json(await d.request('GET', `/artifacts/files?name=${name}&version=1.0.0`));
      assert.equal(list.total_count, 1);
      assert.equal((await d.request('DELETE', `/artifacts/files/${list.artifacts[0].id}`)).status, 204);
      assert.equal((await patch(d, 'files', b.id, [{ op: 'replace', path: '/version', value: '1.0.0' }])).status, 200);
    });

    it('version=latest keeps the highest SemVer per name; version ranges filter by precedence', async () => {
      const x = uniq('lx');
      const y = uniq('ly');
      for (const v of ['1.0.0', '2.0.0-rc.1', '2.0.0', '10.0.0', '9.1.0', '10.0.0-alpha']) await create(d, 'files', { name: x, version: v, tags: [x] });
      await create(d, 'files', { name: y, version: '0.1', tags: [x] });
      const latest = await json(await d.request('GET', `/artifacts/files?tags=${x}&version=latest&sort=name:asc`));
      assert.deepEqual(latest.artifacts.map((a: any) => [a.name, a.version]), [[x, '10.0.0'], [y, '0.1.0']]);
      assert.equal(latest.total_count, 2);
      const range = await json(await d.request('GET', `/artifacts/files?name=${x}&version=gte:2.0.0-rc.1&version=lt:10.0.0&sort=version:asc`));
      assert.deepEqual(range.artifacts.map((a: any) => a.version), ['2.0.0-rc.1', '2.0.0', '9.1.0', '10.0.0-alpha']);
      const desc = await json(await d.request('GET', `/artifacts/files?name=${x}&sort=version:desc`));
      assert.deepEqual(desc.artifacts.map((a: any) => a.version), ['10.0.0', '10.0.0-alpha', '9.1.0', '2.0.0', '2.0.0-rc.1', '1.0.0']);
      // latest within a filtered subset.
      const sub = await json(await d.request('GET', `/artifacts/files?name=${x}&version=lt:3&version=latest`));
      assert.deepEqual(sub.artifacts.map((a: any) => a.version), ['2.0.0']);
      const eq = await json(await d.request('GET', `/artifacts/files?name=${x}&version=in:1,2.0`));
      assert.deepEqual(eq.artifacts.map((a: any) => a.version).sort(), ['1.0.0', '2.0.0']);
      await problem(await d.request('GET', `/artifacts/files?version=gt:banana`), 400, /version/);
    });
  });

  describe('query language', () => {
    const tag = uniq('q');
    const ids: Record<string, string> = {};
    before(async () => {
      const rows = [
        { name: `${tag}-alpha`, version: '1.0', size_hint: 10, tags: [tag, 'red', 'big'], metadata: { os: 'linux', arch: 'x86' } },
        { name: `${tag}-beta`, version: '2.0', size_hint: 20, tags: [tag, 'blue'], metadata: { os: 'windows' } },
        { name: `${tag}-gamma`, version: '3.0', size_hint: 30, tags: [tag, 'red'], metadata: { arch: 'arm' } },
        { name: `${tag}-delta`, version: '4.0', size_hint: 40, tags: [tag, 'green', 'big'], metadata: {} },
        { name: `${tag}-a,b`, version: '5.0', size_hint: 50, tags: [tag], metadata: {} },
      ];
      for (const r of rows) ids[r.name.slice(tag.length + 1)] = (await create(d, 'files', r)).id;
    });
    const names = async (q: string): Promise<string[]> => {
      const body = await json(await d.request('GET', `/artifacts/files?tags=${tag}&${q}`));
      return body.artifacts.map((a: any) => a.name.slice(tag.length + 1));
    };

    it('eq (default), neq, in (with quoted commas), like', async () => {
      assert.deepEqual(await names(`name=${tag}-beta`), ['beta']);
      assert.deepEqual(await names(`name=eq:${tag}-beta`), ['beta']);
      assert.deepEqual(await names(`name=neq:${tag}-beta&sort=name:asc`), ['a,b', 'alpha', 'delta', 'gamma']);
      assert.deepEqual(await names(`name=in:${tag}-beta,${tag}-gamma&sort=name:asc`), ['beta', 'gamma']);
      assert.deepEqual(await names(`name=in:"${tag}-a,b",${tag}-delta&sort=name:asc`), ['a,b', 'delta']);
      assert.deepEqual(await names(`name=like:${tag}-_e%25&sort=name:asc`), ['beta', 'delta']);
    });

    it('gt, gte, lt, lte on numbers; or: combiner forms one OR group', async () => {
      assert.deepEqual(await names('size_hint=gt:20&sort=size_hint:asc'), ['gamma', 'delta', 'a,b']);
      assert.deepEqual(await names('size_hint=gte:20&size_hint=lte:30&sort=size_hint:asc'), ['beta', 'gamma']);
      assert.deepEqual(await names('size_hint=lt:20'), ['alpha']);
      assert.deepEqual(await names(`size_hint=or:lt:15&name=or:${tag}-delta&sort=size_hint:desc`), ['delta', 'alpha']);
    });

    it('tags (all of) and tags-any (any of); no operator allowed', async () => {
      assert.deepEqual(await names('tags=red,big'), ['alpha']);
      assert.deepEqual(await names('tags-any=blue,green&sort=name:asc'), ['beta', 'delta']);
      await problem(await d.request('GET', '/artifacts/files?tags=eq:red'), 400, /tags/);
    });

    it('dict keys and values: metadata=key, metadata.key=value', async () => {
      assert.deepEqual(await names('metadata=arch&sort=name:asc'), ['alpha', 'gamma']);
      assert.deepEqual(await names('metadata=in:os,arch&sort=name:asc'), ['alpha', 'beta', 'gamma']);
      assert.deepEqual(await names('metadata.os=linux'), ['alpha']);
      assert.deepEqual(await names('metadata.os=neq:linux'), ['beta']);
      await problem(await d.request('GET', '/artifacts/files?metadata=neq:os'), 400, /metadata/);
      await problem(await d.request('GET', '/artifacts/files?size_hint.x=1'), 400, /not a dict/);
    });

    it('sort=key:dir[,key:dir] with desc as default', async () => {
      assert.deepEqual(await names('sort=size_hint'), ['a,b', 'delta', 'gamma', 'beta', 'alpha']);
      assert.deepEqual(await names('sort=name:desc'), ['gamma', 'delta', 'beta', 'alpha', 'a,b']);
      assert.deepEqual(await names('tags-any=big,blue&sort=version:asc'), ['alpha', 'beta', 'delta']);
    });

    it('limit/marker keyset paging with next and total_count', async () => {
      const seen: string[] = [];
      let url: string | undefined = `/artifacts/files?tags=${tag}&sort=size_hint:asc&limit=2`;
      let pages = 0;
      while (url) {
        const body = await json(await d.request('GET', url));
        assert.equal(body.total_count, 5);
        assert.equal(body.first, `/artifacts/files?tags=${tag}&sort=size_hint%3Aasc&limit=2`);
        seen.push(...body.artifacts.map((a: any) => a.name.slice(tag.length + 1)));
        if (body.next) assert.match(body.next, /&marker=[0-9a-f-]{36}$/);
        url = body.next;
        if (++pages > 5) break;
      }
      assert.deepEqual(seen, ['alpha', 'beta', 'gamma', 'delta', 'a,b']);
      assert.equal(pages, 3);
      const zero = await json(await d.request('GET', `/artifacts/files?tags=${tag}&limit=0`));
      assert.deepEqual(zero.artifacts, []);
      assert.equal(zero.total_count, 5);
      await problem(await d.request('GET', `/artifacts/files?marker=${ids.alpha}`, { as: d.users.bob }), 404, /marker/);
    });

    it('keyset paging over a sort key that may be null loses and repeats nothing', async () => {
      const t = uniq('nulls');
      const sizes = [3, null, 1, null, 2];
      const made: string[] = [];
      for (const [i, size_hint] of sizes.entries()) made.push((await create(d, 'files', { name: `${t}-${i}`, tags: [t], size_hint })).id);
      for (const dir of ['asc', 'desc']) {
        const seen: string[] = [];
        let url: string | undefined = `/artifacts/files?tags=${t}&sort=size_hint:${dir}&limit=1`;
        for (let i = 0; url && i < 10; i++) {
          const body = await json(await d.request('GET', url));
          seen.push(...body.artifacts.map((a: any) => a.id));
          url = body.next;
        }
        assert.equal(seen.length, 5, `${dir}: ${seen.length} of 5 artifacts seen across pages`);
        assert.deepEqual([...seen].sort(), [...made].sort());
        const whole = (await json(await d.request('GET', `/artifacts/files?tags=${t}&sort=size_hint:${dir}`))).artifacts.map((a: any) => a.id);
        assert.deepEqual(seen, whole, `${dir}: pages follow the order of the whole list`);
      }
    });

    it('bad queries are 400 naming the parameter', async () => {
      await problem(await d.request('GET', '/artifacts/files?nosuch=1'), 400, /nosuch/);
      await problem(await d.request('GET', '/artifacts/files?name=gt:a'), 400, /operator gt/);
      await problem(await d.request('GET', '/artifacts/files?name=bla:x'), 400, /unknown operator 'bla'/);
      await problem(await d.request('GET', '/artifacts/files?size_hint=abc'), 400, /size_hint/);
      await problem(await d.request('GET', '/artifacts/files?sort=tags:asc'), 400, /not sortable/);
      await problem(await d.request('GET', '/artifacts/files?sort=name:up'), 400, /direction/);
      await problem(await d.request('GET', '/artifacts/files?sort=nosuch'), 400, /unknown field 'nosuch'/);
      await problem(await d.request('GET', '/artifacts/files?limit=-1'), 400, /limit/);
      await problem(await d.request('GET', '/artifacts/files?limit=x'), 400, /limit/);
      await problem(await d.request('GET', '/artifacts/files?marker=zzz'), 400, /marker/);
      await problem(await d.request('GET', '/artifacts/files?description=x'), 400, /description/);
      await problem(await d.request('GET', '/artifacts/files?visibility=blabla'), 400, /visibility/);
      await problem(await d.request('GET', '/artifacts/files?name=in:"a'), 400, /quote/);
    });
  });

  describe('links', () => {
    it('links must point at visible artifacts; linked-from lists the sources; deleting a target is 409 unless an admin forces it', async () => {
      const target = await create(d, 'files', { name: uniq('target') });
      const other = await create(d, 'files', { name: uniq('other') });
      const src = await create(d, 'files', { name: uniq('src'), depends_on: `/artifacts/files/${target.id}`, links: { a: `/artifacts/files/${target.id}`, b: `/artifacts/files/${other.id}` } });
      assert.equal(src.depends_on, `/artifacts/files/${target.id}`);
      const lf = await json(await d.request('GET', `/artifacts/files/${target.id}/linked-from`));
      assert.deepEqual(lf.linked_from.map((l: any) => [l.id, l.type_name, l.field, l.key]).sort(), [[src.id, 'files', 'depends_on', ''], [src.id, 'files', 'links', 'a']]);

      const refused = await problem(await d.request('DELETE', `/artifacts/files/${target.id}`), 409, new RegExp(`linked from .*${src.id}`));
      assert.equal(refused.linkedFrom.length, 2);
      await problem(await d.request('DELETE', `/artifacts/files/${target.id}?force=true`), 409, /admin/);
      assert.equal((await d.request('GET', `/artifacts/files/${target.id}`)).status, 200);

      assert.equal((await d.request('DELETE', `/artifacts/files/${target.id}?force=true`, { as: d.users.admin })).status, 204);
      const after = await json(await d.request('GET', `/artifacts/files/${src.id}`));
      assert.equal(after.depends_on, null);
      assert.deepEqual(after.links, { b: `/artifacts/files/${other.id}` });
      assert.deepEqual((await json(await d.request('GET', `/artifacts/files/${other.id}/linked-from`))).linked_from.map((l: any) => l.key), ['b']);

      // Unlinking (null / remove) frees the target.
      assert.equal((await patch(d, 'files', src.id, [{ op: 'remove', path: '/links/b' }])).status, 200);
      assert.equal((await d.request('DELETE', `/artifacts/files/${other.id}`)).status, 204);
    });

    it('refuses links to missing, invisible or malformed targets (400)', async () => {
      const bobs = await create(d, 'files', { name: uniq('bobs') }, d.users.bob);
      await problem(await d.request('POST', '/artifacts/files', { json: { name: 'l', depends_on: `/artifacts/files/${bobs.id}` } }), 400, /depends_on.*does not exist or is not visible/);
      await problem(await d.request('POST', '/artifacts/files', { json: { name: 'l', depends_on: '/artifacts/files/00000000-0000-4000-8000-000000000000' } }), 400, /depends_on/);
      await problem(await d.request('POST', '/artifacts/files', { json: { name: 'l', depends_on: 'Invalid' } }), 400, /depends_on/);
      await problem(await d.request('POST', '/artifacts/files', { json: { name: 'l', links: { x: 'http://example.com/a' } } }), 400, /links/);
      const a = await create(d, 'files', { name: uniq('self') });
      const r = await patch(d, 'files', a.id, [{ op: 'replace', path: '/depends_on', value: `/artifacts/files/${a.id}` }]);
      assert.equal(r.status, 400);
    });
  });

  describe('visibility and sharing', () => {
    it('private artifacts are invisible to other projects (404); publishing is admin-only and needs active', async () => {
      const a = await create(d, 'files', { name: uniq('pub') });
      await problem(await d.request('GET', `/artifacts/files/${a.id}`, { as: d.users.bob }), 404);
      await problem(await d.request('DELETE', `/artifacts/files/${a.id}`, { as: d.users.bob }), 404);
      assert.equal((await patch(d, 'files', a.id, [{ op: 'replace', path: '/description', value: 'x' }], { as: d.users.bob })).status, 404);
      let r = await patch(d, 'files', a.id, [{ op: 'replace', path: '/visibility', value: 'public' }], { as: d.users.admin });
      assert.equal(r.status, 403);
      assert.match(r.body.detail, /active/);
      assert.equal((await patch(d, 'files', a.id, [{ op: 'replace', path: '/status', value: 'active' }])).status, 200);
      r = await patch(d, 'files', a.id, [{ op: 'replace', path: '/visibility', value: 'public' }]);
      assert.equal(r.status, 403);
      assert.match(r.body.detail, /admin/);
      r = await patch(d, 'files', a.id, [{ op: 'replace', path: '/visibility', value: 'public' }], { as: d.users.admin });
      assert.equal(r.status, 200);
      assert.equal(r.body.visibility, 'public');
      assert.equal((await json(await d.request('GET', `/artifacts/files/${a.id}`, { as: d.users.bob }))).id, a.id);
      assert.equal((await json(await d.request('GET', `/artifacts/files?name=${a.name}`, { as: d.users.bob }))).total_count, 1);
      // Visible but not writable: 403 for other projects and for the owner; the admin may.
      assert.equal((await patch(d, 'files', a.id, [{ op: 'replace', path: '/description', value: 'x' }], { as: d.users.bob })).status, 403);
      assert.equal((await patch(d, 'files', a.id, [{ op: 'replace', path: '/description', value: 'x' }])).status, 403);
      await problem(await d.request('DELETE', `/artifacts/files/${a.id}`, { as: d.users.bob }), 403);
      await problem(await d.request('DELETE', `/artifacts/files/${a.id}`), 403);
      assert.equal((await patch(d, 'files', a.id, [{ op: 'replace', path: '/description', value: 'by admin' }], { as: d.users.admin })).status, 200);
      r = await patch(d, 'files', a.id, [{ op: 'replace', path: '/visibility', value: 'bogus' }], { as: d.users.admin });
      assert.equal(r.status, 400);
      assert.equal((await d.request('DELETE', `/artifacts/files/${a.id}`, { as: d.users.admin })).status, 204);
    });

    it('public (type, name, version) is unique across projects', async () => {
      const name = uniq('pubdup');
      const mine = await create(d, 'files', { name, version: '1' });
      const bobs = await create(d, 'files', { name, version: '1' }, d.users.bob);
      for (const [a, as] of [[mine, d.users.alice], [bobs, d.users.bob]] as const) {
        assert.equal((await patch(d, 'files', a.id, [{ op: 'replace', path: '/status', value: 'active' }], { as })).status, 200);
      }
      assert.equal((await patch(d, 'files', mine.id, [{ op: 'replace', path: '/visibility', value: 'public' }], { as: d.users.admin })).status, 200);
      const r = await patch(d, 'files', bobs.id, [{ op: 'replace', path: '/visibility', value: 'public' }], { as: d.users.admin });
      assert.equal(r.status, 409);
    });

    it('shared_with lets named projects read, not write; the owner patches it; readers of the owner project read only', async () => {
      const a = await create(d, 'files', { name: uniq('share'), shared_with: [d.users.bob.project] });
      assert.deepEqual(a.shared_with, [d.users.bob.project]);
      assert.equal((await upload(d, 'files', a.id, 'content', 'shared bytes')).status, 200);
      assert.equal((await json(await d.request('GET', `/artifacts/files/${a.id}`, { as: d.users.bob }))).id, a.id);
      assert.equal((await json(await d.request('GET', `/artifacts/files?name=${a.name}`, { as: d.users.bob }))).total_count, 1);
      assert.equal(await (await d.request('GET', `/artifacts/files/${a.id}/content`, { as: d.users.bob })).text(), 'shared bytes');
      assert.equal((await patch(d, 'files', a.id, [{ op: 'replace', path: '/description', value: 'x' }], { as: d.users.bob })).status, 403);
      assert.equal((await patch(d, 'files', a.id, [{ op: 'replace', path: '/shared_with', value: [] }], { as: d.users.bob })).status, 403);
      assert.equal((await upload(d, 'files', a.id, 'content', 'evil', { as: d.users.bob })).status, 403);
      await problem(await d.request('DELETE', `/artifacts/files/${a.id}`, { as: d.users.bob }), 403);

      // Same project, reader role: reads, never writes or creates.
      assert.equal((await d.request('GET', `/artifacts/files/${a.id}`, { as: d.users.reader })).status, 200);
      assert.equal((await patch(d, 'files', a.id, [{ op: 'replace', path: '/description', value: 'x' }], { as: d.users.reader })).status, 403);
      await problem(await d.request('POST', '/artifacts/files', { json: { name: 'r' }, as: d.users.reader }), 403);
      // Same project, member: writes.
      assert.equal((await patch(d, 'files', a.id, [{ op: 'replace', path: '/description', value: 'alice2' }], { as: d.users.alice2 })).status, 200);

      const r = await patch(d, 'files', a.id, [{ op: 'remove', path: '/shared_with/0' }]);
      assert.equal(r.status, 200);
      assert.deepEqual(r.body.shared_with, []);
      await problem(await d.request('GET', `/artifacts/files/${a.id}`, { as: d.users.bob }), 404);
      assert.equal((await d.request('GET', `/artifacts/files/${a.id}/content`, { as: d.users.bob })).status, 404);
    });
  });

  describe('optimistic concurrency', () => {
    it('PATCH and DELETE honour If-Match: 412 on a stale ETag, success on the current one', async () => {
      const res = await d.request('POST', '/artifacts/files', { json: { name: uniq('etag') } });
      const a = await json(res, 201);
      const e1 = res.headers.get('etag')!;
      const ok = await patch(d, 'files', a.id, [{ op: 'replace', path: '/description', value: '1' }], { headers: { 'If-Match': e1 } });
      assert.equal(ok.status, 200);
      const e2 = ok.res.headers.get('etag')!;
      assert.notEqual(e2, e1);
      const stale = await patch(d, 'files', a.id, [{ op: 'replace', path: '/description', value: '2' }], { headers: { 'If-Match': e1 } });
      assert.equal(stale.status, 412);
      assert.equal(stale.res.headers.get('content-type'), 'application/problem+json');
      assert.equal((await json(await d.request('GET', `/artifacts/files/${a.id}`))).description, '1');
      assert.equal((await patch(d, 'files', a.id, [{ op: 'replace', path: '/description', value: '3' }], { headers: { 'If-Match': '*' } })).status, 200);
      const e3 = (await d.request('GET', `/artifacts/files/${a.id}`)).headers.get('etag')!;
      await problem(await d.request('DELETE', `/artifacts/files/${a.id}`, { headers: { 'If-Match': e2 } }), 412);
      // An upload changes the ETag too.
      assert.equal((await upload(d, 'files', a.id, 'content', 'x')).status, 200);
      await problem(await d.request('DELETE', `/artifacts/files/${a.id}`, { headers: { 'If-Match': e3 } }), 412);
      const e4 = (await d.request('GET', `/artifacts/files/${a.id}`)).headers.get('etag')!;
      assert.equal((await d.request('DELETE', `/artifacts/files/${a.id}`, { headers: { 'If-Match': e4 } })).status, 204);
    });
  });
});
