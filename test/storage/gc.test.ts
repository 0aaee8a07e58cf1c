import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { JobsRepository } from '../../src/db/repositories/jobs';
import { startTestDepot, testDatabaseUrl } from '../helpers/depot';

const ROOT = path.resolve(__dirname, '../..');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function objects(dataDir: string): string[] {
  const walk = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [e.name])) : []);
  return walk(path.join(dataDir, 'blobs', 'objects'));
}

/** `depot gc` as a separate process (bin/depot), on the data directory a stopped Depot left. */
describe('depot gc command', function () {
  this.timeout(120_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-gc-'));
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  const gc = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/depot'), 'gc', ...args], {
    cwd: os.tmpdir(), // bin/depot must work from anywhere
    encoding: 'utf8',
    env: { ...process.env, DEPOT_DATA_DIR: dataDir, DEPOT_DATABASE_URL: testDatabaseUrl() ?? '', DEPOT_LOG_LEVEL: 'warn' },
  });

  it('removes unreferenced content, keeps referenced and young content, reports per store', async () => {
    const d = await startTestDepot({}, { dataDir });
    const kept = randomBytes(2000);
    const dropped = randomBytes(3000);
    try {
      const mk = async (data: Buffer) => {
        const a: any = await (await d.request('POST', '/artifacts/files', { json: { name: `gc-${randomBytes(3).toString('hex')}` } })).json();
        assert.equal((await d.request('PUT', `/artifacts/files/${a.id}/content`, { body: data, headers: { 'Content-Type': 'application/octet-stream' } })).status, 200);
        return a.id as string;
      };
      await mk(kept);
      const gone = await mk(dropped);
      assert.equal((await d.request('DELETE', `/artifacts/files/${gone}`)).status, 204);
      fs.mkdirSync(path.join(dataDir, 'blobs', 'staging'), { recursive: true });
      const crashed = path.join(dataDir, 'blobs', 'staging', 'left-by-a-crash');
      fs.writeFileSync(crashed, 'partial');
      // Older than uploadStaleSeconds (300 s): its upload is dead.
      const old = new Date(Date.now() - 600_000);
      fs.utimesSync(crashed, old, old);
      fs.writeFileSync(path.join(dataDir, 'blobs', 'staging', 'fresh'), 'maybe live elsewhere');
    } finally {
      await d.depot.close();
    }
    assert.deepEqual(objects(dataDir).sort(), [sha(kept), sha(dropped)].sort());

    const young = gc();
    assert.equal(young.status, 0, young.stderr);
    assert.match(young.stdout, /^store\s+scanned\s+deleted\s+freed bytes\s+staging removed$/m);
    assert.match(young.stdout, /^fs\s+\d+\s+0\s+0\s+0$/m, 'the default grace period (1 h) spares young content');
    assert.match(young.stdout, /gc: 0 object\(s\), 0 bytes freed .*grace 3600 s/);
    assert.equal(objects(dataDir).length, 2);

    const now = gc('--grace-seconds', '0');
    assert.equal(now.status, 0, now.stderr);
    assert.match(now.stdout, /^fs\s+\d+\s+1\s+3000\s+1$/m);
    assert.match(now.stdout, /^database\s+/m);
    assert.deepEqual(objects(dataDir), [sha(kept)]);
    assert.deepEqual(fs.readdirSync(path.join(dataDir, 'blobs', 'staging')), ['fresh'], 'staging younger than uploadStaleSeconds is spared');

    const bad = gc('--grace-seconds', 'soon');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--grace-seconds needs a non-negative integer/);
  });
});

/** GC while serving: collections with no grace period race uploads and deletes of the same content. */
describe('garbage collection while serving', function () {
  this.timeout(120_000);
  it('never takes bytes from under a new reference to the same content', async () => {
    const d = await startTestDepot();
    try {
      const put = async (data: Buffer, keep: boolean) => {
        const a: any = await (await d.request('POST', '/artifacts/files', { json: { name: `race-${randomBytes(4).toString('hex')}` } })).json();
        const res = await d.request('PUT', `/artifacts/files/${a.id}/content`, { body: data, headers: { 'Content-Type': 'application/octet-stream' } });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
        if (!keep) assert.equal((await d.request('DELETE', `/artifacts/files/${a.id}`)).status, 204);
        return a.id as string;
      };
      let stop = false;
      let collections = 0;
      let deleted = 0;
      const gcLoop = (async () => {
        while (!stop) {
          const res = await d.request('POST', '/admin/gc?graceSeconds=0', { as: d.users.admin });
          const body: any = await res.json();
          assert.equal(res.status, 200, JSON.stringify(body));
          deleted += body.stores.find((s: any) => s.store === 'fs').deleted;
          collections++;
        }
      })();
      const kept: [string, Buffer][] = [];
      for (let round = 0; round < 20; round++) {
        // The content becomes garbage, then is uploaded again while collections run: whichever
        // wins, the new references must end up with their bytes.
        const data = randomBytes(256 * 1024);
        await put(data, false);
        const ids = await Promise.all([put(data, true), put(data, true)]);
        for (const id of ids) kept.push([id, data]);
      }
      stop = true;
      await gcLoop;
      assert.ok(collections >= 3, `${collections} collections ran`);
      assert.ok(deleted >= 1, 'the content was collected at least once while unreferenced');
      for (const [id, data] of kept) {
        const res = await d.request('GET', `/artifacts/files/${id}/content`);
        assert.equal(res.status, 200, id);
        assert.equal(sha(Buffer.from(await res.arrayBuffer())), sha(data));
      }
    } finally {
      await d.close();
    }
  });
});

describe('depot gc beside a running Depot (PostgreSQL server only)', function () {
  this.timeout(120_000);
  it('collects in a second process while the server keeps serving and uploading', async function () {
    // With embedded PGlite the server owns the database: POST /admin/gc covers that case (above).
    if (!testDatabaseUrl()) this.skip();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-gc-live-'));
    const d = await startTestDepot({}, { dataDir });
    try {
      const garbage = randomBytes(5000);
      const a: any = await (await d.request('POST', '/artifacts/files', { json: { name: 'live-gc-1' } })).json();
      assert.equal((await d.request('PUT', `/artifacts/files/${a.id}/content`, { body: garbage, headers: { 'Content-Type': 'application/octet-stream' } })).status, 200);
      assert.equal((await d.request('DELETE', `/artifacts/files/${a.id}`)).status, 204);
      const b: any = await (await d.request('POST', '/artifacts/files', { json: { name: 'live-gc-2' } })).json();
      const kept = randomBytes(7000);
      const upload = d.request('PUT', `/artifacts/files/${b.id}/content`, { body: kept, headers: { 'Content-Type': 'application/octet-stream' } });
      const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/depot'), 'gc', '--grace-seconds', '0'], {
        encoding: 'utf8', env: { ...process.env, DEPOT_DATA_DIR: dataDir, DEPOT_DATABASE_URL: testDatabaseUrl()!, DEPOT_LOG_LEVEL: 'warn' },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^fs\s+\d+\s+1\s+5000\s+\d+$/m);
      assert.equal((await upload).status, 200);
      assert.deepEqual(objects(dataDir), [sha(kept)]);
      const res = await d.request('GET', `/artifacts/files/${b.id}/content`);
      assert.equal(sha(Buffer.from(await res.arrayBuffer())), sha(kept));
    } finally {
      await d.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** Objects an upload stored for a job to attach later are pinned by that job until it ends. */
describe('garbage collection and jobs', function () {
  this.timeout(60_000);
  it('spares an object pinned by a queued or running job, and collects it once the job has ended', async () => {
    const d = await startTestDepot();
    try {
      const store = d.depot.engine.stores.get('fs');
      const bytes = randomBytes(5000);
      const staged = await store.stage(Readable.from([bytes]));
      await staged.commit();
      const jobs = new JobsRepository(d.depot.db.sequelize);
      const job = await jobs.enqueue(undefined, 'test.pinning', null, { pins: [staged.key] });
      const gc = async () => {
        const res = await d.request('POST', '/admin/gc?graceSeconds=0', { as: d.users.admin });
        assert.equal(res.status, 200);
        return fs.existsSync(path.join(d.dataDir, 'blobs', 'objects')) && objects(d.dataDir).includes(staged.key);
      };
      assert.equal(await gc(), true, 'pinned by a queued job: kept');
      await jobs.finish(job, 'done', null);
      assert.equal(await gc(), false, 'the job has ended: collected');
    } finally {
      await d.close();
    }
  });
});
