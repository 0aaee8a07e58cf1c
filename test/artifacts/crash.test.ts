import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { QueryTypes } from 'sequelize';
import YAML from 'yaml';
import { openDatabase } from '../../src/db/database';
import { embeddedTemplate, openTestDatabase, testDatabaseUrl } from '../helpers/depot';

/**
 * Never stuck: Depot is killed with SIGKILL in the middle of uploads, restarted on the same data
 * directory / database, and must roll the uploads back (no blob left `saving`; the previous content
 * of a re-upload is back), accept the retry, and leave no orphan bytes after a GC sweep.
 */
const ROOT = path.resolve(__dirname, '../..');
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Server { child: ChildProcess; url: string }

async function startServer(env: Record<string, string>): Promise<Server> {
  // node itself, not npx: SIGKILL must hit the process that serves.
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(ROOT, 'src/main.ts')], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /serving on (http:\/\/[0-9.:]+)/.exec(out);
      if (m) resolve(m[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, sig) => reject(new Error(`depot exited (${code ?? sig}):\n${out}`)));
    setTimeout(() => reject(new Error(`depot did not start in time:\n${out}`)), 90_000).unref();
  });
  child.stdout!.resume();
  child.stderr!.resume();
  return { child, url };
}

function call(url: string, token: string, method: string, p: string, body?: string | Buffer, type = 'application/json'): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${p}`, { method, headers: { Authorization: `Bearer ${token}`, ...(body !== undefined && { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) }) } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let parsed: any = text;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode!, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Starts a chunked upload that sends `bytes` and then stalls forever. */
function stalledUpload(url: string, token: string, p: string, bytes: number): http.ClientRequest {
  const req = http.request(`${url}${p}`, { method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' } });
  req.on('error', () => undefined); // the server is about to die
  req.write(randomBytes(bytes));
  return req;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [e.name]));
}

for (const store of ['fs', 'database'] as const) {
  describe(`crash during upload (kill -9), ${store} store`, function () {
    this.timeout(180_000);
    let dataDir: string;
    let env: Record<string, string>;
    let server: Server | undefined;
    const admin = randomBytes(20).toString('hex');
    const alice = randomBytes(20).toString('hex');
    const project = `crash-${randomBytes(4).toString('hex')}`;

    before(async () => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-crash-'));
      const dbUrl = testDatabaseUrl();
      if (!dbUrl) fs.cpSync(path.join(await embeddedTemplate(), 'pg'), path.join(dataDir, 'pg'), { recursive: true });
      fs.writeFileSync(path.join(dataDir, 'tokens.yaml'), YAML.stringify({ tokens: [
        { token: admin, user: 'admin', project: `ops-${project}`, roles: ['admin'] },
        { token: alice, user: 'alice', project, roles: ['member'] },
      ] }));
      fs.writeFileSync(path.join(dataDir, 'config.yaml'), YAML.stringify({ uploadStaleSeconds: 1, types: { files: { store } } }));
      env = {
        DEPOT_DATA_DIR: dataDir, DEPOT_CONFIG: path.join(dataDir, 'config.yaml'), DEPOT_PORT: '0', DEPOT_HOST: '127.0.0.1',
        DEPOT_LOG_LEVEL: 'warn', DEPOT_AUTH: 'tokens', DEPOT_TOKENS_FILE: path.join(dataDir, 'tokens.yaml'), DEPOT_DATABASE_URL: dbUrl ?? '',
      };
    });
    after(async () => {
      if (server && server.child.exitCode === null) {
        server.child.kill('SIGTERM');
        await new Promise((r) => server!.child.once('exit', r));
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('rolls back interrupted uploads on restart, accepts the retry, and GC leaves no orphan bytes', async () => {
      server = await startServer(env);
      let { url } = server;
      const x = await call(url, alice, 'POST', '/artifacts/files', JSON.stringify({ name: 'crash-x' }));
      const y = await call(url, alice, 'POST', '/artifacts/files', JSON.stringify({ name: 'crash-y' }));
      assert.equal(x.status, 201);
      assert.equal(y.status, 201);
      const v1 = 'version one';
      assert.equal((await call(url, alice, 'PUT', `/artifacts/files/${x.body.id}/content`, v1, 'text/plain')).status, 200);

      // A re-upload over existing content and a new folder entry, both stalled mid-stream.
      const r1 = stalledUpload(url, alice, `/artifacts/files/${x.body.id}/content`, 3 * 2 ** 20);
      const r2 = stalledUpload(url, alice, `/artifacts/files/${y.body.id}/tree/a/b.bin`, 3 * 2 ** 20);
      await until('both uploads saving', async () => {
        const [a, b] = await Promise.all([call(url, alice, 'GET', `/artifacts/files/${x.body.id}`), call(url, alice, 'GET', `/artifacts/files/${y.body.id}/tree`)]);
        return a.body.content?.status === 'saving' && b.body.entries?.[0]?.status === 'saving' ? true : undefined;
      });
      // Let the bytes reach the store's staging area before the crash (on a shared PostgreSQL server
      // the database store's staging rows can be watched; elsewhere, time is all there is).
      await sleep(500);
      if (store === 'database' && env.DEPOT_DATABASE_URL) {
        const db = await openDatabase({ url: env.DEPOT_DATABASE_URL, dataDir });
        try {
          await until('staged chunks', async () => {
            const [{ n }] = await db.sequelize.query<{ n: string }>(`SELECT count(*) AS n FROM blob_chunks WHERE key LIKE 'staging:%'`, { type: QueryTypes.SELECT });
            return Number(n) >= 2 ? true : undefined;
          });
        } finally {
          await db.close();
        }
      }
      server.child.kill('SIGKILL');
      await new Promise((r) => server!.child.once('exit', r));
      r1.destroy();
      r2.destroy();
      if (store === 'fs') assert.ok(filesUnder(path.join(dataDir, 'blobs', 'staging')).length >= 1, 'the crash left staged bytes');

      server = await startServer(env);
      url = server.url;
      const restored = await until('x rolled back', async () => {
        const a = await call(url, alice, 'GET', `/artifacts/files/${x.body.id}`);
        return a.body.content?.status === 'active' ? a.body : undefined;
      });
      assert.equal(restored.content.size, v1.length);
      assert.equal(restored.content.checksums.sha256, sha(v1));
      assert.equal((await call(url, alice, 'GET', `/artifacts/files/${x.body.id}/content`)).body, v1);
      const tree = await until('y rolled back', async () => {
        const t = await call(url, alice, 'GET', `/artifacts/files/${y.body.id}/tree`);
        return t.body.entries.length === 0 ? t.body : undefined;
      });
      assert.deepEqual(tree.entries, []);

      // Not stuck: the artifacts can be activated and the uploads retried.
      assert.equal((await call(url, alice, 'PATCH', `/artifacts/files/${x.body.id}`, JSON.stringify([{ op: 'replace', path: '/status', value: 'active' }]), 'application/json-patch+json')).status, 200);
      const retry = randomBytes(100_000);
      const put = await call(url, alice, 'PUT', `/artifacts/files/${y.body.id}/tree/a/b.bin`, retry, 'application/octet-stream');
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.equal(put.body.tree.count, 1);

      // Another process's staging is swept once it is older than uploadStaleSeconds (1 s here):
      // right after a fast restart it may still be too young, so GC is asked again until it is.
      let report: any;
      await until('staging swept', async () => {
        const gc = await call(url, admin, 'POST', '/admin/gc?graceSeconds=0');
        assert.equal(gc.status, 200, JSON.stringify(gc.body));
        report = gc.body.stores.find((s: any) => s.store === store);
        return report.staging >= 1 ? true : undefined;
      }, 10_000).catch(() => undefined);
      assert.ok(report.staging >= 1, `staging swept: ${JSON.stringify(report)}`);

      const expected = [sha(v1), sha(retry)].sort();
      if (store === 'fs') {
        assert.deepEqual(filesUnder(path.join(dataDir, 'blobs', 'staging')), []);
        assert.deepEqual(filesUnder(path.join(dataDir, 'blobs', 'objects')).sort(), expected);
      } else {
        server.child.kill('SIGTERM');
        await new Promise((r) => server!.child.once('exit', r));
        const db = testDatabaseUrl() ? await openTestDatabase() : await openDatabase({ dataDir });
        try {
          const staging = await db.sequelize.query(`SELECT key FROM blob_objects WHERE key LIKE 'staging:%' UNION ALL SELECT key FROM blob_chunks WHERE key LIKE 'staging:%'`, { type: QueryTypes.SELECT });
          assert.deepEqual(staging, []);
          const orphans = await db.sequelize.query(`SELECT o.key FROM blob_objects o WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.store = 'database' AND b.content_key = o.key)`, { type: QueryTypes.SELECT });
          assert.deepEqual(orphans, []);
          const ours = await db.sequelize.query<{ key: string }>(`SELECT key FROM blob_objects WHERE key IN (:keys) ORDER BY key`, { replacements: { keys: expected }, type: QueryTypes.SELECT });
          assert.deepEqual(ours.map((r) => r.key), expected);
        } finally {
          await db.close();
        }
      }
    });
  });
}
