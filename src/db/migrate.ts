import * as path from 'node:path';
import * as fs from 'node:fs';
import { QueryTypes, Sequelize } from 'sequelize';
import type * as UmzugModule from 'umzug';
import { CODE_EXT, CODE_ROOT } from '../common/package-root';

export type MigrationContext = Sequelize;

/**
 * Applies the migrations in `migrations/` with umzug; the executed ones are recorded in
 * "SequelizeMeta". Compiled migrations (dist/migrations/*.js) are recorded under their source names
 * (*.ts), so a database migrated by either form carries on with the other.
 */
export async function migrate(sequelize: Sequelize, opts: { embedded: boolean }): Promise<string[]> {
  // The usual start finds every migration recorded: one query answers that, and umzug (whose CLI
  // stays ~5 MB resident once loaded) is not loaded at all.
  if (await allRecorded(sequelize)) return [];
  const before = new Set(Object.keys(require.cache));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Umzug, SequelizeStorage } = require('umzug') as typeof UmzugModule;
  try {
    const umzug = new Umzug<MigrationContext>({
      migrations: {
        glob: [`*${CODE_EXT}`, { cwd: path.join(CODE_ROOT, 'migrations'), ignore: ['*.d.ts'] }],
        resolve: ({ name, path: file, context }) => {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const mod = require(file as string);
          return { name: `${path.basename(name, CODE_EXT)}.ts`, up: () => mod.up(context), down: () => mod.down?.(context) };
        },
      },
      context: sequelize,
      storage: new SequelizeStorage({ sequelize }),
      logger: undefined,
    });
    // Two processes starting together on one server must not run the same migration twice. The lock
    // is session-level, so it is taken on a connection of its own that umzug does not use. Embedded
    // PGlite belongs to one process (and has one connection), so it needs none.
    if (opts.embedded) return (await umzug.up()).map((m) => m.name);
    const cm: any = sequelize.connectionManager;
    const conn = await cm.getConnection({ type: 'write' });
    try {
      await conn.query('SELECT pg_advisory_lock(7366172)');
      try {
        return (await umzug.up()).map((m) => m.name);
      } finally {
        await conn.query('SELECT pg_advisory_unlock(7366172)');
      }
    } finally {
      cm.releaseConnection(conn);
    }
  } finally {
    // umzug brings its CLI (@rushstack, fs-extra, argparse...): needed for the milliseconds of
    // migrating, ~5 MB of a serving process's memory if it stayed cached. Modules loaded only for
    // migrating (umzug, its dependencies, the migration files) are dropped so the collector can free
    // them; the database stack stays, whatever it loaded meanwhile.
    for (const id of Object.keys(require.cache)) {
      if (!before.has(id) && !/[\\/]node_modules[\\/](sequelize|pg[^\\/]*)[\\/]/.test(id)) delete require.cache[id];
    }
    // A module keeps the modules it required as `children`: let go of those too.
    module.children = module.children.filter((m) => require.cache[m.id] === m);
  }
}

/** Whether every migration file is recorded in "SequelizeMeta" (false when the table is missing). */
async function allRecorded(sequelize: Sequelize): Promise<boolean> {
  const files = fs.readdirSync(path.join(CODE_ROOT, 'migrations')).filter((f) => f.endsWith(CODE_EXT) && !f.endsWith('.d.ts'));
  const [{ exists }] = await sequelize.query<{ exists: boolean }>(`SELECT to_regclass('"SequelizeMeta"') IS NOT NULL AS exists`, { type: QueryTypes.SELECT });
  if (!exists) return false;
  const rows = await sequelize.query<{ name: string }>('SELECT name FROM "SequelizeMeta"', { type: QueryTypes.SELECT });
  const done = new Set(rows.map((r) => r.name));
  return files.every((f) => done.has(`${path.basename(f, CODE_EXT)}.ts`));
}
