import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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
      fs.writeFileSync(path.join(dataDir, 'blobs', 'staging', 'left-by-a-crash'), 'partial');
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
    assert.deepEqual(fs.readdirSync(path.join(dataDir, 'blobs', 'staging')), []);

    const bad = gc('--grace-seconds', 'soon');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--grace-seconds needs a non-negative integer/);
  });
});
