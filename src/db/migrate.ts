import * as fs from 'node:fs';
import * as path from 'node:path';
import { QueryTypes, Sequelize } from 'sequelize';
import { CODE_EXT, CODE_ROOT } from '../common/package-root';

export type MigrationContext = Sequelize;

/**
 * Applies the migrations in `migrations/` that are not yet recorded, in file-name order. Each is a
 * module exporting `up(sequelize)` (and `down`, for a human). The executed ones are recorded in
 * "SequelizeMeta" (the table and names umzug used, so databases it migrated carry on).
 *
 * Not umzug itself: loading it brings its CLI (@rushstack, z-schema, fs-extra, argparse), which then
 * stays resident — ~5 MB of an idle server's ~80 — for the few milliseconds of checking the list.
 */
export async function migrate(sequelize: Sequelize, opts: { embedded: boolean }): Promise<string[]> {
  // Two processes starting together on one server must not run the same migration twice. The lock
  // is session-level, so it is taken on a connection of its own that the migrations do not use.
  // Embedded PGlite belongs to one process (and has one connection), so it needs none.
  if (opts.embedded) return applyPending(sequelize);
  const cm: any = sequelize.connectionManager;
  const conn = await cm.getConnection({ type: 'write' });
  try {
    await conn.query('SELECT pg_advisory_lock(7366172)');
    try {
      return await applyPending(sequelize);
    } finally {
      await conn.query('SELECT pg_advisory_unlock(7366172)');
    }
  } finally {
    cm.releaseConnection(conn);
  }
}

async function applyPending(sequelize: Sequelize): Promise<string[]> {
  const dir = path.join(CODE_ROOT, 'migrations');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(CODE_EXT) && !f.endsWith('.d.ts')).sort();
  await sequelize.query('CREATE TABLE IF NOT EXISTS "SequelizeMeta" (name varchar(255) NOT NULL PRIMARY KEY)');
  const rows = await sequelize.query<{ name: string }>('SELECT name FROM "SequelizeMeta"', { type: QueryTypes.SELECT });
  const done = new Set(rows.map((r) => r.name));
  const applied: string[] = [];
  for (const file of files) {
    // Recorded under the source file's name ("…-initial.ts"): the compiled .js is the same migration.
    const name = `${path.basename(file, CODE_EXT)}.ts`;
    if (done.has(name)) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(dir, file)) as { up(context: MigrationContext): Promise<void> };
    await mod.up(sequelize);
    await sequelize.query('INSERT INTO "SequelizeMeta" (name) VALUES (:name)', { replacements: { name } });
    applied.push(name);
  }
  return applied;
}
