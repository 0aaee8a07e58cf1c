import * as fs from 'node:fs';
import * as path from 'node:path';
import { Sequelize, Transaction } from 'sequelize';
import type { Logger } from 'pino';
import { pgDriver } from './pg-driver';

/**
 * The database port. With no DEPOT_DATABASE_URL, Depot runs on embedded PostgreSQL: PGlite (WASM)
 * served over the PostgreSQL wire protocol on a loopback port, so the ordinary `pg` driver and the
 * same SQL work everywhere. PGlite is one session, hence a pool of 1: callers must pass their
 * transaction to every query made inside it, or they would wait for themselves.
 */
export interface Database {
  sequelize: Sequelize;
  embedded: boolean;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url?: string;
  dataDir: string;
  logger?: Logger;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.url) {
    const sequelize = new Sequelize(opts.url, {
      dialect: 'postgres',
      dialectModule: pgDriver(),
      logging: false,
      pool: { max: 10, min: 0, idle: 10_000 },
    });
    await sequelize.authenticate();
    return { sequelize, embedded: false, close: () => sequelize.close() };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const dir = path.join(opts.dataDir, 'pg');
  fs.mkdirSync(dir, { recursive: true });
  const db = await PGlite.create(dir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
  await server.start();
  const conn = server.getServerConn(); // "127.0.0.1:port"
  const port = Number(conn.split(':').pop());
  const sequelize = new Sequelize('postgres', 'postgres', '', {
    dialect: 'postgres',
    dialectModule: pgDriver(),
    host: '127.0.0.1',
    port,
    logging: false,
    pool: { max: 1, min: 0, idle: 60_000, acquire: 120_000 },
  });
  await sequelize.authenticate();
  opts.logger?.info({ dir }, 'embedded PostgreSQL (PGlite) started');
  return {
    sequelize,
    embedded: true,
    async close() {
      await sequelize.close();
      await server.stop();
      await db.close();
    },
  };
}

/** Answers when the database does (readiness). */
export async function ping(sequelize: Sequelize): Promise<void> {
  await sequelize.query('SELECT 1');
}

/**
 * Runs `fn` in a transaction, retrying on serialization failures and deadlocks: concurrency is
 * arbitrated by PostgreSQL (row locks, advisory locks, unique indexes), never by process memory.
 */
export async function inTransaction<T>(sequelize: Sequelize, fn: (t: Transaction) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await sequelize.transaction(fn);
    } catch (err: any) {
      const code = err?.original?.code ?? err?.parent?.code;
      if ((code === '40001' || code === '40P01') && attempt < 5) continue;
      throw err;
    }
  }
}
