import { loadConfig } from './config';
import { openDatabase } from './db/database';
import { migrate } from './db/migrate';
import { createLogger } from './common/logger';
import { ContentLocks } from './storage/content-locks';
import { collectGarbage, DEFAULT_GC_GRACE_SECONDS, storesInUse } from './storage/gc';
import { StoreRegistry } from './storage/registry';
import { defaultModules } from './modules';
import { typeRegistry } from './modules/module';

/**
 * `depot gc [--grace-seconds N]`: removes stored content that no blob references, and staging
 * objects left by interrupted uploads, in every store in use. Safe beside a running Depot on a
 * PostgreSQL server (content locks are advisory locks there). With embedded PGlite the server owns
 * the data directory: stop it first, or call `POST /admin/gc` on the running server instead.
 */
export async function gcCommand(argv: string[]): Promise<number> {
  let grace = DEFAULT_GC_GRACE_SECONDS;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--grace-seconds(?:=(.*))?$/.exec(a);
    const v = m ? (m[1] ?? argv[++i]) : undefined;
    if (m && v !== undefined && /^\d+$/.test(v)) grace = Number(v);
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: depot gc [--grace-seconds N]   (default 3600: content younger than N seconds is kept)\n');
      return 0;
    } else {
      process.stderr.write(`depot gc: unexpected argument ${JSON.stringify(a)}${m ? ' (--grace-seconds needs a non-negative integer)' : ''}\n`);
      return 2;
    }
  }
  const config = loadConfig();
  const log = createLogger(process.env.DEPOT_LOG_LEVEL || 'warn');
  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, logger: log }).catch((err) => {
    throw new Error(`cannot open the database${config.databaseUrl ? '' : ` in ${config.dataDir}/pg (is Depot running on it? use POST /admin/gc then)`}: ${err?.message ?? err}`);
  });
  try {
    await migrate(db.sequelize, { embedded: db.embedded });
    const stores = new StoreRegistry({ dataDir: config.dataDir, sequelize: db.sequelize, stores: config.stores });
    const configured = [
      ...typeRegistry(defaultModules()).all().map((t) => config.types[t.name]?.store ?? t.defaultStore ?? 'fs'),
      ...Object.values(config.types).map((t) => t.store).filter((s): s is string => !!s),
      ...Object.keys(config.stores),
    ];
    const locks = new ContentLocks(db.sequelize, db.embedded);
    const storeNames = await storesInUse(locks, configured);
    const started = Date.now();
    const reports = await collectGarbage(stores, locks, { graceMs: grace * 1000, storeNames, stagingGraceMs: config.uploadStaleSeconds * 1000 });
    const rows = [['store', 'scanned', 'deleted', 'freed bytes', 'staging removed'], ...reports.map((r) => [r.store, r.scanned, r.deleted, r.freedBytes, r.staging].map(String))];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) process.stdout.write(`${r.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ')}\n`);
    for (const r of reports) if (r.skipped) process.stderr.write(`gc: store ${r.store} skipped: ${r.skipped}\n`);
    const total = reports.reduce((s, r) => s + r.freedBytes, 0);
    process.stdout.write(`gc: ${reports.reduce((s, r) => s + r.deleted, 0)} object(s), ${total} bytes freed in ${Date.now() - started} ms (grace ${grace} s)\n`);
    return 0;
  } finally {
    await db.close();
  }
}
