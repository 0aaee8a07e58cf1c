import { QueryTypes, Sequelize } from 'sequelize';
import type { ContentLocks } from './content-locks';
import type { StoreRegistry } from './registry';

export interface GcReport {
  store: string;
  scanned: number;
  deleted: number;
  freedBytes: number;
  staging: number;
}

/**
 * Removes content that no blob references. Safe beside live uploads: an object younger than the
 * grace period is spared, and the final check-and-delete runs under the same content lock that an
 * upload holds while it publishes and references the same bytes.
 */
export async function collectGarbage(sequelize: Sequelize, stores: StoreRegistry, locks: ContentLocks, opts: { graceMs: number; storeNames: string[] }): Promise<GcReport[]> {
  const reports: GcReport[] = [];
  for (const name of opts.storeNames) {
    const store = stores.get(name);
    const report: GcReport = { store: name, scanned: 0, deleted: 0, freedBytes: 0, staging: 0 };
    const cutoff = Date.now() - opts.graceMs;
    let batch: { key: string; size: number }[] = [];
    const flush = async () => {
      if (!batch.length) return;
      const rows = await sequelize.query<{ content_key: string }>(
        'SELECT DISTINCT content_key FROM blobs WHERE store = :store AND content_key IN (:keys)',
        { replacements: { store: name, keys: batch.map((b) => b.key) }, type: QueryTypes.SELECT },
      );
      const used = new Set(rows.map((r) => r.content_key));
      for (const o of batch) {
        if (used.has(o.key)) continue;
        await locks.with(name, o.key, async (t) => {
          const [ref] = await sequelize.query('SELECT 1 FROM blobs WHERE store = :store AND content_key = :key LIMIT 1', { replacements: { store: name, key: o.key }, type: QueryTypes.SELECT, transaction: t });
          const info = await store.driver.stat(o.key);
          if (ref || !info || info.mtime.getTime() >= cutoff) return;
          await store.driver.delete(o.key);
          report.deleted++;
          report.freedBytes += info.size;
        });
      }
      batch = [];
    };
    for await (const o of store.driver.list()) {
      report.scanned++;
      if (o.mtime.getTime() >= cutoff) continue;
      batch.push(o);
      if (batch.length >= 500) await flush();
    }
    await flush();
    report.staging = await store.driver.sweepStaging(Math.max(opts.graceMs, 60_000));
    reports.push(report);
  }
  return reports;
}
