import assert from 'node:assert/strict';
import { startTestDepot, TestDepot } from '../helpers/depot';
import { create, json, PATCH, problem, uniq } from './helpers';

/** Bad input: each the right 4xx as application/problem+json naming the culprit; never a 500, never a partial write. */
describe('bad input', () => {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot();
  });
  after(async () => d?.close());

  const post = (body: string, type = 'application/json') => d.request('POST', '/artifacts/files', { body, headers: { 'Content-Type': type } });

  it('create: malformed JSON 400, wrong or missing Content-Type 415/400, non-object 400', async () => {
    await problem(await post('{"name": "x",'), 400, /malformed JSON/);
    await problem(await post(''), 400, /empty request body/);
    await problem(await post('{"name":"x"}', 'text/plain'), 415, /text\/plain.*application\/json/);
    await problem(await post('{"name":"x"}', 'application/octet-stream'), 415);
    await problem(await d.request('POST', '/artifacts/files', { body: Buffer.from('{"name":"x"}') }), 400, /Content-Type/);
    await problem(await post('[1,2]'), 400, /JSON object/);
    await problem(await post('"name"'), 400, /JSON object/);
    await problem(await post('null'), 400, /JSON object/);
    // Parameters on the media type are fine.
    assert.equal((await post(JSON.stringify({ name: uniq('ct') }), 'application/json; charset=utf-8')).status, 201);
  });

  it('create: unknown fields, missing or overlong name, overlong strings, bad types — 400 naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{ name: 'x', nosuch: 1 }, /unknown field 'nosuch'/],
      [{ name: 'x', '': 1 }, /unknown field ''/],
      [{}, /'name' is required/],
      [{ name: '' }, /'name'/],
      [{ name: '   ' }, /'name'/],
      [{ name: 'n'.repeat(256) }, /'name'.*255/],
      [{ name: 7 }, /'name'/],
      [{ name: 'x', description: 'd'.repeat(4097) }, /'description'.*4096/],
      [{ name: 'x', tags: ['t'.repeat(256)] }, /'tags.0'/],
      [{ name: 'x', tags: 'a' }, /'tags'/],
      [{ name: 'x', tags: Array.from({ length: 256 }, (_, i) => `t${i}`) }, /'tags'/],
      [{ name: 'x', metadata: { k: 'v'.repeat(256) } }, /'metadata.k'/],
      [{ name: 'x', metadata: { ['k'.repeat(256)]: 'v' } }, /'metadata'/],
      [{ name: 'x', metadata: { k: 1 } }, /'metadata.k'/],
      [{ name: 'x', size_hint: 'big' }, /'size_hint'.*integer/],
      [{ name: 'x', size_hint: 1.5 }, /'size_hint'/],
      [{ name: 'x', shared_with: 'p' }, /'shared_with'/],
      [{ name: 'x', content: {} }, /'content' is a blob/],
      [{ name: 'x', tree: {} }, /'tree' is a folder/],
      [{ name: 'x', version: '1.0.x' }, /'version'/],
    ];
    for (const [body, detail] of cases) await problem(await post(JSON.stringify(body)), 400, detail);
    await problem(await post(JSON.stringify({ name: 'x', disk_format: 'floppy' })), 400, /unknown field 'disk_format'/);
    await problem(await d.request('POST', '/artifacts/images', { json: { name: 'x', disk_format: 'floppy' } }), 400, /'disk_format'.*allowed values/);
    // Nothing was created by any of them.
    assert.equal((await json(await d.request('GET', '/artifacts/files?name=x'))).total_count, 0);
  });

  it('PATCH: wrong content type 415, malformed JSON, invalid patches and bad values 400 naming the op or field', async () => {
    const a = await create(d, 'files', { name: uniq('p'), tags: ['a'], metadata: { k: 'v' } });
    const send = (body: string, type = PATCH['Content-Type']) => d.request('PATCH', `/artifacts/files/${a.id}`, { body, headers: { 'Content-Type': type } });
    await problem(await send('[]', 'application/json'), 415, /json-patch\+json/);
    await problem(await send('[]', 'application/merge-patch+json'), 415);
    await problem(await send('[{"op":'), 400, /malformed JSON/);
    const cases: [unknown, number, RegExp][] = [
      [{ op: 'replace', path: '/description', value: 'x' }, 400, /array/],
      ['replace', 400, /array/],
      [[{ op: 'no-op', path: '/description' }], 400, /operation 0: unknown op/],
      [[{ op: 'replace', path: '/description' }], 400, /operation 0: missing value/],
      [[{ op: 'replace', value: 1 }], 400, /operation 0: missing path/],
      [[{ op: 'replace', path: '/', value: 1 }], 400, /operation 0/],
      [[{ op: 'replace', path: 'description', value: 1 }], 400, /must start with \//],
      [[{ op: 'replace', path: '/description', value: 'ok' }, { op: 'move', path: '/name' }], 400, /operation 1: missing from/],
      [[{ op: 'replace', path: '/nosuch', value: 1 }], 400, /unknown field 'nosuch'/],
      [[{ op: 'add', path: '/__proto__/x', value: 1 }], 400, /not allowed/],
      [[{ op: 'replace', path: '/tags', value: 'str' }], 400, /'tags'/],
      [[{ op: 'remove', path: '/metadata/missing' }], 400, /does not exist/],
      [[{ op: 'replace', path: '/tags/9', value: 'x' }], 400, /operation 0: path \/tags\/9 does not exist/],
      [[{ op: 'add', path: '/tags/10', value: 'x' }], 400, /out of range/],
      [[{ op: 'replace', path: '/name', value: null }], 400, /'name'/],
      [[{ op: 'replace', path: '/name', value: 'n'.repeat(256) }], 400, /'name'/],
      [[{ op: 'replace', path: '/size_hint', value: 'x' }], 400, /'size_hint'/],
      [[{ op: 'replace', path: '/content', value: null }], 400, /'content' is a blob/],
      [[{ op: 'test', path: '/description', value: 'not this' }], 409, /test failed/],
    ];
    for (const [body, status, detail] of cases) await problem(await send(JSON.stringify(body)), status, detail);
  });

  it('a patch that fails part-way writes nothing', async () => {
    const a = await create(d, 'files', { name: uniq('atomic'), description: 'before' });
    const res = await d.request('PATCH', `/artifacts/files/${a.id}`, {
      json: [{ op: 'replace', path: '/description', value: 'after' }, { op: 'add', path: '/tags/-', value: 'x' }, { op: 'replace', path: '/size_hint', value: 'nan' }],
      headers: PATCH,
    });
    await problem(res, 400, /'size_hint'/);
    const cur = await json(await d.request('GET', `/artifacts/files/${a.id}`));
    assert.equal(cur.description, 'before');
    assert.deepEqual(cur.tags, []);
    assert.equal(cur.updated_at, a.updated_at);
  });

  it('unknown routes and types 404, wrong methods 405 with Allow, bodies where none belongs 400, no token 401', async () => {
    await problem(await d.request('GET', '/nosuch'), 404, /\/nosuch/);
    await problem(await d.request('GET', '/artifacts/nosuch'), 404, /unknown artifact type 'nosuch'/);
    await problem(await d.request('POST', '/artifacts/nosuch', { json: { name: 'x' } }), 404, /nosuch/);
    await problem(await d.request('GET', '/artifacts/files/not-a-uuid'), 404);
    await problem(await d.request('GET', '/artifacts/files/00000000-0000-4000-8000-000000000000'), 404);
    await problem(await d.request('GET', '/schemas/nosuch'), 404);
    const a = await create(d, 'files', { name: uniq('m') });
    for (const [method, url, allow] of [
      ['DELETE', '/artifacts/files', ['GET', 'POST']],
      ['PUT', '/artifacts/files', ['GET', 'POST']],
      ['POST', `/artifacts/files/${a.id}`, ['GET', 'PATCH', 'DELETE']],
      ['PUT', `/artifacts/files/${a.id}`, ['GET', 'PATCH', 'DELETE']],
      ['POST', `/artifacts/files/${a.id}/content`, ['GET', 'PUT', 'DELETE']],
    ] as const) {
      const res = await d.request(method, url);
      const body = await problem(res, 405);
      const got = (res.headers.get('allow') ?? '').split(/,\s*/);
      for (const m of allow) assert.ok(got.includes(m), `${method} ${url}: Allow ${got}`);
      assert.match(body.detail, new RegExp(method));
    }
    await problem(await d.request('DELETE', `/artifacts/files/${a.id}`, { body: 'x', headers: { 'Content-Type': 'text/plain' } }), 400, /body is not expected/);
    assert.equal((await d.request('GET', `/artifacts/files/${a.id}`)).status, 200, 'not deleted');
    await problem(await d.request('GET', '/artifacts/files', { as: null as any }), 401, /token/);
    await problem(await d.request('GET', '/artifacts/files', { headers: { Authorization: 'Bearer wrong-token-0000000000' }, as: null as any }), 401, /not valid/);
  });

  it('oversized JSON bodies are 413; a quota PUT with bad values is 400', async () => {
    await problem(await post(JSON.stringify({ name: 'x', description: 'd'.repeat(2 ** 20) })), 413);
    const q = (body: unknown) => d.request('PUT', `/quotas/${d.users.alice.project}`, { json: body, as: d.users.admin });
    await problem(await q({ maxArtifacts: 1 }), 400, /array/);
    await problem(await q([{ maxArtifacts: -2 }]), 400, /maxArtifacts/);
    await problem(await q([{ maxBytes: 'lots' }]), 400, /maxBytes/);
    await problem(await q([{ type_name: 'nosuch', maxBytes: 1 }]), 400, /type_name/);
    await problem(await q([{ maxArtifact: 1 }]), 400, /unknown key maxArtifact/);
  });
});
