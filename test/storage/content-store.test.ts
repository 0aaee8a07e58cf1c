import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { ContentStore, SizeLimitError } from '../../src/storage/content-store';
import { FsBlobStore } from '../../src/storage/fs-store';

const hex = (a: string, b: Buffer) => createHash(a).update(b).digest('hex');

/** Bytes in chunks of uneven sizes, as a socket delivers them. */
function chunked(data: Buffer): Readable {
  const parts: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = [1, 70_000, 1_048_577, 333][i % 4];
    parts.push(data.subarray(at, at + n));
    at += n;
  }
  return Readable.from(parts);
}

describe('storage: ContentStore.stage digests, inline and in the hash worker', () => {
  let dir: string;
  let store: ContentStore;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-cs-'));
    store = new ContentStore('fs', new FsBlobStore(dir));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const hashWorker of [false, true]) {
    it(`hashWorker ${hashWorker}: MD5, SHA-512 and the SHA-256 key of exactly the bytes staged`, async () => {
      const data = randomBytes(3 * 1024 * 1024 + 17);
      const staged = await store.stage(chunked(data), { algorithms: ['md5', 'sha512'], hashWorker });
      assert.deepEqual(staged.digests, { sha256: hex('sha256', data), md5: hex('md5', data), sha512: hex('sha512', data) });
      assert.equal(staged.key, hex('sha256', data));
      await staged.abort();
    });
  }

  it('a failed upload with offloaded digests leaves the worker usable for the next one', async () => {
    await assert.rejects(store.stage(chunked(randomBytes(200_000)), { algorithms: ['md5', 'sha512'], hashWorker: true, limit: 100_000 }), SizeLimitError);
    const data = randomBytes(100_000);
    const staged = await store.stage(Readable.from([data]), { algorithms: ['sha512'], hashWorker: true });
    assert.equal(staged.digests.sha512, hex('sha512', data));
    await staged.abort();
  });
});
