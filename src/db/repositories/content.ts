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

  /** The keys among `keys` that a blob of the store references (as its content or as a segment). */
  async referenced(store: string, keys: string[]): Promise<Set<string>> {
    const rows = await this.sql.select<{ content_key: string }>(
      `SELECT DISTINCT content_key FROM blobs WHERE store = :store AND content_key IN (:keys)
       UNION SELECT DISTINCT s->>'key' FROM blobs, jsonb_array_elements(segments) s WHERE segments IS NOT NULL AND store = :store AND s->>'key' IN (:keys)`,
      { store, keys },
    );
    return new Set(rows.map((r) => r.content_key));
  }

  async isReferenced(store: string, key: string, t?: Transaction): Promise<boolean> {
    const rows = await this.sql.select(
      `SELECT 1 FROM blobs WHERE store = :store AND (content_key = :key OR segments @> jsonb_build_array(jsonb_build_object('key', :key::text))) LIMIT 1`, { store, key }, t,
    );
    return rows.length > 0;
  }

  /** Every store a blob row names. */
  async stores(): Promise<string[]> {
    return (await this.sql.select<{ store: string }>('SELECT DISTINCT store FROM blobs', {})).map((r) => r.store);
  }
}
