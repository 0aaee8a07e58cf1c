import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startTestDepot, TestDepot } from '../helpers/depot';
import { create, json, PATCH, problem, uniq } from './helpers';

function users(): TestDepot['users'] {
  const s = randomBytes(4).toString('hex');
  const u = (user: string, project: string) => ({ token: randomBytes(20).toString('hex'), user, project: `${project}-${s}` });
  const alice = u('alice', 'qa');
  return { admin: u('admin', 'ops'), alice, alice2: { ...u('alice2', 'qa'), project: alice.project }, bob: u('bob', 'qb'), reader: { ...u('reader', 'qa'), project: alice.project } };
}

const put = (d: TestDepot, id: string, bytes: number, opts: { chunked?: boolean; field?: string } = {}) =>
  d.request('PUT', `/artifacts/files/${id}/${opts.field ?? 'content'}`, {
    body: opts.chunked ? new ReadableStream({ start(c) { c.enqueue(new Uint8Array(randomBytes(bytes))); c.close(); } }) : randomBytes(bytes),
    headers: { 'Content-Type': 'application/octet-stream' },
  });

describe('quotas and concurrency', () => {
  describe('quotas from the config file', () => {
    let d: TestDepot;
    const u = users();
    before(async () => {
      d = await startTestDepot({
        quotas: {
          [u.alice.project]: { maxArtifacts: 4, maxBytes: 1000 },
          [`${u.alice.project}:images`]: { maxArtifacts: 1 },
          [`${u.bob.project}:files`]: { maxBytes: 100 },
        },
      }, { users: u });
    });
    after(async () => d?.close());

    it('artifact count per project and per type → 403; other projects unaffected; deleting frees the quota', async () => {
      const img = await create(d, 'images', { name: uniq('q') });
      await problem(await d.request('POST', '/artifacts/images', { json: { name: uniq('q') } }), 403, /at most 1 artifacts \(type images\)/);
      const made = [img.id];
      for (let i = 0; i < 3; i++) made.push((await create(d, 'files', { name: uniq('q') })).id);
      await problem(await d.request('POST', '/artifacts/files', { json: { name: uniq('q') } }), 403, /quota exceeded.*at most 4 artifacts \(project\)/);
      await problem(await d.request('POST', '/artifacts/files', { json: { name: uniq('q') }, as: d.users.alice2 }), 403, /quota/);
      await create(d, 'files', { name: uniq('q') }, d.users.bob);
      assert.equal((await d.request('DELETE', `/artifacts/images/${img.id}`)).status, 204);
      await create(d, 'files', { name: uniq('q') });
      for (const id of made.slice(1)) assert.equal((await d.request('DELETE', `/artifacts/files/${id}`)).status, 204);
    });

    it('stored bytes per project and per type → 413 (declared or streamed), nothing kept; re-upload credits the old size', async () => {
      const a = await create(d, 'files', { name: uniq('b') }, d.users.bob);
      assert.equal((await put(d, a.id, 60)).status, 404, 'another project’s artifact');
      const res = await d.request('PUT', `/artifacts/files/${a.id}/content`, { as: d.users.bob, body: randomBytes(101), headers: { 'Content-Type': 'application/octet-stream' } });
      await problem(res, 413, /quota exceeded \(type files: 100 bytes\)/);
      assert.equal((await d.request('PUT', `/artifacts/files/${a.id}/content`, { as: d.users.bob, body: randomBytes(100), headers: { 'Content-Type': 'application/octet-stream' } })).status, 200);
      const b = await create(d, 'files', { name: uniq('b') }, d.users.bob);
      await problem(await d.request('PUT', `/artifacts/files/${b.id}/content`, { as: d.users.bob, body: randomBytes(1), headers: { 'Content-Type': 'application/octet-stream' } }), 413);
      // Replacing its own 100 bytes with 90 fits: the old content's bytes are credited.
      assert.equal((await d.request('PUT', `/artifacts/files/${a.id}/content`, { as: d.users.bob, body: randomBytes(90), headers: { 'Content-Type': 'application/octet-stream' } })).status, 200);

      const c = await create(d, 'files', { name: uniq('b') });
      assert.equal((await put(d, c.id, 600)).status, 200);
      await problem(await put(d, c.id, 500, { field: 'tree/x' }), 413, /quota exceeded \(project: 1000 bytes\).*400 available/);
      await problem(await put(d, c.id, 500, { field: 'tree/x', chunked: true }), 413, /quota exceeded/);
      const cur = await json(await d.request('GET', `/artifacts/files/${c.id}`));
      assert.deepEqual(cur.tree, { url: `/artifacts/files/${c.id}/tree`, count: 0, size: 0 });
      assert.equal((await put(d, c.id, 400, { field: 'tree/x' })).status, 200);
      const q = await json(await d.request('GET', `/quotas/${u.alice.project}`));
      assert.deepEqual(q.quotas.files, [{ scope: 'project', maxArtifacts: 4, maxBytes: 1000 }, { scope: 'type files' }]);
      await problem(await d.request('GET', `/quotas/${u.alice.project}`, { as: d.users.bob }), 403);
      assert.equal((await d.request('DELETE', `/artifacts/files/${c.id}`)).status, 204);
    });
  });

  describe('admin PUT /quotas/{project} and races', () => {
    let d: TestDepot;
    before(async () => {
      d = await startTestDepot();
    });
    after(async () => d?.close());

    it('sets per-project quotas (admin only); -1 lifts a limit', async () => {
      const project = d.users.bob.project;
      await problem(await d.request('PUT', `/quotas/${project}`, { json: [{ maxArtifacts: 1 }] }), 403, /admin/);
      assert.equal((await d.request('PUT', `/quotas/${project}`, { json: [{ maxArtifacts: 1 }, { type_name: 'files', maxBytes: 10 }], as: d.users.admin })).status, 204);
      const q = await json(await d.request('GET', `/quotas/${project}`, { as: d.users.bob }));
      assert.deepEqual(q.quotas.files, [{ scope: 'project', maxArtifacts: 1, maxBytes: undefined }, { scope: 'type files', maxArtifacts: undefined, maxBytes: 10 }].map((x) => JSON.parse(JSON.stringify(x))));
      const a = await create(d, 'files', { name: uniq('adm') }, d.users.bob);
      await problem(await d.request('POST', '/artifacts/files', { json: { name: uniq('adm') }, as: d.users.bob }), 403, /at most 1/);
      await problem(await d.request('PUT', `/artifacts/files/${a.id}/content`, { as: d.users.bob, body: randomBytes(11), headers: { 'Content-Type': 'application/octet-stream' } }), 413);
      assert.equal((await d.request('PUT', `/quotas/${project}`, { json: [{ maxArtifacts: -1 }], as: d.users.admin })).status, 204);
      await create(d, 'files', { name: uniq('adm') }, d.users.bob);
      assert.equal((await d.request('PUT', `/artifacts/files/${a.id}/content`, { as: d.users.bob, body: randomBytes(11), headers: { 'Content-Type': 'application/octet-stream' } })).status, 200);
    });

    it('parallel uploads against a byte quota: exactly the allowed number succeed, the sum never exceeds it', async () => {
      const project = d.users.alice.project;
      assert.equal((await d.request('PUT', `/quotas/${project}`, { json: [{ maxBytes: 1000 }], as: d.users.admin })).status, 204);
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push((await create(d, 'files', { name: uniq('race') })).id);
      const results = await Promise.all(ids.map((id) => put(d, id, 300)));
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 200, 200, 413, 413, 413, 413, 413, 413, 413]);
      for (const r of results) await r.arrayBuffer();
      // Chunked uploads (no Content-Length): the sum still never exceeds the quota.
      assert.equal((await d.request('PUT', `/quotas/${project}`, { json: [{ maxBytes: 2000 }], as: d.users.admin })).status, 204);
      const fresh: string[] = [];
      for (let i = 0; i < 7; i++) fresh.push((await create(d, 'files', { name: uniq('race') })).id);
      const chunked = await Promise.all(fresh.map((id) => put(d, id, 300, { chunked: true })));
      const ok = chunked.filter((r) => r.status === 200).length;

      for (const r of chunked) if (r.status !== 200) assert.equal(r.status, 413);
      assert.ok(ok >= 1 && 900 + ok * 300 <= 2000, `${ok} chunked uploads succeeded`);
      const list = await json(await d.request('GET', '/artifacts/files?limit=100'));
      const stored = list.artifacts.reduce((s: number, a: any) => s + (a.content?.size ?? 0), 0);

      assert.ok(stored <= 2000, `stored ${stored}`);
      assert.equal(stored, 900 + ok * 300);
      assert.equal((await d.request('PUT', `/quotas/${project}`, { json: [], as: d.users.admin })).status, 204);
    });

    it('parallel creates against a count quota: exactly the allowed number succeed', async () => {
      const project = d.users.alice2.project;
      const owned = `/artifacts/all?owner=${project}&limit=0`;
      const existing = (await json(await d.request('GET', owned))).total_count;
      assert.equal((await d.request('PUT', `/quotas/${project}`, { json: [{ maxArtifacts: existing + 5 }], as: d.users.admin })).status, 204);
      const results = await Promise.all(Array.from({ length: 12 }, () => d.request('POST', '/artifacts/files', { json: { name: uniq('cnt') }, as: d.users.alice2 })));
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [...Array(5).fill(201), ...Array(7).fill(403)]);
      assert.equal((await json(await d.request('GET', owned))).total_count, existing + 5);
      assert.equal((await d.request('PUT', `/quotas/${project}`, { json: [], as: d.users.admin })).status, 204);
    });

    it('parallel creates of one (name, version): exactly one wins, the others 409', async () => {
      const name = uniq('same');
      const results = await Promise.all(Array.from({ length: 8 }, () => d.request('POST', '/artifacts/files', { json: { name, version: '1.0' } })));
      assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409, 409, 409, 409, 409]);
    });

    it('parallel PATCH with one If-Match: exactly one wins, the others 412', async () => {
      const res = await d.request('POST', '/artifacts/files', { json: { name: uniq('im') } });
      const a = await json(res, 201);
      const etag = res.headers.get('etag')!;
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => d.request('PATCH', `/artifacts/files/${a.id}`, {
        json: [{ op: 'replace', path: '/description', value: `writer ${i}` }], headers: { ...PATCH, 'If-Match': etag },
      })));
      const statuses = results.map((r) => r.status);
      assert.deepEqual([...statuses].sort(), [200, 412, 412, 412, 412, 412, 412, 412]);
      const winner = statuses.indexOf(200);
      assert.equal((await json(await d.request('GET', `/artifacts/files/${a.id}`))).description, `writer ${winner}`);
    });
  });
});
