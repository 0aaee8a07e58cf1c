import { randomUUID } from 'node:crypto';
import type { Sequelize, Transaction } from 'sequelize';
import { Sql } from '../sql';

export interface BlobRow {
  id: string;
  artifact_id: string;
  field: string;
  path: string;
  status: 'saving' | 'active';
  store: string;
  content_key: string | null;
  content_offset: string | null;
  /** Composite blob: the bytes are these objects' ranges, in order (see migration 02). */
  segments: Segment[] | null;
  size: string;
  reserved: string;
  digests: Record<string, string>;
  content_type: string | null;
  updated_at: Date;
}

export interface Segment {
  key: string;
  offset: number;
  length: number;
}

/** Bytes already in a store, to be referenced by a blob row. */
export interface StoredContent {
  store: string;
  key: string;
  offset?: number;
  size: number;
  digests: Record<string, string>;
  contentType?: string;
  /** A composite blob's objects, in order (publish only; see migration 02). */
  segments?: { key: string; offset: number; length: number }[];
}

export interface FolderStat {
  artifact_id: string;
  field: string;
  count: string;
  size: string;
}

/** `blobs`: one row per blob or folder entry of an artifact, `saving` while an upload streams. */
export class BlobsRepository {
  private readonly sql: Sql;

  constructor(sequelize: Sequelize) {
    this.sql = new Sql(sequelize);
  }

  async find(artifactId: string, field: string, path: string, opts: { t?: Transaction; lock?: boolean; activeOnly?: boolean } = {}): Promise<BlobRow | undefined> {
    const [b] = await this.sql.select<BlobRow>(
      `SELECT * FROM blobs WHERE artifact_id = :id AND field = :field AND path = :path${opts.activeOnly ? ` AND status = 'active'` : ''}${opts.lock ? ' FOR UPDATE' : ''}`,
      { id: artifactId, field, path }, opts.t,
    );
    return b;
  }

  ofArtifact(artifactId: string, t?: Transaction): Promise<BlobRow[]> {
    return this.sql.select<BlobRow>('SELECT * FROM blobs WHERE artifact_id = :id', { id: artifactId }, t);
  }

  async anySaving(artifactId: string, t?: Transaction): Promise<boolean> {
    return (await this.sql.select(`SELECT id FROM blobs WHERE artifact_id = :id AND status = 'saving' LIMIT 1`, { id: artifactId }, t)).length > 0;
  }

  /** Folder entries under a path prefix, in path order. */
  folder(artifactId: string, field: string, prefix: string): Promise<BlobRow[]> {
    return this.sql.select<BlobRow>(`SELECT * FROM blobs WHERE artifact_id = :id AND field = :field AND starts_with(path, :prefix) ORDER BY path`, { id: artifactId, field, prefix });
  }

  /** The entries of a folder at exactly these paths (those that exist), in one round trip. */
  async entries(artifactId: string, field: string, paths: string[]): Promise<BlobRow[]> {
    if (!paths.length) return [];
    return this.sql.select<BlobRow>(`SELECT * FROM blobs WHERE artifact_id = :id AND field = :field AND path IN (:paths)`, { id: artifactId, field, paths });
  }

  /** Bytes of a folder, but for one entry (the one being replaced). */
  async folderBytes(t: Transaction, artifactId: string, field: string, exceptPath: string): Promise<number> {
    const [{ used }] = await this.sql.select<{ used: string }>('SELECT COALESCE(sum(size), 0) AS used FROM blobs WHERE artifact_id = :id AND field = :field AND path <> :path', { id: artifactId, field, path: exceptPath }, t);
    return Number(used);
  }

  /** The artifacts' blobs and per-folder counts and sizes in one round trip (the list presenter needs both for every page). */
  async summary(ids: string[]): Promise<{ blobs: BlobRow[]; folders: FolderStat[] }> {
    if (!ids.length) return { blobs: [], folders: [] };
    const rows = await this.sql.select<any>(
      `SELECT 'b' AS kind__, to_jsonb(b) AS row__, NULL AS count, NULL AS size FROM blobs b WHERE artifact_id IN (:ids) AND path = ''
       UNION ALL
       SELECT 'f', jsonb_build_object('artifact_id', artifact_id, 'field', field), count(*), COALESCE(sum(size), 0) FROM blobs WHERE artifact_id IN (:ids) AND path <> '' GROUP BY artifact_id, field`,
      { ids },
    );
    const blobs: BlobRow[] = [];
    const folders: FolderStat[] = [];
    for (const r of rows) {
      if (r.kind__ === 'b') blobs.push({ ...r.row__, size: String(r.row__.size), reserved: String(r.row__.reserved), content_offset: r.row__.content_offset === null ? null : String(r.row__.content_offset) });
      else folders.push({ artifact_id: r.row__.artifact_id, field: r.row__.field, count: String(r.count), size: String(r.size) });
    }
    return { blobs, folders };
  }

  /** A new upload: a `saving` row holding `reserve` bytes of the quota. */
  async reserve(t: Transaction, b: { id: string; artifactId: string; field: string; path: string; store: string; reserve: number }): Promise<void> {
    await this.sql.exec(
      `INSERT INTO blobs (id, artifact_id, field, path, status, store, reserved) VALUES (:bid, :id, :field, :path, 'saving', :store, :reserve)`,
      { bid: b.id, id: b.artifactId, field: b.field, path: b.path, store: b.store, reserve: b.reserve }, t,
    );
  }

  /** A replacing upload: the existing row goes `saving` (its content stays until the new one is published). */
  async reserveExisting(t: Transaction, blobId: string, reserve: number): Promise<void> {
    await this.sql.exec(`UPDATE blobs SET status = 'saving', reserved = :reserve, heartbeat_at = now(), updated_at = now() WHERE id = :bid`, { reserve, bid: blobId }, t);
  }

  /** Tells the stale-upload reaper (of any process) that the upload is alive. */
  async heartbeat(blobId: string): Promise<void> {
    await this.sql.exec('UPDATE blobs SET heartbeat_at = now() WHERE id = :id', { id: blobId });
  }

  /** Publishes an upload's content; false when the row is no longer `saving` (the reaper rolled it back). */
  async publish(t: Transaction | undefined, blobId: string, c: StoredContent): Promise<boolean> {
    const affected = await this.sql.update(
      `UPDATE blobs SET status = 'active', content_key = :ck, content_offset = NULL, segments = :segments::jsonb, size = :size, reserved = 0, digests = :digests,
         content_type = :ct, store = :store, updated_at = now() WHERE id = :id AND status = 'saving'`,
      { ck: c.key, segments: c.segments ? JSON.stringify(c.segments) : null, size: c.size, digests: JSON.stringify(c.digests), ct: c.contentType ?? 'application/octet-stream', store: c.store, id: blobId }, t,
    );
    return affected > 0;
  }

  /** Undoes a reservation: the previous content is active again, or the new row goes. */
  async rollback(blobId: string, hadContent: boolean): Promise<void> {
    if (hadContent) await this.sql.exec(`UPDATE blobs SET status = 'active', reserved = 0, updated_at = now() WHERE id = :id`, { id: blobId });
    else await this.sql.exec(`DELETE FROM blobs WHERE id = :id AND status = 'saving'`, { id: blobId });
  }

  /** Records a blob whose bytes are already in the store (inserted, or replacing the path's row). */
  async attach(t: Transaction | undefined, artifactId: string, field: string, path: string, c: StoredContent): Promise<void> {
    await this.sql.exec(
      `INSERT INTO blobs (id, artifact_id, field, path, status, store, content_key, content_offset, size, digests, content_type)
       VALUES (:bid, :id, :field, :path, 'active', :store, :key, :offset, :size, :digests, :ct)
       ON CONFLICT (artifact_id, field, path) DO UPDATE SET status = 'active', store = :store, content_key = :key, content_offset = :offset,
         size = :size, digests = :digests, content_type = :ct, reserved = 0, updated_at = now()`,
      { bid: randomUUID(), id: artifactId, field, path, store: c.store, key: c.key, offset: c.offset ?? null, size: c.size, digests: JSON.stringify(c.digests), ct: c.contentType ?? 'application/octet-stream' }, t,
    );
  }

  /** The blob's bytes become these object ranges, `key` being its new main object. */
  async setSegments(t: Transaction | undefined, blobId: string, key: string, segments: Segment[]): Promise<void> {
    await this.sql.exec(`UPDATE blobs SET content_key = :key, segments = :segments::jsonb, updated_at = now() WHERE id = :id`, { key, segments: JSON.stringify(segments), id: blobId }, t);
  }

  async delete(t: Transaction, blobId: string): Promise<void> {
    await this.sql.exec('DELETE FROM blobs WHERE id = :bid', { bid: blobId }, t);
  }

  /** Removes every entry of a (folder) field. */
  async deleteField(t: Transaction | undefined, artifactId: string, field: string): Promise<void> {
    await this.sql.exec(`DELETE FROM blobs WHERE artifact_id = :id AND field = :field`, { id: artifactId, field }, t);
  }

  /** Uploads whose heartbeat is older than `seconds`. */
  async stale(seconds: number): Promise<string[]> {
    const rows = await this.sql.select<{ id: string }>(`SELECT id FROM blobs WHERE status = 'saving' AND heartbeat_at < now() - (:s * interval '1 second')`, { s: seconds });
    return rows.map((r) => r.id);
  }

  /** Rolls a stale upload back, whichever kind (new row or replacement) it is. */
  async reap(blobId: string): Promise<void> {
    await this.sql.exec(`DELETE FROM blobs WHERE id = :id AND status = 'saving' AND content_key IS NULL`, { id: blobId });
    await this.sql.exec(`UPDATE blobs SET status = 'active', reserved = 0 WHERE id = :id AND status = 'saving'`, { id: blobId });
  }
}
