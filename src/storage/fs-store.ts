import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { BlobStore, ByteRange, ObjectInfo, ObjectNotFoundError, StagedWrite } from './blob-store';
import { FileWriter } from './file-writer';

/**
 * Filesystem driver. Objects live under `objects/ab/cd/<key>`; writes go to `staging/` first and are
 * published by rename(2), which is atomic on one filesystem, after fsync of the file and of the
 * directory, so a crash leaves either the whole object or a staging file that sweepStaging removes.
 */
export class FsBlobStore implements BlobStore {
  readonly driver = 'fs';
  private readonly objects: string;
  private readonly staging: string;
  /** Staging files of writes in progress in this process: sweepStaging leaves them alone. */
  private readonly live = new Set<string>();

  constructor(root: string) {
    this.objects = path.join(root, 'objects');
    this.staging = path.join(root, 'staging');
    fs.mkdirSync(this.objects, { recursive: true });
    fs.mkdirSync(this.staging, { recursive: true });
  }

  private pathOf(key: string): string {
    if (!/^[A-Za-z0-9._-]{3,200}$/.test(key) || key.startsWith('.')) throw new Error(`invalid object key ${JSON.stringify(key)}`);
    return path.join(this.objects, key.slice(0, 2), key.slice(2, 4), key);
  }

  async stage(): Promise<StagedWrite> {
    const name = randomUUID();
    const tmp = path.join(this.staging, name);
    this.live.add(name);
    const stream = new FileWriter(tmp);
    let done = false;
    const finished = new Promise<void>((resolve, reject) => {
      stream.once('close', resolve);
      stream.once('error', reject);
    });
    const release = () => this.live.delete(name);
    finished.catch(() => undefined);
    return {
      stream,
      commit: async (key) => {
        const dest = this.pathOf(key);
        await finished;
        await fsp.mkdir(path.dirname(dest), { recursive: true });
        const existing = await fsp.stat(dest).catch(() => null);
        if (existing) {
          // Same key means same bytes (content addressing): keep the old object, mark it fresh so a
          // concurrent garbage collection pass does not take it away from this new reference.
          const now = new Date();
          await fsp.utimes(dest, now, now);
          // Unlinking a GiB takes ~0.3 s here (ext4 frees and discards its extents): not the
          // uploader's wait. The file stays in `live` until it is gone; after a crash sweepStaging
          // removes it.
          done = true;
          void fsp.rm(tmp, { force: true }).catch(() => undefined).finally(release);
          return;
        } else {
          const fh = await fsp.open(tmp, 'r+');
          try {
            await fh.sync();
          } finally {
            await fh.close();
          }
          await fsp.rename(tmp, dest);
          const dir = await fsp.open(path.dirname(dest), 'r');
          try {
            await dir.sync();
          } finally {
            await dir.close();
          }
        }
        done = true;
        release();
      },
      abort: async () => {
        if (done) return;
        done = true;
        stream.destroy();
        await finished.catch(() => undefined);
        await fsp.rm(tmp, { force: true });
        release();
      },
    };
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const st = await fsp.stat(this.pathOf(key)).catch(() => null);
    return st ? { key, size: st.size, mtime: st.mtime } : null;
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.pathOf(key);
    // Open first so that a missing object is an error here, not later on the response stream.
    const fh = await fsp.open(file, 'r').catch((err) => {
      if (err.code === 'ENOENT') throw new ObjectNotFoundError(key);
      throw err;
    });
    return fh.createReadStream({ start: range?.start, end: range?.end, highWaterMark: 1 << 20 });
  }

  async delete(key: string): Promise<void> {
    await fsp.rm(this.pathOf(key), { force: true });
  }

  async *list(): AsyncIterable<ObjectInfo> {
    for (const a of await fsp.readdir(this.objects).catch(() => [])) {
      for (const b of await fsp.readdir(path.join(this.objects, a)).catch(() => [])) {
        const dir = path.join(this.objects, a, b);
        for (const key of await fsp.readdir(dir).catch(() => [])) {
          const st = await fsp.stat(path.join(dir, key)).catch(() => null);
          if (st?.isFile()) yield { key, size: st.size, mtime: st.mtime };
        }
      }
    }
  }

  async sweepStaging(olderThanMs: number): Promise<number> {
    let n = 0;
    const limit = Date.now() - olderThanMs;
    for (const name of await fsp.readdir(this.staging).catch(() => [])) {
      if (this.live.has(name)) continue;
      const file = path.join(this.staging, name);
      const st = await fsp.stat(file).catch(() => null);
      if (st && st.mtimeMs < limit) {
        await fsp.rm(file, { force: true });
        n++;
      }
    }
    return n;
  }

  localPath(key: string): string {
    return this.pathOf(key);
  }

  async ping(): Promise<void> {
    await fsp.access(this.objects, fs.constants.W_OK);
  }
}
