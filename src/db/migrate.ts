import * as path from 'node:path';
import { Sequelize } from 'sequelize';
import type * as UmzugModule from 'umzug';

export type MigrationContext = Sequelize;

/** Applies the migrations in `migrations/` (umzug; the executed ones are recorded in SequelizeMeta). */
export async function migrate(sequelize: Sequelize, opts: { embedded: boolean }): Promise<string[]> {
  // Loaded here, not at the top: umzug pulls in its CLI (@rushstack, fs-extra, argparse...), ~10 MB
  // of a serving process's resident memory that is needed for the few milliseconds of migrating.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Umzug, SequelizeStorage } = require('umzug') as typeof UmzugModule;
  const umzug = new Umzug<MigrationContext>({
    migrations: {
      glob: ['*.ts', { cwd: path.resolve(__dirname, '../../migrations'), ignore: ['*.d.ts'] }],
      resolve: ({ name, path: file, context }) => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const mod = require(file as string);
        return { name, up: () => mod.up(context), down: () => mod.down?.(context) };
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
}
