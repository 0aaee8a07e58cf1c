import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { BlobStore, ObjectNotFoundError } from '../../src/storage/blob-store';
import { ContentStore, SizeLimitError } from '../../src/storage/content-store';
import { DatabaseBlobStore } from '../../src/storage/database-store';
import { FsBlobStore } from '../../src/storage/fs-store';
import { parseS3Options, S3BlobStore } from '../../src/storage/s3-store';
import { startTestS3 } from '../helpers/s3';
import { openTestDatabase } from '../helpers/depot';
import type { Database } from '../../src/db/database';

/**
 * One conformance suite, run against every BlobStore driver (ARCHITECTURE §4). Keys are random
 * per test, so the database driver may share a PostgreSQL database with other suites.
 */
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function put(store: BlobStore, data: Buffer, key = sha(data)): Promise<string> {
  const w = await store.stage();
  await new Promise<void>((resolve, reject) => {
    w.stream.on('error', reject);
    w.stream.end(data, () => resolve());
  });
  await w.commit(key);
  return key;
}

async function readAll(store: BlobStore, key: string, range?: { start: number; end: number }): Promise<Buffer> {
  return buffer(await store.read(key, range));
}

async function keys(store: BlobStore): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const o of store.list()) out.add(o.key);
  return out;
}

interface Driver {
  name: string;
  /** `reopen()` is the same storage seen by another instance (another process after a crash). */
  make(): Promise<{ store: BlobStore; reopen(): BlobStore; stagingCount(): Promise<number>; close(): Promise<void> }>;
}

const drivers: Driver[] = [
  {
    name: 'fs',
    async make() {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-fs-store-'));
      return {
        store: new FsBlobStore(root),
        reopen: () => new FsBlobStore(root),
        stagingCount: async () => fs.readdirSync(path.join(root, 'staging')).length,
        close: async () => fs.rmSync(root, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'database',
    async make() {
      const db: Database = await openTestDatabase();
      return {
        store: new DatabaseBlobStore(db.sequelize),
        reopen: () => new DatabaseBlobStore(db.sequelize),
        stagingCount: async () => {
          const [rows] = await db.sequelize.query(`SELECT (SELECT count(*) FROM blob_objects WHERE key LIKE 'staging:%') + (SELECT count(*) FROM blob_chunks WHERE key LIKE 'staging:%') AS n`);
          return Number((rows as any[])[0].n);
        },
        close: () => db.close(),
      };
    },
  },
  {
    // In-process s3rver, or the store named by DEPOT_TEST_S3_ENDPOINT (see test/helpers/s3.ts).
    name: 's3',
    async make() {
      const s3 = await startTestS3();
      // Small parts, so multipart uploads and ranges across part boundaries are exercised.
      const store = new S3BlobStore(parseS3Options({ ...s3.options, partSize: 5 * 2 ** 20 }));
      const others: S3BlobStore[] = [];
      return {
        store,
        reopen: () => {
          const other = new S3BlobStore(parseS3Options({ ...s3.options, partSize: 5 * 2 ** 20 }));
          others.push(other);
          return other;
        },
        stagingCount: async () => {
          let n = 0;
          for await (const _ of store.client.list(store.staging)) n++;
          return n;
        },
        close: async () => {
          store.close();
          for (const o of others) o.close();
          await s3.close();
        },
      };
    },
  },
];

for (const driver of drivers) {
  describe(`BlobStore conformance: ${driver.name}`, () => {
    let store: BlobStore;
    let stagingCount: () => Promise<number>;
    let reopen: () => BlobStore;
    let close: () => Promise<void>;
    before(async () => {
      ({ store, stagingCount, close, reopen } = await driver.make());
      await store.sweepStaging(0);
    });
    after(async () => close?.());

    it('pings and names its driver', async () => {
      await store.ping();
      assert.equal(store.driver, driver.name);
    });

    it('commits a staged write under a key; stat, read and list see it, not before', async () => {
      const data = randomBytes(3000);
      const key = sha(data);
      const w = await store.stage();
      w.stream.end(data);
      assert.equal(await store.stat(key), null, 'invisible before commit');
      await w.commit(key);
      const info = await store.stat(key);
      assert.equal(info?.key, key);
      assert.equal(info?.size, 3000);
      assert.ok(info!.mtime.getTime() > Date.now() - 60_000 && info!.mtime.getTime() <= Date.now() + 1000);
      assert.deepEqual(await readAll(store, key), data);
      const listed = await keys(store);
      assert.ok(listed.has(key));
      assert.ok(![...listed].some((k) => k.startsWith('staging')), 'staging objects are never listed');
      assert.equal(await stagingCount(), 0, 'commit leaves no staging object behind');
    });

    it('reads byte ranges (inclusive), including across internal chunk boundaries', async () => {
      const data = randomBytes(2.5 * 2 ** 20 + 17);
      const key = await put(store, data);
      const M = 2 ** 20;
      for (const [start, end] of [[0, 0], [0, 9], [10, 10], [M - 3, M + 2], [M, 2 * M - 1], [M - 1, 2 * M + 5], [data.length - 5, data.length - 1], [0, data.length - 1]]) {
        const got = await readAll(store, key, { start, end });
        assert.equal(got.length, end - start + 1, `range ${start}-${end}`);
        assert.ok(got.equals(data.subarray(start, end + 1)), `range ${start}-${end} content`);
      }
      assert.ok((await readAll(store, key)).equals(data));
    });

    it('stores an empty object', async () => {
      const key = await put(store, Buffer.alloc(0));
      assert.equal((await store.stat(key))?.size, 0);
      assert.equal((await readAll(store, key)).length, 0);
    });

    it('committing an existing key keeps one object with the original bytes, touches it and drops the staged copy', async () => {
      const data = randomBytes(5000);
      const key = await put(store, data);
      const first = (await store.stat(key))!;
      await new Promise((r) => setTimeout(r, 30));
      await put(store, data, key);
      const second = (await store.stat(key))!;
      assert.equal(second.size, 5000);
      assert.ok(second.mtime.getTime() >= first.mtime.getTime(), 'mtime refreshed');
      assert.ok((await readAll(store, key)).equals(data));
      assert.equal([...(await keys(store))].filter((k) => k === key).length, 1);
      assert.equal(await stagingCount(), 0);
    });

    it('abort drops a partial write, is idempotent, and nothing becomes visible', async () => {
      const before = await keys(store);
      const w = await store.stage();
      await new Promise<void>((resolve) => w.stream.write(randomBytes(70_000), () => resolve()));
      await w.abort();
      await w.abort();
      assert.equal(await stagingCount(), 0);
      assert.deepEqual(await keys(store), before);
    });

    it('sweepStaging removes abandoned staged writes older than the threshold, never its own open ones', async () => {
      const w = await store.stage();
      await new Promise<void>((resolve) => w.stream.end(randomBytes(2 * 2 ** 20 + 1), () => resolve()));
      await new Promise((r) => setTimeout(r, 20));
      // Still open in this instance (an upload waiting to publish): spared even with threshold 0.
      assert.equal(await store.sweepStaging(0), 0);
      // Another instance (the process after a crash) sees an abandoned write.
      const other = reopen();
      assert.equal(await other.sweepStaging(3_600_000), 0, 'a fresh staging object is spared');
      assert.ok((await stagingCount()) >= 1);
      assert.ok((await other.sweepStaging(0)) >= 1);
      assert.equal(await stagingCount(), 0);
      await w.abort();
      // Committed and aborted writes are no longer held.
      const w2 = await store.stage();
      w2.stream.end(randomBytes(10));
      await w2.abort();
      assert.equal(await store.sweepStaging(0), 0);
      assert.equal(await stagingCount(), 0);
    });

    it('deletes objects; reading a missing key is ObjectNotFoundError; deleting a missing key is fine', async () => {
      const data = randomBytes(100);
      const key = await put(store, data);
      await store.delete(key);
      assert.equal(await store.stat(key), null);
      assert.ok(!(await keys(store)).has(key));
      await assert.rejects(() => readAll(store, key), ObjectNotFoundError);
      await store.delete(key);
      await assert.rejects(() => readAll(store, sha(randomBytes(8))), ObjectNotFoundError);
    });

    it('lists every committed object with its size', async () => {
      const made = new Map<string, number>();
      for (let i = 0; i < 7; i++) {
        const d = randomBytes(10 + i);
        made.set(await put(store, d), d.length);
      }
      const seen = new Map<string, number>();
      for await (const o of store.list()) seen.set(o.key, o.size);
      for (const [k, s] of made) assert.equal(seen.get(k), s, k);
    });

    it('ContentStore: content-addressed, hashed while streaming, cut off over the limit with nothing kept', async () => {
      const cs = new ContentStore(driver.name, store);
      const data = randomBytes(200_000);
      const staged = await cs.stage(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), { algorithms: ['md5', 'sha512'] });
      assert.equal(staged.key, sha(data));
      assert.equal(staged.size, data.length);
      assert.equal(staged.digests.md5, createHash('md5').update(data).digest('hex'));
      assert.equal(staged.digests.sha512, createHash('sha512').update(data).digest('hex'));
      await staged.commit();
      assert.ok((await readAll(store, staged.key)).equals(data));

      const before = await keys(store);
      const big = randomBytes(300_000);
      await assert.rejects(() => cs.stage(Readable.from([big.subarray(0, 100_000), big.subarray(100_000)]), { limit: 150_000 }), (e: unknown) => e instanceof SizeLimitError && e.limit === 150_000);
      assert.equal(await stagingCount(), 0, 'the oversized upload left nothing in staging');
      assert.deepEqual(await keys(store), before);
    });
  });
}
