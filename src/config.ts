import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';

/**
 * The one place that reads the environment and the config file (ARCHITECTURE §2). Everything else
 * receives a `DepotConfig`, so tests can build one without touching process.env.
 */
export interface HookConfig {
  event: string;
  command?: string[];
  module?: string;
  timeoutSeconds: number;
}

export interface TypeConfig {
  store?: string;
  maxBlobSize?: number;
  hooks: HookConfig[];
}

export interface QuotaConfig {
  maxArtifacts?: number;
  maxBytes?: number;
}

export interface DepotConfig {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl?: string;
  auth: 'tokens' | 'none';
  tokensFile: string;
  logLevel: string;
  types: Record<string, TypeConfig>;
  /** Quotas per project: `default` applies to projects without their own entry; keys may be `project` or `project:type`. */
  quotas: Record<string, QuotaConfig>;
  stores: Record<string, Record<string, unknown>>;
  onboarding: {
    policy: 'default' | 'strict';
    maxEntries: number;
    maxUncompressedBytes: number;
    maxCompressionRatio: number;
    workers: number;
    /** Lease of a running job; a job whose lease ran out (its process died) is claimed again. */
    jobLeaseSeconds: number;
    maxAttempts: number;
  };
  uploadFromUri: {
    /** CIDRs or host names that may be fetched although they are not public (e.g. an internal mirror). */
    allow: string[];
    timeoutSeconds: number;
    maxBytes: number;
    maxRedirects: number;
  };
  /** SOL005 notification delivery (src/modules/vnf-packages/notifications.ts). */
  notifications: {
    /** Callback targets allowed although not public (CIDRs, addresses, host names, "*.suffix"); default: none. */
    allow: string[];
    workers: number;
    /** Delivery attempts before a notification is dead-lettered. */
    maxAttempts: number;
    /** Backoff: retryBaseSeconds * 2^(attempt-1), capped at retryMaxSeconds. */
    retryBaseSeconds: number;
    retryMaxSeconds: number;
    /** Whole HTTP exchange with the subscriber (delivery and the endpoint test at subscription). */
    timeoutSeconds: number;
  };
  /** A blob left in `saving` longer than this without progress is considered abandoned by a dead process. */
  uploadStaleSeconds: number;
  /** In-process garbage collection period (0: off); unreferenced content older than an hour goes. */
  gcIntervalSeconds: number;
}

const UNITS: Record<string, number> = {
  '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
};

/** "20GiB", "10 MiB", 1048576 → bytes. Refuses anything it cannot read instead of guessing. */
export function parseSize(value: unknown, where: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.floor(value);
  const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value) : null;
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`${where}: cannot read size ${JSON.stringify(value)} (use e.g. 10MiB, 20GiB)`);
  return Math.floor(parseFloat(m[1]) * unit);
}

function intEnv(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: expected a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): DepotConfig {
  const dataDir = path.resolve(env.DEPOT_DATA_DIR || './data');
  const auth = (env.DEPOT_AUTH || 'tokens') as DepotConfig['auth'];
  if (auth !== 'tokens' && auth !== 'none') throw new Error(`DEPOT_AUTH: expected "tokens" or "none", got ${JSON.stringify(auth)}`);
  const file: any = env.DEPOT_CONFIG ? YAML.parse(fs.readFileSync(env.DEPOT_CONFIG, 'utf8')) ?? {} : {};
  return buildConfig(file, {
    host: env.DEPOT_HOST || '127.0.0.1',
    port: intEnv(env, 'DEPOT_PORT', 9890),
    dataDir,
    databaseUrl: env.DEPOT_DATABASE_URL || undefined,
    auth,
    tokensFile: path.resolve(env.DEPOT_TOKENS_FILE || path.join(dataDir, 'tokens.yaml')),
    logLevel: env.DEPOT_LOG_LEVEL || 'info',
  });
}

/** Config-file part; exported so tests build configurations from plain objects. */
export function buildConfig(
  file: any,
  base: Pick<DepotConfig, 'host' | 'port' | 'dataDir' | 'databaseUrl' | 'auth' | 'tokensFile' | 'logLevel'>,
): DepotConfig {
  const types: Record<string, TypeConfig> = {};
  for (const [name, t] of Object.entries<any>(file.types ?? {})) {
    types[name] = {
      store: t?.store,
      maxBlobSize: t?.maxBlobSize !== undefined ? parseSize(t.maxBlobSize, `types.${name}.maxBlobSize`) : undefined,
      hooks: (t?.hooks ?? []).map((h: any, i: number) => {
        const where = `types.${name}.hooks[${i}]`;
        if (!h?.event) throw new Error(`${where}.event is required`);
        if (!h.command && !h.module) throw new Error(`${where}: give a command or a module`);
        if (h.command && (!Array.isArray(h.command) || !h.command.every((c: unknown) => typeof c === 'string'))) {
          throw new Error(`${where}.command must be a list of strings`);
        }
        return { event: h.event, command: h.command, module: h.module, timeoutSeconds: Number(h.timeoutSeconds ?? 60) };
      }),
    };
  }
  const quotas: Record<string, QuotaConfig> = {};
  for (const [k, q] of Object.entries<any>(file.quotas ?? {})) {
    quotas[k] = {
      maxArtifacts: q?.maxArtifacts !== undefined ? Number(q.maxArtifacts) : undefined,
      maxBytes: q?.maxBytes !== undefined ? parseSize(q.maxBytes, `quotas.${k}.maxBytes`) : undefined,
    };
  }
  const ob = file.onboarding ?? {};
  const uri = file.uploadFromUri ?? {};
  return {
    ...base,
    types,
    quotas,
    stores: file.stores ?? {},
    onboarding: {
      policy: ob.policy === 'strict' ? 'strict' : 'default',
      maxEntries: Number(ob.maxEntries ?? 100_000),
      maxUncompressedBytes: parseSize(ob.maxUncompressedBytes ?? '64GiB', 'onboarding.maxUncompressedBytes'),
      maxCompressionRatio: Number(ob.maxCompressionRatio ?? 200),
      workers: Number(ob.workers ?? 1),
      jobLeaseSeconds: Number(ob.jobLeaseSeconds ?? 60),
      maxAttempts: Number(ob.maxAttempts ?? 3),
    },
    uploadFromUri: {
      allow: uri.allow ?? [],
      timeoutSeconds: Number(uri.timeoutSeconds ?? 600),
      maxBytes: parseSize(uri.maxBytes ?? '64GiB', 'uploadFromUri.maxBytes'),
      maxRedirects: Number(uri.maxRedirects ?? 5),
    },
    notifications: {
      allow: file.notifications?.allow ?? [],
      workers: Number(file.notifications?.workers ?? 4),
      maxAttempts: Number(file.notifications?.maxAttempts ?? 10),
      retryBaseSeconds: Number(file.notifications?.retryBaseSeconds ?? 2),
      retryMaxSeconds: Number(file.notifications?.retryMaxSeconds ?? 3600),
      timeoutSeconds: Number(file.notifications?.timeoutSeconds ?? 10),
    },
    uploadStaleSeconds: Number(file.uploadStaleSeconds ?? 300),
    gcIntervalSeconds: Number(file.gcIntervalSeconds ?? 3600),
  };
}
