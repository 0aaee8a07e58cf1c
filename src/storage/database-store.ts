import { randomUUID } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { QueryTypes, Sequelize } from 'sequelize';
import { BlobStore, ByteRange, ObjectInfo, ObjectNotFoundError, StagedWrite } from './blob-store';

const CHUNK = 1 << 20;
const STAGING = 'staging:';

/**
 * Database driver for small blobs (templates, descriptors): bytes in 1 MiB rows of `blob_chunks`,
 * so neither a write nor a ranged read ever holds a whole blob in memory (Glare's database store
 * read whole blobs into memory). Staged chunks carry a `staging:` key that commit renames in one
 * transaction.
 */
export class DatabaseBlobStore implements BlobStore {
  readonly driver = 'database';

  /** Staging keys of writes in progress in this process: sweepStaging leaves them alone. */
  private readonly live = new Set<string>();

  constructor(private readonly sequelize: Sequelize) {}

  private q<T extends object>(sql: string, replacements: Record<string, unknown>): Promise<T[]> {
    return this.sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT });
  }

  private exec(sql: string, replacements: Record<string, unknown>): Promise<unknown> {
    return this.sequelize.query(sql, { replacements });
  }

  async stage(): Promise<StagedWrite> {
    const staging = STAGING + randomUUID();
    this.live.add(staging);
    await this.exec('INSERT INTO blob_objects (key, size, mtime) VALUES (:key, 0, now())', { key: staging });
    let seq = 0;
    let size = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    // Every row but the last holds exactly CHUNK bytes: read() finds byte N in row floor(N / CHUNK).
    // (A write larger than CHUNK used to land in one oversized row, and ranged reads then missed.)
    // The chunk insert in flight, so abort() removes the rows only after it: on a server with a
    // connection pool a late INSERT used to land after the DELETE and leave orphan staging chunks.
    let inflight: Promise<void> = Promise.resolve();
    let aborted = false;
    const flush = (final: boolean) => (inflight = flushNow(final));
    const flushNow = async (final: boolean) => {
      while (!aborted && (pendingBytes >= CHUNK || (final && pendingBytes > 0))) {
        const all = Buffer.concat(pending, pendingBytes);
        const data = all.subarray(0, Math.min(CHUNK, all.length));
        const rest = all.subarray(data.length);
        pending = rest.length ? [rest] : [];
        pendingBytes = rest.length;
        await this.exec('INSERT INTO blob_chunks (key, seq, data) VALUES (:key, :seq, :data)', { key: staging, seq: seq++, data });
        // A long upload stays fresh, so the staging sweep only ever removes abandoned writes.
        await this.exec('UPDATE blob_objects SET mtime = now() WHERE key = :key', { key: staging });
      }
    };
    const stream = new Writable({
      highWaterMark: CHUNK,
      write(chunk: Buffer, _enc, cb) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        size += chunk.length;
        if (pendingBytes >= CHUNK) flush(false).then(() => cb(), cb);
        else cb();
      },
      final(cb) {
        flush(true).then(() => cb(), cb);
      },
    });
    const finished = new Promise<void>((resolve, reject) => {
      stream.once('finish', resolve);
      stream.once('error', reject);
    });
    finished.catch(() => undefined);
    let done = false;
    return {
      stream,
      commit: async (key) => {
        await finished;
        await this.sequelize.transaction(async (transaction) => {
          const [existing] = await this.sequelize.query<{ key: string }>(
            'SELECT key FROM blob_objects WHERE key = :key FOR UPDATE',
            { replacements: { key }, type: QueryTypes.SELECT, transaction },
          );
          if (existing) {
            await this.sequelize.query('DELETE FROM blob_chunks WHERE key = :staging', { replacements: { staging }, transaction });
            await this.sequelize.query('UPDATE blob_objects SET mtime = now() WHERE key = :key', { replacements: { key }, transaction });
          } else {
            await this.sequelize.query('UPDATE blob_chunks SET key = :key WHERE key = :staging', { replacements: { key, staging }, transaction });
            await this.sequelize.query('INSERT INTO blob_objects (key, size, mtime) VALUES (:key, :size, now())', { replacements: { key, size }, transaction });
          }
          await this.sequelize.query('DELETE FROM blob_objects WHERE key = :staging', { replacements: { staging }, transaction });
        });
        done = true;
        this.live.delete(staging);
      },
      abort: async () => {
        if (done) return;
        done = true;
        aborted = true;
        stream.destroy();
        await inflight.catch(() => undefined);
        await this.removeStaged(staging);
        this.live.delete(staging);
      },
    };
  }

  private async removeStaged(staging: string): Promise<void> {
    await this.exec('DELETE FROM blob_chunks WHERE key = :staging', { staging });
    await this.exec('DELETE FROM blob_objects WHERE key = :staging', { staging });
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const [row] = await this.q<{ size: string; mtime: Date }>('SELECT size, mtime FROM blob_objects WHERE key = :key', { key });
    return row ? { key, size: Number(row.size), mtime: new Date(row.mtime) } : null;
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const info = await this.stat(key);
    if (!info || key.startsWith(STAGING)) throw new ObjectNotFoundError(key);
    const start = range?.start ?? 0;
    const end = Math.min(range?.end ?? info.size - 1, info.size - 1);
    let seq = Math.floor(start / CHUNK);
    const lastSeq = Math.floor(end / CHUNK);
    const self = this;
    // Pulls one chunk row per read(), so a slow client holds back the database reads.
    return new Readable({
      highWaterMark: CHUNK,
      read() {
        if (seq > lastSeq || end < start) {
          this.push(null);
          return;
        }
        const current = seq++;
        self
          .q<{ data: Buffer }>('SELECT data FROM blob_chunks WHERE key = :key AND seq = :seq', { key, seq: current })
          .then(([row]) => {
            if (!row) throw new ObjectNotFoundError(key);
            const base = current * CHUNK;
            const from = Math.max(start - base, 0);
            const to = Math.min(end - base + 1, row.data.length);
            this.push(row.data.subarray(from, to));
          })
          .catch((err) => this.destroy(err));
      },
    });
  }

  async delete(key: string): Promise<void> {
    await this.sequelize.transaction(async (transaction) => {
      await this.sequelize.query('DELETE FROM blob_chunks WHERE key = :key', { replacements: { key }, transaction });
      await this.sequelize.query('DELETE FROM blob_objects WHERE key = :key', { replacements: { key }, transaction });
    });
  }

  async *list(): AsyncIterable<ObjectInfo> {
    let after = '';
    for (;;) {
      const rows = await this.q<{ key: string; size: string; mtime: Date }>(
        `SELECT key, size, mtime FROM blob_objects WHERE key > :after AND key NOT LIKE 'staging:%' ORDER BY key LIMIT 500`,
        { after },
      );
      if (!rows.length) return;
      for (const r of rows) yield { key: r.key, size: Number(r.size), mtime: new Date(r.mtime) };
      after = rows[rows.length - 1].key;
    }
  }

  async sweepStaging(olderThanMs: number): Promise<number> {
    const rows = await this.q<{ key: string }>(
      `SELECT key FROM blob_objects WHERE key LIKE 'staging:%' AND mtime < now() - (:ms * interval '1 millisecond')`,
      { ms: olderThanMs },
    );
    const dead = rows.filter((r) => !this.live.has(r.key));
    for (const r of dead) await this.removeStaged(r.key);
    // Staging chunks whose staging object row is gone (left by an abort that raced a chunk insert).
    const orphans = await this.q<{ key: string }>(
      `SELECT DISTINCT c.key FROM blob_chunks c WHERE c.key LIKE 'staging:%' AND NOT EXISTS (SELECT 1 FROM blob_objects o WHERE o.key = c.key)`, {},
    );
    for (const r of orphans) if (!this.live.has(r.key)) await this.exec('DELETE FROM blob_chunks WHERE key = :key', { key: r.key });
    return dead.length + orphans.length;
  }

  async ping(): Promise<void> {
    await this.sequelize.query('SELECT 1 FROM blob_objects LIMIT 1');
  }
}
