import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { embeddedTemplate, testDatabaseUrl, type TestUser } from '../helpers/depot';
import { assertError, assertOnboarded, buildPackage, fmt, V1, V2 } from './helpers';

/**
 * Durability: a Depot child process is killed with SIGKILL during onboarding processing and during
 * an upload; after a restart on the same data dir / database no package is left in PROCESSING or
 * UPLOADING. Processing resumes once the dead worker's job lease (2 s here) runs out.
 */
describe('VNF packages: durability (kill -9 and restart)', function () {
  this.timeout(120_000);
  const script = path.join(__dirname, 'fixtures', 'child-depot.ts');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-durable-'));
  const suffix = randomBytes(4).toString('hex');
  const mk = (user: string, project: string): TestUser => ({ token: randomBytes(20).toString('hex'), user, project: `${project}-${suffix}` });
  const users = { admin: mk('admin', 'ops'), alice: mk('alice', 'vendor-a'), alice2: mk('alice2', 'vendor-a'), bob: mk('bob', 'vendor-b'), reader: mk('reader', 'vendor-a') };
  const children: ChildProcess[] = [];

  /** Starts a child Depot; resolves with its URL. The child leads its own process group (hooks die with it). */
  async function start(file: Record<string, unknown>): Promise<{ url: string; child: ChildProcess }> {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', script, JSON.stringify({ dataDir, users, file })], {
      cwd: path.resolve(__dirname, '../..'),
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    children.push(child);
    let err = '';
    child.stderr!.on('data', (c) => (err += c));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`child did not start: ${err}`)), 60_000);
      child.stdout!.on('data', (c) => {
        out += c;
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line && out.includes('\n')) {
          clearTimeout(timer);
          resolve(JSON.parse(line).url);
        }
      });
      child.on('exit', (code) => reject(new Error(`child exited (${code}): ${err}`)));
    });
    return { url, child };
  }

  async function kill9(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(-child.pid!, 'SIGKILL'); // the whole group: the child and any hook it runs
    await exited;
  }

  before(async () => {
    // The embedded database template is initialised once per test run, here; the child copies nothing.
    if (!testDatabaseUrl()) fs.cpSync(path.join(await embeddedTemplate(), 'pg'), path.join(dataDir, 'pg'), { recursive: true });
  });
  after(async () => {
    for (const c of children) await kill9(c).catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const req = (url: string, method: string, p: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${p}`, { method, body: body as any, headers: { Authorization: `Bearer ${users.alice.token}`, ...headers }, duplex: 'half' } as RequestInit);
  const info = async (url: string, id: string) => {
    const res = await req(url, 'GET', `${V2}/vnf_packages/${id}`);
    assert.equal(res.status, 200);
    return (await res.json()) as any;
  };
  const waitFor = async (url: string, id: string, pred: (i: any) => boolean, timeoutMs = 30_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const i = await info(url, id);
      if (pred(i)) return i;
      if (Date.now() > until) throw new Error(`package ${id} still ${i.onboardingState}: ${fmt(i.onboardingFailureDetails?.findings)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const create = async (url: string) => {
    const res = await req(url, 'POST', `${V1}/vnf_packages`, '{}', { 'Content-Type': 'application/json' });
    assert.equal(res.status, 201);
    return ((await res.json()) as any).id as string;
  };

  const base = { onboarding: { jobLeaseSeconds: 2 }, uploadStaleSeconds: 1 };
  // The marker file proves the hook (and so processing) was running when the process died.
  const marker = path.join(dataDir, `hook-ran-${suffix}`);
  const slow = { ...base, types: { vnf_packages: { hooks: [{ event: 'post_upload', command: ['/bin/sh', '-c', `touch ${marker}; sleep 20`], timeoutSeconds: 60 }] } } };

  let pkgProcessing: string;
  let pkgUploading: string;
  let zip2: Buffer;

  it('killed during processing and during an upload: after a restart the job resumes (lease expired) → ONBOARDED; the upload → VNFPKG-UPLOAD-INTERRUPTED, then uploads again', async () => {
    const first = await start(slow);
    // Package 1: PROCESSING, inside the slow hook, when the process dies.
    pkgProcessing = await create(first.url);
    const zip = await buildPackage({ softwareVersion: '4.0.0' });
    const put = await req(first.url, 'PUT', `${V1}/vnf_packages/${pkgProcessing}/package_content`, zip, { 'Content-Type': 'application/zip' });
    assert.equal(put.status, 202);
    const until = Date.now() + 20_000;
    while (!fs.existsSync(marker)) {
      assert.ok(Date.now() < until, 'the slow hook never ran');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await info(first.url, pkgProcessing)).onboardingState, 'PROCESSING');
    // Package 2: UPLOADING (the request sends 1000 bytes, then nothing) when the process dies.
    pkgUploading = await create(first.url);
    zip2 = await buildPackage({ softwareVersion: '4.1.0' });
    const stall = new ReadableStream({
      start(c) {
        c.enqueue(zip2.subarray(0, 1000));
      },
    });
    const hanging = req(first.url, 'PUT', `${V1}/vnf_packages/${pkgUploading}/package_content`, stall, { 'Content-Type': 'application/zip' }).catch((e) => e);
    await waitFor(first.url, pkgUploading, (i) => i.onboardingState === 'UPLOADING', 10_000);
    await kill9(first.child);
    assert.ok((await hanging) instanceof Error, 'the client sees the connection drop');

    // Restart without the slow hook: the dead worker's job is claimed again after its lease.
    const second = await start(base);
    const done = await waitFor(second.url, pkgProcessing, (i) => i.onboardingState === 'ONBOARDED' || i.onboardingState === 'ERROR');
    assertOnboarded(done);
    const content = await req(second.url, 'GET', `${V1}/vnf_packages/${pkgProcessing}/package_content`);
    assert.ok(Buffer.from(await content.arrayBuffer()).equals(zip));

    const failed = await waitFor(second.url, pkgUploading, (i) => i.onboardingState !== 'UPLOADING', 20_000);
    const f = assertError(failed, 'VNFPKG-UPLOAD-INTERRUPTED');
    assert.deepEqual(f.map((x) => x.rule), ['VNFPKG-UPLOAD-INTERRUPTED']);
    // ... and it can be uploaded again.
    const again = await req(second.url, 'PUT', `${V1}/vnf_packages/${pkgUploading}/package_content`, zip2, { 'Content-Type': 'application/zip' });
    assert.equal(again.status, 202);
    assertOnboarded(await waitFor(second.url, pkgUploading, (i) => i.onboardingState === 'ONBOARDED' || i.onboardingState === 'ERROR'));
    // Nothing else is stuck.
    const all = (await (await req(second.url, 'GET', `${V1}/vnf_packages`)).json()) as any[];
    assert.deepEqual(all.map((p) => p.onboardingState).sort(), ['ONBOARDED', 'ONBOARDED']);
    await kill9(second.child);
  });
});
