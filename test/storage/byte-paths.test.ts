import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { giveBack, takeBuffer } from '../../src/common/buffer-pool';
import { FileWriter } from '../../src/storage/file-writer';
import { startTestDepot, TestDepot } from '../helpers/depot';

const MiB = 2 ** 20;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Writes `data` in chunks of awkward sizes (never aligned to the writer's 1 MiB buffers). */
async function writeAll(w: FileWriter, data: Buffer): Promise<void> {
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = [1, 65_536, 333_333, 2 * MiB + 7][i % 4];
    if (!w.write(data.subarray(at, at + n))) await new Promise((r) => w.once('drain', r));
    at += n;
  }
  await new Promise<void>((resolve, reject) => {
    w.once('error', reject);
    w.end(resolve);
  });
}

describe('storage: FileWriter (pooled 1 MiB buffers, positioned writes)', () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-fw-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes exactly the bytes given, across buffer boundaries, and closes', async () => {
    const data = randomBytes(9 * MiB + 12_345);
    const file = path.join(dir, 'a');
    const w = new FileWriter(file);
    const closed = new Promise((r) => w.once('close', r));
    await writeAll(w, data);
    await closed;
    assert.equal(w.bytesWritten, data.length);
    assert.equal(sha256(fs.readFileSync(file)), sha256(data));
  });

  it('an empty stream makes an empty file', async () => {
    const file = path.join(dir, 'empty');
    await writeAll(new FileWriter(file), Buffer.alloc(0));
    assert.equal(fs.statSync(file).size, 0);
  });

  it('refuses to overwrite an existing file (staging names are never reused)', async () => {
    const file = path.join(dir, 'exists');
    fs.writeFileSync(file, 'keep');
    const w = new FileWriter(file);
    const err = await new Promise<NodeJS.ErrnoException>((r) => w.once('error', r));
    assert.equal(err.code, 'EEXIST');
    assert.equal(fs.readFileSync(file, 'utf8'), 'keep');
  });

  it('a directory that does not exist fails the stream (no hang, no file)', async () => {
    const w = new FileWriter(path.join(dir, 'no-such-dir', 'x'));
    const err = await new Promise<NodeJS.ErrnoException>((r) => w.once('error', r));
    assert.equal(err.code, 'ENOENT');
  });

  describe('O_DIRECT for full buffers, the page cache for the rest', () => {
    const supportsDirect = (d: string): boolean => {
      const probe = path.join(d, `probe-${process.pid}`);
      try {
        fs.closeSync(fs.openSync(probe, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_DIRECT));
        return true;
      } catch {
        return false;
      } finally {
        fs.rmSync(probe, { force: true });
      }
    };
    const writeFile = async (file: string, data: Buffer) => {
      const w = new FileWriter(file);
      const closed = new Promise((r) => w.once('close', r));
      await writeAll(w, data);
      const direct = w.direct;
      await closed;
      assert.equal(sha256(fs.readFileSync(file)), sha256(data));
      return direct;
    };

    it('where the file system has O_DIRECT, full buffers bypass the page cache and a partial tail does not; byte-exact', async function () {
      if (!supportsDirect(dir)) this.skip();
      // A tail that is not a multiple of 512 or 4096: O_DIRECT would refuse it.
      assert.equal(await writeFile(path.join(dir, 'direct'), randomBytes(5 * MiB + 4097)), true);
      assert.equal(await writeFile(path.join(dir, 'direct-small'), randomBytes(100)), true);
    });

    it('on a file system without O_DIRECT (tmpfs before Linux 6.6) every write goes through the page cache; byte-exact', async function () {
      if (!fs.existsSync('/dev/shm') || supportsDirect('/dev/shm')) this.skip();
      const shm = fs.mkdtempSync('/dev/shm/depot-fw-');
      try {
        assert.equal(await writeFile(path.join(shm, 'buffered'), randomBytes(3 * MiB + 1)), false);
      } finally {
        fs.rmSync(shm, { recursive: true, force: true });
      }
    });

    it('a buffer the kernel finds misaligned (EINVAL) switches the writer to the page cache, losing no byte', async function () {
      if (!supportsDirect(dir)) this.skip();
      // A pooled buffer one byte off any alignment: the pool hands out the last one given back first.
      const misaligned = Buffer.allocUnsafeSlow(MiB + 1).subarray(1);
      giveBack(misaligned);
      try {
        assert.equal(await writeFile(path.join(dir, 'misaligned'), randomBytes(6 * MiB + 3)), false);
      } finally {
        // Out of the pool again, so later writers get aligned buffers.
        const taken = Array.from({ length: 32 }, takeBuffer);
        for (const b of taken) if (b !== misaligned) giveBack(b);
      }
    });
  });

  describe('one write at a time (concurrent writes to one file only spin on its inode lock)', () => {
    // Observes the writer's system calls (the bytes still go to the real file). The module object
    // itself: the `import * as` namespace has read-only getters that read through to it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeFs = require('node:fs') as Record<string, unknown>;
    let calls: { buffers: number; bytes: number; concurrent: number; afterDestroy: boolean }[];
    let pending = 0;
    let destroyed = false;
    const realWritev = fs.writev;
    const realWrite = fs.write;
    beforeEach(() => {
      calls = [];
      pending = 0;
      destroyed = false;
      nodeFs.writev = (fd: number, buffers: Buffer[], position: number, cb: (...a: unknown[]) => void) => {
        calls.push({ buffers: buffers.length, bytes: buffers.reduce((n, b) => n + b.length, 0), concurrent: ++pending, afterDestroy: destroyed });
        realWritev(fd, buffers, position, (...a: unknown[]) => {
          pending--;
          cb(...a);
        });
      };
      nodeFs.write = (...a: unknown[]) => {
        calls.push({ buffers: 1, bytes: 0, concurrent: ++pending, afterDestroy: destroyed });
        const cb = a.pop() as (...r: unknown[]) => void;
        (realWrite as any)(...a, (...r: unknown[]) => {
          pending--;
          cb(...r);
        });
      };
    });
    afterEach(() => {
      nodeFs.writev = realWritev;
      nodeFs.write = realWrite;
    });

    it('buffers filled while a write is pending go out together, in order, byte-exact', async () => {
      // 3 MiB + 5 bytes at a time: each chunk fills several buffers at once.
      const data = randomBytes(12 * MiB + 999);
      const file = path.join(dir, 'batched');
      const w = new FileWriter(file);
      for (let at = 0; at < data.length; at += 3 * MiB + 5) {
        if (!w.write(data.subarray(at, at + 3 * MiB + 5))) await new Promise((r) => w.once('drain', r));
      }
      await new Promise<void>((resolve, reject) => {
        w.once('error', reject);
        w.end(resolve);
      });
      assert.equal(sha256(fs.readFileSync(file)), sha256(data));
      assert.equal(Math.max(...calls.map((c) => c.concurrent)), 1, 'never two writes in flight');
      assert.ok(calls.some((c) => c.buffers > 1), 'ready buffers are written with one pwritev');
      assert.equal(calls.reduce((n, c) => n + c.bytes, 0), data.length);
    });

    it('destroyed with buffers queued: no write after destroy(), the file closes', async () => {
      const file = path.join(dir, 'destroyed');
      const w = new FileWriter(file);
      // Its callback runs once the chunk is copied: one buffer is being written, two queued behind it.
      await new Promise((r) => w.write(randomBytes(3 * MiB), r));
      destroyed = true;
      w.destroy();
      await new Promise((r) => w.once('close', r));
      assert.ok(calls.length >= 1);
      assert.deepEqual(calls.filter((c) => c.afterDestroy), []);
      assert.ok(fs.statSync(file).size < 3 * MiB);
    });
  });
});

describe('http: downloads from files (sendFileSpans)', function () {
  this.timeout(60_000);
  let d: TestDepot;
  let id: string;
  const data = randomBytes(5 * MiB + 99);
  before(async () => {
    d = await startTestDepot();
    const created = await d.request('POST', '/artifacts/files', { json: { name: 'spans', version: '1.0.0' } });
    id = ((await created.json()) as { id: string }).id;
    const up = await d.request('PUT', `/artifacts/files/${id}/content`, { body: data, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(up.status, 200);
  });
  after(() => d?.close());

  it('serves the whole blob and any range byte-exact', async () => {
    const whole = Buffer.from(await (await d.request('GET', `/artifacts/files/${id}/content`)).arrayBuffer());
    assert.equal(sha256(whole), sha256(data));
    for (const [start, end] of [[0, 0], [MiB - 1, MiB], [3 * MiB + 5, 5 * MiB + 98], [5 * MiB + 98, 5 * MiB + 98]]) {
      const res = await d.request('GET', `/artifacts/files/${id}/content`, { headers: { Range: `bytes=${start}-${end}` } });
      assert.equal(res.status, 206);
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${data.length}`);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(data.subarray(start, end + 1)), `range ${start}-${end}`);
    }
  });

  it('a client that goes away mid-download leaves the service serving', async () => {
    const u = new URL(`${d.url}/artifacts/files/${id}/content`);
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: u.hostname, port: u.port, path: u.pathname, headers: { Authorization: `Bearer ${d.users.alice.token}` } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve() : reject(e)));
    });
    for (let i = 0; i < 3; i++) {
      const again = Buffer.from(await (await d.request('GET', `/artifacts/files/${id}/content`)).arrayBuffer());
      assert.equal(sha256(again), sha256(data));
    }
  });

  it('bytes missing from the store: a ProblemDetails 500 before any byte, not a hung or truncated 200', async () => {
    const created = await d.request('POST', '/artifacts/files', { json: { name: 'spans-lost', version: '1.0.0' } });
    const lost = ((await created.json()) as { id: string }).id;
    const bytes = randomBytes(1000);
    await d.request('PUT', `/artifacts/files/${lost}/content`, { body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
    const key = sha256(bytes);
    fs.rmSync(path.join(d.dataDir, 'blobs', 'objects', key.slice(0, 2), key.slice(2, 4), key));
    const res = await d.request('GET', `/artifacts/files/${lost}/content`);
    assert.equal(res.status, 500);
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
  });
});
