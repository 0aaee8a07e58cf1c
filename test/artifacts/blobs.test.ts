import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { startTestDepot, TestDepot } from '../helpers/depot';
import { create, json, patch, problem, upload, uniq } from './helpers';

const hex = (alg: string, b: Buffer | string) => createHash(alg).update(b).digest('hex');

/** A body sent with chunked transfer encoding (no Content-Length). */
function chunked(...parts: Buffer[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const p of parts) c.enqueue(new Uint8Array(p));
      c.close();
    },
  });
}

function storeFiles(dataDir: string, sub: 'objects' | 'staging'): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
      if (e.isDirectory()) walk(path.join(dir, e.name));
      else out.push(e.name);
    }
  };
  walk(path.join(dataDir, 'blobs', sub));
  return out;
}

function rawPut(url: string, token: string): Promise<{ status: number; body: any }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method: 'PUT', path: url.slice(u.origin.length), headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'text/plain', 'Content-Length': 1 } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text || 'null') }));
    });
    req.on('error', reject);
    req.end('x');
  });
}

describe('blobs and folders', () => {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot({ types: { files: { maxBlobSize: '64KiB' } } });
  });
  after(async () => d?.close());

  it('PUT streams a body (Content-Length or chunked) while hashing; the artifact shows size, type and checksums', async () => {
    const a = await create(d, 'files', { name: uniq('up') });
    const data = randomBytes(40_000);
    let res = await d.request('PUT', `/artifacts/files/${a.id}/content`, { body: data, headers: { 'Content-Type': 'application/x-test' } });
    let body = await json(res);
    assert.equal(body.id, a.id);
    assert.deepEqual({ ...body.content, updated_at: undefined }, {
      url: `/artifacts/files/${a.id}/content`, status: 'active', size: 40_000, content_type: 'application/x-test',
      checksums: { sha256: hex('sha256', data) }, updated_at: undefined,
    });
    const data2 = randomBytes(50_000);
    res = await d.request('PUT', `/artifacts/files/${a.id}/content`, { body: chunked(data2.subarray(0, 1), data2.subarray(1, 30_000), data2.subarray(30_000)), headers: { 'Content-Type': 'application/octet-stream' } });
    body = await json(res);
    assert.equal(body.content.size, 50_000);
    assert.equal(body.content.checksums.sha256, hex('sha256', data2));
    const got = Buffer.from(await (await d.request('GET', `/artifacts/files/${a.id}/content`)).arrayBuffer());
    assert.ok(got.equals(data2), 're-upload replaced the content');
  });

  it('images get MD5 and SHA-512 too, sent back as Content-MD5 (base64) and X-Checksum-Sha512', async () => {
    const a = await create(d, 'images', { name: uniq('img') });
    const data = randomBytes(5000);
    const body = (await upload(d, 'images', a.id, 'image', data)).body;
    assert.deepEqual(body.image.checksums, { sha256: hex('sha256', data), md5: hex('md5', data), sha512: hex('sha512', data) });
    const res = await d.request('GET', `/artifacts/images/${a.id}/image`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-md5'), createHash('md5').update(data).digest('base64'));
    assert.equal(res.headers.get('x-checksum-sha512'), hex('sha512', data));
    assert.equal(res.headers.get('x-checksum-sha256'), hex('sha256', data));
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(data));
  });

  it('over the size limit → 413, nothing kept (declared or streamed), and the blob stays writable', async () => {
    const a = await create(d, 'files', { name: uniq('big') });
    const objectsBefore = storeFiles(d.dataDir, 'objects').length;
    const big = randomBytes(64 * 1024 + 1);
    await problem(await d.request('PUT', `/artifacts/files/${a.id}/content`, { body: big, headers: { 'Content-Type': 'application/octet-stream' } }), 413, /content.*65536/);
    await problem(await d.request('PUT', `/artifacts/files/${a.id}/content`, { body: chunked(big.subarray(0, 40_000), big.subarray(40_000)), headers: { 'Content-Type': 'application/octet-stream' } }), 413, /65536/);
    assert.equal((await json(await d.request('GET', `/artifacts/files/${a.id}`))).content, null);
    assert.equal(storeFiles(d.dataDir, 'objects').length, objectsBefore, 'no object stored');
    assert.deepEqual(storeFiles(d.dataDir, 'staging'), [], 'no staging left');
    // Exactly the limit fits.
    assert.equal((await upload(d, 'files', a.id, 'content', big.subarray(1))).status, 200);
    // A failed re-upload keeps the previous content.
    await problem(await d.request('PUT', `/artifacts/files/${a.id}/content`, { body: chunked(big), headers: { 'Content-Type': 'application/octet-stream' } }), 413);
    const cur = await json(await d.request('GET', `/artifacts/files/${a.id}`));
    assert.equal(cur.content.status, 'active');
    assert.equal(cur.content.size, 64 * 1024);
  });

  it('GET serves Range (206, suffix, 416), ETag, If-None-Match (304), If-Range, Accept-Ranges, checksum headers; HEAD', async () => {
    const a = await create(d, 'files', { name: uniq('range') });
    const data = Buffer.from('0123456789abcdefghij');
    await upload(d, 'files', a.id, 'content', data, { headers: { 'Content-Type': 'text/plain' } });
    const url = `/artifacts/files/${a.id}/content`;
    const etag = `"${hex('sha256', data)}"`;
    let res = await d.request('GET', url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('etag'), etag);
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.equal(res.headers.get('content-length'), '20');
    assert.equal(res.headers.get('content-type'), 'text/plain');
    assert.equal(res.headers.get('x-checksum-sha256'), hex('sha256', data));
    assert.equal(res.headers.get('digest'), `sha-256=${createHash('sha256').update(data).digest('base64')}`);
    assert.equal(await res.text(), data.toString());

    res = await d.request('GET', url, { headers: { Range: 'bytes=2-5' } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), 'bytes 2-5/20');
    assert.equal(res.headers.get('content-length'), '4');
    assert.equal(await res.text(), '2345');
    res = await d.request('GET', url, { headers: { Range: 'bytes=-3' } });
    assert.equal(res.status, 206);
    assert.equal(await res.text(), 'hij');
    res = await d.request('GET', url, { headers: { Range: 'bytes=15-' } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), 'bytes 15-19/20');
    assert.equal(await res.text(), 'fghij');
    res = await d.request('GET', url, { headers: { Range: 'bytes=10-100' } });
    assert.equal(res.status, 206);
    assert.equal(await res.text(), 'abcdefghij');
    res = await d.request('GET', url, { headers: { Range: 'bytes=20-' } });
    const p = await problem(res, 416);
    assert.equal(res.headers.get('content-range'), 'bytes */20');
    assert.match(p.detail, /20 bytes/);
    res = await d.request('GET', url, { headers: { 'If-None-Match': etag } });
    assert.equal(res.status, 304);
    assert.equal(await res.text(), '');
    res = await d.request('GET', url, { headers: { 'If-None-Match': '"other"' } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    res = await d.request('GET', url, { headers: { Range: 'bytes=0-0', 'If-Range': etag } });
    assert.equal(res.status, 206);
    assert.equal(await res.text(), '0');
    res = await d.request('GET', url, { headers: { Range: 'bytes=0-0', 'If-Range': '"stale"' } });
    assert.equal(res.status, 200);
    assert.equal((await res.text()).length, 20);
    res = await d.request('HEAD', url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), '20');
    assert.equal(res.headers.get('etag'), etag);
    assert.equal(await res.text(), '');
    res = await d.request('HEAD', url, { headers: { Range: 'bytes=1-2' } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), 'bytes 1-2/20');
  });

  it('download before upload → 404; other projects → 404; a zero-byte blob downloads', async () => {
    const a = await create(d, 'files', { name: uniq('dl') });
    await problem(await d.request('GET', `/artifacts/files/${a.id}/content`), 404, /no content/);
    await upload(d, 'files', a.id, 'content', 'x');
    await problem(await d.request('GET', `/artifacts/files/${a.id}/content`, { as: d.users.bob }), 404);
    await problem(await d.request('PUT', `/artifacts/files/${a.id}/content`, { as: d.users.bob, body: 'y', headers: { 'Content-Type': 'text/plain' } }), 404);
    assert.equal((await d.request('GET', `/artifacts/files/${a.id}/content`, { as: d.users.admin })).status, 200);
    const z = await create(d, 'files', { name: uniq('zero') });
    assert.equal((await upload(d, 'files', z.id, 'content', Buffer.alloc(0))).body.content.size, 0);
    const res = await d.request('GET', `/artifacts/files/${z.id}/content`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), '0');
    assert.equal(await res.text(), '');
  });

  it('folders: entries at nested paths, each one request away, listable by directory', async () => {
    const a = await create(d, 'files', { name: uniq('tree') });
    const base = `/artifacts/files/${a.id}/tree`;
    for (const [p, content] of [['a/b/c.txt', 'C'], ['a/d.txt', 'DD'], ['top.txt', 'TOP'], ['a/b/e f.txt', 'spaces']]) {
      const res = await d.request('PUT', `${base}/${p.split('/').map(encodeURIComponent).join('/')}`, { body: content, headers: { 'Content-Type': 'text/plain' } });
      assert.equal(res.status, 200, p);
    }
    const res = await d.request('GET', `${base}/a/b/c.txt`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'C');
    assert.equal(await (await d.request('GET', `${base}/a/b/e%20f.txt`)).text(), 'spaces');
    const ranged = await d.request('GET', `${base}/top.txt`, { headers: { Range: 'bytes=1-' } });
    assert.equal(ranged.status, 206);
    assert.equal(await ranged.text(), 'OP');

    const all = await json(await d.request('GET', base));
    assert.equal(all.path, '');
    assert.deepEqual(all.entries.map((e: any) => [e.path, e.size, e.url]), [
      ['a/b/c.txt', 1, `${base}/a/b/c.txt`], ['a/b/e f.txt', 6, `${base}/a/b/e%20f.txt`], ['a/d.txt', 2, `${base}/a/d.txt`], ['top.txt', 3, `${base}/top.txt`],
    ]);
    const dir = await json(await d.request('GET', `${base}/a/`));
    assert.equal(dir.path, 'a/');
    assert.deepEqual(dir.entries.map((e: any) => e.path), ['a/b/c.txt', 'a/b/e f.txt', 'a/d.txt']);
    assert.deepEqual((await json(await d.request('GET', `${base}/a/b/`))).entries.map((e: any) => e.path), ['a/b/c.txt', 'a/b/e f.txt']);
    assert.deepEqual((await json(await d.request('GET', `${base}/nothing/`))).entries, []);
    const art = await json(await d.request('GET', `/artifacts/files/${a.id}`));
    assert.deepEqual(art.tree, { url: base, count: 4, size: 12 });
    await problem(await d.request('GET', `${base}/a/missing.txt`), 404);

    // Entries are removable from a draft.
    const del = await d.request('DELETE', `${base}/a/d.txt`);
    assert.equal(del.status, 200);
    assert.deepEqual((await del.json() as any).tree, { url: base, count: 3, size: 10 });
    await problem(await d.request('GET', `${base}/a/d.txt`), 404);
  });

  it('refuses bad blob paths: unknown or non-blob field, key on a plain blob, folder without key, relative segments', async () => {
    const a = await create(d, 'files', { name: uniq('paths') });
    const put = (p: string) => d.request('PUT', `/artifacts/files/${a.id}/${p}`, { body: 'x', headers: { 'Content-Type': 'text/plain' } });
    await problem(await put('nosuch'), 400, /'nosuch' is not a blob or folder field/);
    await problem(await put('size_hint'), 400, /'size_hint' is not a blob/);
    await problem(await put('content/extra'), 400, /'content' is a blob, not a folder/);
    await problem(await put('tree'), 400, /'tree' is a folder/);
    // fetch would resolve '..' (and %2e%2e) itself: send the raw path.
    for (const raw of ['tree/a/../b', 'tree/a/%2e%2e/b', 'tree/./a', 'tree/a//b']) {
      const r = await rawPut(`${d.url}/artifacts/files/${a.id}/${raw}`, d.users.alice.token);
      assert.equal(r.status, 400, raw);
      assert.match(r.body.detail, /invalid folder path|folder/, raw);
    }
    await problem(await put('tree/a%5Cb'), 400, /invalid folder path/);
    await problem(await d.request('PUT', `/artifacts/files/${a.id}/content`, { body: Buffer.from('x') }), 400, /Content-Type/);
    await problem(await d.request('PUT', `/artifacts/files/00000000-0000-4000-8000-000000000000/content`, { body: 'x', headers: { 'Content-Type': 'text/plain' } }), 404);
    assert.equal((await json(await d.request('GET', `/artifacts/files/${a.id}`))).tree.count, 0);
  });

  it('uploads honour If-Match; blobs are removable only while drafted', async () => {
    const res = await d.request('POST', '/artifacts/files', { json: { name: uniq('bm') } });
    const a = await json(res, 201);
    const etag = res.headers.get('etag')!;
    await problem(await d.request('PUT', `/artifacts/files/${a.id}/content`, { body: 'x', headers: { 'Content-Type': 'text/plain', 'If-Match': '"stale-1"' } }), 412);
    assert.equal((await json(await d.request('GET', `/artifacts/files/${a.id}`))).content, null);
    const ok = await d.request('PUT', `/artifacts/files/${a.id}/content`, { body: 'x', headers: { 'Content-Type': 'text/plain', 'If-Match': etag } });
    assert.equal(ok.status, 200);
    assert.notEqual(ok.headers.get('etag'), etag);
    assert.equal((await patch(d, 'files', a.id, [{ op: 'replace', path: '/status', value: 'active' }])).status, 200);
    await problem(await d.request('DELETE', `/artifacts/files/${a.id}/content`), 403, /drafted/);
    assert.equal((await json(await d.request('GET', `/artifacts/files/${a.id}`))).content.size, 1);
  });

  it('store per type from config: files in the database store', async () => {
    const db = await startTestDepot({ types: { files: { store: 'database' } } });
    try {
      const a = await create(db, 'files', { name: uniq('dbstore') });
      const data = randomBytes(3 * 2 ** 20 + 5);
      const body = (await upload(db, 'files', a.id, 'content', data)).body;
      assert.equal(body.content.size, data.length);
      const [rows] = await db.depot.db.sequelize.query('SELECT store, content_key FROM blobs WHERE artifact_id = :id', { replacements: { id: a.id } });
      assert.deepEqual(rows, [{ store: 'database', content_key: hex('sha256', data) }]);
      const [objs] = await db.depot.db.sequelize.query('SELECT size FROM blob_objects WHERE key = :k', { replacements: { k: hex('sha256', data) } });
      assert.deepEqual(objs.map((o: any) => Number(o.size)), [data.length]);
      assert.deepEqual(storeFiles(db.dataDir, 'objects'), [], 'nothing in the fs store');
      const res = await db.request('GET', `/artifacts/files/${a.id}/content`, { headers: { Range: `bytes=${2 ** 20 - 2}-${2 ** 20 + 1}` } });
      assert.equal(res.status, 206);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(data.subarray(2 ** 20 - 2, 2 ** 20 + 2)));
      assert.ok(Buffer.from(await (await db.request('GET', `/artifacts/files/${a.id}/content`)).arrayBuffer()).equals(data));
    } finally {
      await db.close();
    }
  });

  it('re-upload replaces a blob without leaking the old bytes after GC; shared content survives', async () => {
    const a = await create(d, 'files', { name: uniq('regc') });
    const b = await create(d, 'files', { name: uniq('regc') });
    const old = randomBytes(1000);
    const shared = randomBytes(1000);
    const fresh = randomBytes(1000);
    await upload(d, 'files', a.id, 'content', old);
    await upload(d, 'files', b.id, 'content', shared);
    await upload(d, 'files', a.id, 'tree/x', shared);
    await upload(d, 'files', a.id, 'content', fresh);
    assert.ok(storeFiles(d.dataDir, 'objects').includes(hex('sha256', old)), 'old bytes still stored before GC');
    await problem(await d.request('POST', '/admin/gc?graceSeconds=0'), 403, /admin/);
    const gc = await json(await d.request('POST', '/admin/gc?graceSeconds=0', { as: d.users.admin }));
    assert.equal(gc.graceSeconds, 0);
    const fsReport = gc.stores.find((s: any) => s.store === 'fs');
    assert.ok(fsReport.deleted >= 1 && fsReport.freedBytes >= 1000, JSON.stringify(fsReport));
    const objects = storeFiles(d.dataDir, 'objects');
    assert.ok(!objects.includes(hex('sha256', old)), 'old bytes collected');
    assert.ok(objects.includes(hex('sha256', fresh)));
    assert.ok(objects.includes(hex('sha256', shared)), 'content referenced twice is stored once and kept');
    assert.ok(Buffer.from(await (await d.request('GET', `/artifacts/files/${a.id}/content`)).arrayBuffer()).equals(fresh));
    // Deleting one holder keeps the shared bytes; deleting both frees them.
    assert.equal((await d.request('DELETE', `/artifacts/files/${b.id}`)).status, 204);
    await json(await d.request('POST', '/admin/gc?graceSeconds=0', { as: d.users.admin }));
    assert.ok(storeFiles(d.dataDir, 'objects').includes(hex('sha256', shared)));
    assert.equal((await d.request('DELETE', `/artifacts/files/${a.id}`)).status, 204);
    await json(await d.request('POST', '/admin/gc?graceSeconds=0', { as: d.users.admin }));
    const left = storeFiles(d.dataDir, 'objects');
    assert.ok(!left.includes(hex('sha256', shared)) && !left.includes(hex('sha256', fresh)));
    // The default grace period spares young unreferenced content.
    const c = await create(d, 'files', { name: uniq('regc') });
    const young = randomBytes(100);
    await upload(d, 'files', c.id, 'content', young);
    await d.request('DELETE', `/artifacts/files/${c.id}`);
    const spared = await json(await d.request('POST', '/admin/gc', { as: d.users.admin }));
    assert.equal(spared.graceSeconds, 3600);
    assert.ok(storeFiles(d.dataDir, 'objects').includes(hex('sha256', young)));
    await problem(await d.request('POST', '/admin/gc?graceSeconds=-1', { as: d.users.admin }), 400, /graceSeconds/);
  });

  it('activation while a blob is uploading → 409; delete too; the upload then completes', async () => {
    const a = await create(d, 'files', { name: uniq('saving') });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const body = new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(new Uint8Array(1000));
        await gate;
        c.enqueue(new Uint8Array(1000));
        c.close();
      },
    });
    const pending = d.request('PUT', `/artifacts/files/${a.id}/content`, { body, headers: { 'Content-Type': 'application/octet-stream' } });
    let shown: any;
    for (let i = 0; i < 100; i++) {
      shown = await json(await d.request('GET', `/artifacts/files/${a.id}`));
      if (shown.content?.status === 'saving') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(shown.content.status, 'saving');
    assert.equal(shown.content.size, null);
    const r = await patch(d, 'files', a.id, [{ op: 'replace', path: '/status', value: 'active' }]);
    assert.equal(r.status, 409);
    await problem(await d.request('DELETE', `/artifacts/files/${a.id}`), 409, /being uploaded/);
    await problem(await d.request('GET', `/artifacts/files/${a.id}/content`), 409, /being uploaded/);
    await problem(await d.request('PUT', `/artifacts/files/${a.id}/content`, { body: 'x', headers: { 'Content-Type': 'text/plain' } }), 409, /in progress/);
    release();
    const done = await pending;
    assert.equal(done.status, 200);
    assert.equal(((await done.json()) as any).content.size, 2000);
    assert.equal((await patch(d, 'files', a.id, [{ op: 'replace', path: '/status', value: 'active' }])).status, 200);
  });
});

describe('stalled uploads', () => {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot({ uploadStaleSeconds: 1 });
  });
  after(async () => d?.close());

  const slowBody = (chunks: number, pauseMs: number, firstPauseOnly = false) => new ReadableStream<Uint8Array>({
    async start(c) {
      for (let i = 0; i < chunks; i++) {
        c.enqueue(new Uint8Array(1000).fill(i));
        if (!firstPauseOnly || i === 0) await new Promise((r) => setTimeout(r, pauseMs));
      }
      c.close();
    },
  });

  it('an upload that keeps sending outlives uploadStaleSeconds (heartbeat)', async () => {
    const a = await create(d, 'files', { name: uniq('steady') });
    const res = await d.request('PUT', `/artifacts/files/${a.id}/content`, { body: slowBody(12, 250), headers: { 'Content-Type': 'application/octet-stream' } });
    const body = await json(res);
    assert.equal(body.content.size, 12_000);
  });

  it('an upload that stalls past uploadStaleSeconds is rolled back: 409 when it finally ends, previous content intact', async () => {
    const a = await create(d, 'files', { name: uniq('stall') });
    await upload(d, 'files', a.id, 'content', 'previous');
    const res = await d.request('PUT', `/artifacts/files/${a.id}/content`, { body: slowBody(3, 3500, true), headers: { 'Content-Type': 'application/octet-stream' } });
    await problem(res, 409, /stalled longer than 1 s and was rolled back/);
    const cur = await json(await d.request('GET', `/artifacts/files/${a.id}`));
    assert.equal(cur.content.status, 'active');
    assert.equal(cur.content.size, 8);
    assert.equal(await (await d.request('GET', `/artifacts/files/${a.id}/content`)).text(), 'previous');
    const b = await create(d, 'files', { name: uniq('stall') });
    await problem(await d.request('PUT', `/artifacts/files/${b.id}/tree/x`, { body: slowBody(3, 3500, true), headers: { 'Content-Type': 'application/octet-stream' } }), 409);
    assert.deepEqual((await json(await d.request('GET', `/artifacts/files/${b.id}`))).tree.count, 0);
  });
});
