import type { ContentLocks } from './content-locks';
import type { StoreRegistry } from './registry';

/** Content younger than this is kept by default (an upload's objects are referenced only when it completes). */
export const DEFAULT_GC_GRACE_SECONDS = 3600;

export interface GcReport {
  store: string;
  scanned: number;
  deleted: number;
  freedBytes: number;
  staging: number;
  /** Why the store was not collected (e.g. blobs still name a store this configuration lacks). */
  skipped?: string;
}

/**
 * Removes content that no blob references. Safe beside live uploads: an object younger than the
 * grace period is spared, and the final check-and-delete runs under the same content lock that an
 * upload holds while it publishes and references the same bytes.
 */
export async function collectGarbage(
  stores: StoreRegistry, locks: ContentLocks,
  opts: { graceMs: number; storeNames: string[]; /** Staging untouched this long belongs to a dead upload (uploadStaleSeconds). */ stagingGraceMs?: number },
): Promise<GcReport[]> {
  const reports: GcReport[] = [];
  for (const name of opts.storeNames) {
    let store;
    try {
      store = stores.get(name);
    } catch (err: any) {
      reports.push({ store: name, scanned: 0, deleted: 0, freedBytes: 0, staging: 0, skipped: err?.message ?? String(err) });
      continue;
    }
    const report: GcReport = { store: name, scanned: 0, deleted: 0, freedBytes: 0, staging: 0 };
    const cutoff = Date.now() - opts.graceMs;
    let batch: { key: string; size: number }[] = [];
    const flush = async () => {
      if (!batch.length) return;
      const used = await locks.content.referenced(name, batch.map((b) => b.key));
      for (const o of batch) {
        if (used.has(o.key)) continue;
        await locks.with(name, o.key, async (t) => {
          const ref = await locks.content.isReferenced(name, o.key, t);
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
    // Staging of this process's live uploads is never swept (the driver knows them). Another
    // process's upload keeps its staging fresh while it progresses, and one that stalls longer than
    // uploadStaleSeconds is rolled back by the reaper anyway: so staging goes once it is older than
    // both the grace period and that. (Sweeping with the grace alone took, with grace 0, the staged
    // bytes of an upload waiting to publish: a 500.)
    report.staging = await store.driver.sweepStaging(Math.max(opts.graceMs, opts.stagingGraceMs ?? 0));
    reports.push(report);
  }
  return reports;
}

/**
 * Names of every store that may hold content: the stores the types are configured with, the ones
 * declared in the config file, and any a blob row still points at (a type may have moved store).
 */
export async function storesInUse(locks: ContentLocks, configured: Iterable<string>): Promise<string[]> {
  return [...new Set([...configured, ...(await locks.content.stores())])].sort();
}
