import Router from '@koa/router';
import type { ArtifactEngine } from './artifacts/engine';
import { rejectBody } from './http/body';
import { forbidden, invalidInput } from './common/errors';
import { collectGarbage, DEFAULT_GC_GRACE_SECONDS, GcReport, storesInUse } from './storage/gc';

export { DEFAULT_GC_GRACE_SECONDS };

/** Every store name the running configuration can write to (types' stores and declared stores). */
export function configuredStores(engine: ArtifactEngine): string[] {
  return [...engine.types.all().map((t) => engine.storeOf(t).name), ...Object.keys(engine.config.stores)];
}

/** Garbage collection of every store in use; shared by `depot gc` and POST /admin/gc. */
export async function runGc(engine: ArtifactEngine, graceSeconds: number): Promise<GcReport[]> {
  const storeNames = await storesInUse(engine.locks, configuredStores(engine));
  return collectGarbage(engine.stores, engine.locks, { graceMs: graceSeconds * 1000, storeNames, stagingGraceMs: engine.config.uploadStaleSeconds * 1000 });
}

/**
 * Admin operations. `POST /admin/gc[?graceSeconds=N]` runs the garbage collector inside the serving
 * process: with embedded PGlite the data directory belongs to the server, so `depot gc` (a second
 * process) cannot open it while Depot runs; on a PostgreSQL server either way works, also together.
 */
export function adminRoutes(engine: ArtifactEngine): Router {
  const r = new Router();
  r.post('/admin/gc', async (ctx) => {
    rejectBody(ctx);
    if (!ctx.state.principal?.isAdmin) throw forbidden('only an admin may run the garbage collector');
    const raw = ctx.query.graceSeconds;
    const grace = raw === undefined ? DEFAULT_GC_GRACE_SECONDS : Number(raw);
    if (typeof raw !== 'undefined' && (typeof raw !== 'string' || !/^\d+$/.test(raw))) throw invalidInput('graceSeconds: expected a non-negative integer');
    ctx.body = { graceSeconds: grace, stores: await runGc(engine, grace) };
  });
  return r;
}
