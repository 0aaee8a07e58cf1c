import type { Sequelize, Transaction } from 'sequelize';
import { Sql } from '../sql';

/** Which stored objects blob rows reference (garbage collection), and the lock around publishing one. */
export class ContentRepository {
  private readonly sql: Sql;

  constructor(sequelize: Sequelize) {
    this.sql = new Sql(sequelize);
  }

  /** Transaction-scoped advisory lock on a name: held across Depot processes until commit. */
  async lock(t: Transaction, name: string): Promise<void> {
    await this.sql.exec('SELECT pg_advisory_xact_lock(hashtextextended(:id, 0))', { id: name }, t);
  }

  /**
   * The keys among `keys` that are referenced: by a blob of the store (as its content or as a
   * segment), or pinned by a job that has not ended (`payload.pins`: objects an upload stored for the
   * job to attach, e.g. a package's files between its upload and its processing). Pins are keys of
   * any store (content keys are SHA-256: pinning one in every store only keeps bytes longer).
   */
  async referenced(store: string, keys: string[]): Promise<Set<string>> {
    const rows = await this.sql.select<{ content_key: string }>(
      `SELECT DISTINCT content_key FROM blobs WHERE store = :store AND content_key IN (:keys)
       UNION SELECT DISTINCT s->>'key' FROM blobs, jsonb_array_elements(segments) s WHERE segments IS NOT NULL AND store = :store AND s->>'key' IN (:keys)
       UNION SELECT DISTINCT k FROM jobs, jsonb_array_elements_text(CASE WHEN jsonb_typeof(payload->'pins') = 'array' THEN payload->'pins' ELSE '[]' END) k
         WHERE state IN ('queued', 'running') AND k IN (:keys)`,
      { store, keys },
    );
    return new Set(rows.map((r) => r.content_key));
  }

  async isReferenced(store: string, key: string, t?: Transaction): Promise<boolean> {
    const rows = await this.sql.select(
      `SELECT 1 FROM blobs WHERE store = :store AND (content_key = :key OR segments @> jsonb_build_array(jsonb_build_object('key', :key::text)))
       UNION ALL SELECT 1 FROM jobs WHERE state IN ('queued', 'running') AND payload->'pins' @> jsonb_build_array(:key::text) LIMIT 1`, { store, key }, t,
    );
    return rows.length > 0;
  }

  /** Every store a blob row names. */
  async stores(): Promise<string[]> {
    return (await this.sql.select<{ store: string }>('SELECT DISTINCT store FROM blobs', {})).map((r) => r.store);
  }
}
