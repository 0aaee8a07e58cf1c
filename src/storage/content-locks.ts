import type { Sequelize, Transaction } from 'sequelize';
import { inTransaction } from '../db/database';
import { ContentRepository } from '../db/repositories/content';

/**
 * Mutual exclusion between "publish content K and reference it" (uploads) and "K is unreferenced,
 * delete it" (garbage collection), so a collection running beside live uploads never deletes bytes
 * that an upload has just re-used. On a PostgreSQL server the lock is a transaction-scoped advisory
 * lock, so it holds across Depot processes. Embedded PGlite belongs to one process and has a single
 * connection (a second transaction would wait on the first forever), so there it is a keyed mutex.
 */
export class ContentLocks {
  private readonly local = new Map<string, Promise<unknown>>();
  /** Which objects blob rows reference: what the collector checks under the lock. */
  readonly content: ContentRepository;

  constructor(private readonly sequelize: Sequelize, private readonly embedded: boolean) {
    this.content = new ContentRepository(sequelize);
  }

  async with<T>(store: string, key: string, fn: (t: Transaction | undefined) => Promise<T>): Promise<T> {
    const id = `${store}:${key}`;
    if (!this.embedded) {
      return inTransaction(this.sequelize, async (t) => {
        await this.content.lock(t, id);
        return fn(t);
      });
    }
    const prev = this.local.get(id) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => fn(undefined));
    this.local.set(id, run);
    try {
      return await run;
    } finally {
      if (this.local.get(id) === run) this.local.delete(id);
    }
  }
}
