import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createApp } from './app';
import { DEFAULT_GC_GRACE_SECONDS, runGc } from './admin';
import { ArtifactEngine } from './artifacts/engine';
import type { DepotConfig } from './config';
import { Database, openDatabase, ping } from './db/database';
import { migrate } from './db/migrate';
import { Authenticator, loadTokens } from './http/auth';
import { AccessTokens } from './common/access-tokens';
import { sharedKey } from './db/repositories/settings';
import { oauth2Routes, TOKEN_PATH } from './http/oauth2';
import { ContentLocks } from './storage/content-locks';
import { StoreRegistry } from './storage/registry';
import { defaultModules } from './modules';
import { DepotModule, typeRegistry } from './modules/module';
import { createLogger } from './common/logger';

export { createLogger };

export interface Depot {
  config: DepotConfig;
  db: Database;
  engine: ArtifactEngine;
  server: http.Server;
  url: string;
  log: Logger;
  close(): Promise<void>;
}

/**
 * Boots the whole service: database (+ migrations), stores, the modules' types, app, listener,
 * background tasks. Without `modules`, the default set (src/modules/index.ts) runs.
 */
export async function startDepot(config: DepotConfig, opts: { log?: Logger; modules?: readonly DepotModule[] } = {}): Promise<Depot> {
  const log = opts.log ?? createLogger(config.logLevel);
  const modules = opts.modules ?? defaultModules();
  const types = typeRegistry(modules);
  fs.mkdirSync(config.dataDir, { recursive: true });
  if (config.auth === 'none') log.warn('DEPOT_AUTH=none: every caller is admin of project "default" (development only)');
  const tokens = config.auth === 'tokens' ? loadTokens(config.tokensFile, log) : [];
  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, logger: log });
  await migrate(db.sequelize, { embedded: db.embedded });
  const stores = new StoreRegistry({ dataDir: config.dataDir, sequelize: db.sequelize, stores: config.stores });
  const locks = new ContentLocks(db.sequelize, db.embedded);
  const engine = new ArtifactEngine(db.sequelize, types, stores, locks, config, log);
  const parts = modules.flatMap((m) => (m.setup ? [m.setup({ engine, db, config, log })] : []));
  // Fail at start, not at the first upload, when a configured store is unknown.
  for (const t of types.all()) engine.storeOf(t);

  // Embedded PGlite is owned by this process alone: any upload still `saving` is from a dead run.
  await engine.reapStaleUploads(db.embedded ? 0 : config.uploadStaleSeconds);
  const reaper = setInterval(() => engine.reapStaleUploads(config.uploadStaleSeconds).catch((err) => log.error({ err }, 'reaper failed')), Math.max(config.uploadStaleSeconds * 500, 1000));
  reaper.unref();
  const gc = config.gcIntervalSeconds > 0
    ? setInterval(() => runGc(engine, DEFAULT_GC_GRACE_SECONDS).catch((err) => log.error({ err }, 'garbage collection failed')), config.gcIntervalSeconds * 1000)
    : undefined;
  gc?.unref();

  // OAuth 2.0 access tokens are signed, not stored: every process shares the key through the database.
  const accessTokens = new AccessTokens(config.oauth2.clients, config.oauth2.tokenTtlSeconds, sharedKey(db.sequelize, 'oauth2.token_key'));
  const app = createApp({
    engine,
    auth: new Authenticator(config.auth, tokens, (t) => accessTokens.verify(t)),
    log,
    routers: [oauth2Routes(accessTokens, log), ...parts.flatMap((p) => p.routers ?? [])],
    publicPaths: [new RegExp(`^${TOKEN_PATH}$`), ...parts.flatMap((p) => p.publicPaths ?? [])],
    errorDialects: parts.flatMap((p) => p.errorDialects ?? []),
    http: config,
    ready: async () => {
      await ping(db.sequelize);
      for (const s of stores.all()) await s.driver.ping();
    },
  });
  const server = http.createServer(app.callback());
  // Multi-GiB uploads take minutes: no request timeout; idle sockets are still closed.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
  for (const p of parts) p.start?.();
  log.info({ url, database: db.embedded ? 'embedded PGlite' : 'PostgreSQL' }, 'Depot listening');
  return {
    config, db, engine, server, url, log,
    async close() {
      clearInterval(reaper);
      if (gc) clearInterval(gc);
      for (const p of parts) await p.stop?.();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await db.close();
    },
  };
}
