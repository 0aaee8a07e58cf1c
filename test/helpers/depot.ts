import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import YAML from 'yaml';
import pino, { type Logger } from 'pino';
import { buildConfig, DepotConfig } from '../../src/config';
import { Depot, startDepot } from '../../src/service';
import type { DepotModule } from '../../src/modules/module';
import { openDatabase } from '../../src/db/database';
import { migrate } from '../../src/db/migrate';

/**
 * Real service, real database, real HTTP over loopback. With DEPOT_TEST_DATABASE_URL (set by
 * .ci/run) every instance uses that PostgreSQL database; without it each instance gets its own
 * embedded PGlite, copied from a template initialised once per run (PGlite's initdb takes seconds).
 * Every instance gets fresh project names, so instances sharing one database never see each other.
 */
export interface TestUser {
  token: string;
  user: string;
  project: string;
}

export interface TestDepot {
  depot: Depot;
  url: string;
  dataDir: string;
  users: { admin: TestUser; alice: TestUser; alice2: TestUser; bob: TestUser; reader: TestUser };
  config: DepotConfig;
  request(method: string, urlPath: string, opts?: { as?: TestUser; headers?: Record<string, string>; body?: unknown; json?: unknown }): Promise<Response>;
  close(): Promise<void>;
}

let template: string | undefined;

async function embeddedTemplate(): Promise<string> {
  if (template) return template;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-template-'));
  const db = await openDatabase({ dataDir: dir });
  await migrate(db.sequelize, { embedded: true });
  await db.close();
  template = dir;
  return dir;
}

export function testDatabaseUrl(): string | undefined {
  const url = process.env.DEPOT_TEST_DATABASE_URL;
  if (!url && process.env.CI === 'true') throw new Error('CI=true requires DEPOT_TEST_DATABASE_URL (a real PostgreSQL); run the tests through .ci/run');
  return url || undefined;
}

export async function startTestDepot(file: Record<string, unknown> = {}, opts: { dataDir?: string; users?: TestDepot['users']; modules?: DepotModule[]; log?: Logger } = {}): Promise<TestDepot> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'depot-test-'));
  const databaseUrl = testDatabaseUrl();
  if (!databaseUrl && !fs.existsSync(path.join(dataDir, 'pg'))) fs.cpSync(path.join(await embeddedTemplate(), 'pg'), path.join(dataDir, 'pg'), { recursive: true });
  const suffix = randomBytes(4).toString('hex');
  const mk = (user: string, project: string, roles: string[]) => ({ token: randomBytes(20).toString('hex'), user, project: `${project}-${suffix}`, roles });
  const raw = opts.users
    ? Object.values(opts.users).map((u) => ({ ...u, roles: u.user === 'admin' ? ['admin'] : u.user === 'reader' ? ['reader'] : ['member'] }))
    : [mk('admin', 'ops', ['admin']), mk('alice', 'vendor-a', ['member']), mk('alice2', 'vendor-a', ['member']), mk('bob', 'vendor-b', ['member']), mk('reader', 'vendor-a', ['reader'])];
  if (!opts.users) raw[2].project = raw[1].project, raw[4].project = raw[1].project;
  const tokensFile = path.join(dataDir, 'tokens.yaml');
  fs.writeFileSync(tokensFile, YAML.stringify({ tokens: raw }));
  const users = (opts.users ?? Object.fromEntries(raw.map((u) => [u.user, { token: u.token, user: u.user, project: u.project }]))) as TestDepot['users'];
  const config = buildConfig(file, { host: '127.0.0.1', port: 0, dataDir, databaseUrl, auth: 'tokens', tokensFile, logLevel: 'silent' });
  const depot = await startDepot(config, { log: opts.log ?? pino({ level: process.env.DEPOT_TEST_LOG ?? 'silent' }), modules: opts.modules });
  // As a deployment configures it: links are absolute under the server's own URL (known once it
  // listens; the service reads the setting on each request).
  config.publicUrl ??= depot.url;
  return {
    depot,
    url: depot.url,
    dataDir,
    users,
    config,
    async request(method, urlPath, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      const as = o.as === undefined ? users.alice : o.as;
      if (as) headers.Authorization = `Bearer ${as.token}`;
      let body: any = o.body;
      if (o.json !== undefined) {
        body = JSON.stringify(o.json);
        headers['Content-Type'] ??= 'application/json';
      }
      return fetch(`${depot.url}${urlPath}`, { method, headers, body, duplex: 'half' } as RequestInit);
    },
    async close() {
      await depot.close();
      if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A migrated database without a service (for storage-level tests): the test PostgreSQL database
 * when DEPOT_TEST_DATABASE_URL is set, else a fresh embedded PGlite copied from the template.
 */
export async function openTestDatabase(): Promise<import('../../src/db/database').Database> {
  const url = testDatabaseUrl();
  if (url) {
    const db = await openDatabase({ url, dataDir: os.tmpdir() });
    await migrate(db.sequelize, { embedded: false });
    return db;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-db-'));
  fs.cpSync(path.join(await embeddedTemplate(), 'pg'), path.join(dir, 'pg'), { recursive: true });
  const db = await openDatabase({ dataDir: dir });
  return { ...db, close: async () => { await db.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

/** The embedded template's data directory (initialised once per test run), for child-process tests. */
export { embeddedTemplate };
