import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import type { TrustStore } from '../sol004';
import type { Role } from '../common/principal';
import { checkFile, ConfigError, show } from './schema';
import { DRIVERS, PUBLIC_URL_PATTERN } from './sections';

export { ConfigError } from './schema';

// The one place that reads the environment and the config file (ARCHITECTURE §2). Everything else
// receives a `DepotConfig`, so tests can build one without touching process.env. Both are checked
// before anything starts: an unknown key, a wrong type or an unreadable value is a ConfigError naming
// the file (or the variable) and the key; sections.ts holds the file's schema and defaults.

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

export interface OAuth2Client {
  clientId: string;
  /** As configured inline; `secret` is what counts. */
  clientSecret?: string;
  clientSecretFile?: string;
  project: string;
  roles: Role[];
  /** The secret, inline or read from clientSecretFile when the configuration is built. */
  secret: string;
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
    /** The whole-package SHA-256 of an upload in a worker thread; absent means on (false: on the main thread). */
    hashWorker?: boolean;
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
  /**
   * The URL clients reach Depot at (scheme, host, optional path prefix, no trailing slash). Links
   * Depot hands out (next pages) are absolute under it; without it they are relative. Never taken
   * from the request's Host header, which the client chooses.
   */
  publicUrl?: string;
  http: {
    /** Nesting limit of JSON request bodies (objects and arrays), enforced before parsing. */
    maxJsonDepth: number;
  };
  /** Peers that make no progress: a request body, an upload_from_uri fetch (src/common/stall-guard.ts). */
  stalls: {
    /** a request body owing progress this long without making it ends the request (408 BODY_STALLED) */
    requestBodySeconds: number;
    /** an upload_from_uri fetch owing progress this long fails (the package goes to ERROR) */
    fetchSeconds: number;
    /** fewer bytes per second than this, over the stall time, is no progress (0: any byte is) */
    minBytesPerSecond: number;
  };
  /** One project's work never takes every worker (src/jobs/queue.ts, notifications.ts). */
  fairness: {
    /** upload_from_uri fetches run in a pool of their own, never on an onboarding worker */
    fetchWorkers: number;
    /** fetches of one project running at once, over every process */
    fetchesPerProject: number;
    /** onboarding jobs of one project running at once, over every process */
    onboardingsPerProject: number;
    /** notification deliveries to one project's subscribers at once, over every process */
    notificationsPerProject: number;
  };
  /** SOL004 package signatures (src/packages/signatures.ts). */
  signatures: {
    /** PEM bundle of trusted roots (and optionally intermediates), as configured. */
    trustStore?: string;
    /** An unsigned package (neither security option 1 nor 2) ends in ERROR (SIG-REQUIRED). */
    require: boolean;
    /** The trust store's certificates, read and parsed once when the configuration is built. */
    trust?: TrustStore;
  };
  /** OAuth 2.0 client credentials (src/http/oauth2.ts): who may obtain a bearer token, for how long. */
  oauth2: {
    tokenTtlSeconds: number;
    clients: OAuth2Client[];
  };
  /** A blob left in `saving` longer than this without progress is considered abandoned by a dead process. */
  uploadStaleSeconds: number;
  /** In-process garbage collection period (0: off); unreferenced content older than an hour goes. */
  gcIntervalSeconds: number;
}

type Base = Pick<DepotConfig, 'host' | 'port' | 'dataDir' | 'databaseUrl' | 'auth' | 'tokensFile' | 'logLevel'> & { publicUrl?: string };

const PUBLIC_URL = new RegExp(PUBLIC_URL_PATTERN);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Environment variables (README: Configuration) and the file DEPOT_CONFIG names. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): DepotConfig {
  const get = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const bad = (name: string, rule: string) => new ConfigError(`${name}: must be ${rule}, got ${show(env[name])}`);
  const port = get('DEPOT_PORT') ?? '9890';
  if (!/^\d+$/.test(port) || Number(port) > 65535) throw bad('DEPOT_PORT', 'an integer in [0, 65535]');
  const auth = get('DEPOT_AUTH') ?? 'tokens';
  if (auth !== 'tokens' && auth !== 'none') throw bad('DEPOT_AUTH', 'one of tokens, none');
  const logLevel = get('DEPOT_LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw bad('DEPOT_LOG_LEVEL', `one of ${LOG_LEVELS.join(', ')}`);
  const databaseUrl = get('DEPOT_DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\/./.test(databaseUrl)) throw bad('DEPOT_DATABASE_URL', 'a postgres:// URL');
  const publicUrl = get('DEPOT_PUBLIC_URL');
  if (publicUrl !== undefined && !PUBLIC_URL.test(publicUrl)) throw bad('DEPOT_PUBLIC_URL', 'an http(s) URL without query or fragment, e.g. https://depot.example');
  const dataDir = path.resolve(get('DEPOT_DATA_DIR') ?? './data');
  const file = get('DEPOT_CONFIG');
  return buildConfig(file === undefined ? {} : readConfigFile(file), {
    host: get('DEPOT_HOST') ?? '127.0.0.1',
    port: Number(port),
    dataDir,
    databaseUrl,
    auth,
    tokensFile: path.resolve(get('DEPOT_TOKENS_FILE') ?? path.join(dataDir, 'tokens.yaml')),
    logLevel,
    publicUrl,
  }, file, file === undefined ? undefined : path.dirname(path.resolve(file)));
}

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err: any) {
    throw new ConfigError(`DEPOT_CONFIG: cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  try {
    return YAML.parse(text);
  } catch (err: any) {
    const at = err.linePos?.[0] ? `line ${err.linePos[0].line}, column ${err.linePos[0].col}: ` : '';
    throw new ConfigError(`${file}: ${at}${String(err.message).split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
  }
}

/**
 * The configuration file's part on top of `base`; exported so tests build configurations from plain
 * objects. `source` names the file in errors; a relative `signatures.trustStore` resolves from `dir`
 * (the configuration file's directory; without one, the working directory).
 */
export function buildConfig(file: any, base: Base, source = 'configuration file', dir?: string): DepotConfig {
  const checked = checkFile(file, source);
  // What the schema cannot see: a command or a module per hook, and stores that exist.
  for (const [name, t] of Object.entries<TypeConfig>(checked.types)) {
    t.hooks.forEach((h, i) => {
      if (!h.command && !h.module) throw new ConfigError(`${source}: types.${name}.hooks[${i}]: give a command or a module`);
    });
    if (t.store !== undefined && !DRIVERS.includes(t.store) && !(t.store in checked.stores)) {
      throw new ConfigError(`${source}: types.${name}.store: no store "${t.store}" (drivers: ${DRIVERS.join(', ')}; declared under stores: ${Object.keys(checked.stores).join(', ') || 'none'})`);
    }
  }
  const publicUrl = (base.publicUrl ?? checked.publicUrl)?.replace(/\/+$/, '');
  const signatures = checked.signatures;
  if (signatures.trustStore !== undefined) {
    signatures.trustStore = path.resolve(dir ?? '.', signatures.trustStore);
    signatures.trust = readTrustStore(signatures.trustStore, source);
  }
  checked.oauth2.clients = readOAuth2Clients(checked.oauth2.clients, source);
  return { ...base, ...checked, publicUrl };
}

/**
 * Each OAuth 2.0 client with its secret: exactly one of clientSecret and clientSecretFile, read now
 * (a file's final newline is not part of the secret), 16+ characters; client ids are unique.
 */
function readOAuth2Clients(clients: Omit<OAuth2Client, 'secret'>[], source: string): OAuth2Client[] {
  const seen = new Set<string>();
  return clients.map((c, i) => {
    const where = `${source}: oauth2.clients[${i}]`;
    if (seen.has(c.clientId)) throw new ConfigError(`${where}.clientId: ${c.clientId} is declared twice`);
    seen.add(c.clientId);
    if ((c.clientSecret === undefined) === (c.clientSecretFile === undefined)) throw new ConfigError(`${where}: give exactly one of clientSecret and clientSecretFile`);
    let secret = c.clientSecret;
    if (c.clientSecretFile !== undefined) {
      try {
        secret = fs.readFileSync(c.clientSecretFile, 'utf8').replace(/\r?\n$/, '');
      } catch (err: any) {
        throw new ConfigError(`${where}.clientSecretFile: cannot read ${c.clientSecretFile}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
      }
      if (secret.length < 16) throw new ConfigError(`${where}.clientSecretFile: ${c.clientSecretFile} holds ${secret.length} characters; a client secret needs 16 or more`);
    }
    return { ...c, secret: secret as string };
  });
}

/**
 * The operator's trust store, read at start: a missing, unreadable or certificate-less file stops
 * the start (an empty store would silently reject every signed package).
 */
function readTrustStore(file: string, source: string): TrustStore {
  const where = `${source}: signatures.trustStore`;
  let text: string;
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch (err: any) {
    throw new ConfigError(`${where}: cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  try {
    // Loaded only when a trust store is configured: the X.509 parser is not needed otherwise.
    return (require('../sol004') as typeof import('../sol004')).parseTrustStore(text);
  } catch (err: any) {
    throw new ConfigError(`${where}: ${file}: ${String(err.message).split('\n')[0].replace(/^trust store: /, '')}`);
  }
}
