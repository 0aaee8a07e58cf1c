import type { HookEvent } from '../artifacts/types';

/**
 * The configuration file's schema, one section per module that reads it. Defaults live here (Ajv
 * fills them in), so a section read by its module is complete; `size` (schema.ts) turns "20GiB" into
 * bytes. Every key is documented in README's configuration reference: a key added here goes there.
 */
type Schema = Record<string, unknown>;

const MiB = 2 ** 20;
const GiB = 2 ** 30;

const integer = (minimum: number, dflt?: number, maximum?: number): Schema => ({
  type: 'integer', minimum, ...(maximum !== undefined && { maximum }), ...(dflt !== undefined && { default: dflt }),
});
/** A duration or ratio: any number above zero (0.2 s retries are fine). */
const positive = (dflt: number): Schema => ({ type: 'number', exclusiveMinimum: 0, default: dflt });
const size = (dflt?: number, range?: { min?: number; max?: number }): Schema => ({ size: range ?? true, ...(dflt !== undefined && { default: dflt }) });
const strings: Schema = { type: 'array', items: { type: 'string' }, default: [] };
const section = (properties: Record<string, Schema>): Schema => ({ type: 'object', default: {}, additionalProperties: false, properties });

const HOOK_EVENTS = [
  'pre_create', 'post_create', 'pre_update', 'pre_upload', 'post_upload',
  'pre_activate', 'post_activate', 'pre_delete', 'post_delete', 'pre_download',
] as const satisfies readonly HookEvent[];
// Fails to compile when HookEvent gains an event this list lacks.
const everyHookEvent: Exclude<HookEvent, (typeof HOOK_EVENTS)[number]> extends never ? true : never = true;
void everyHookEvent;

/** Artifact types (src/artifacts): store, blob size limit and operator hooks per type name. */
export const typesSection: Schema = {
  type: 'object',
  default: {},
  additionalProperties: {
    type: 'object',
    additionalProperties: false,
    properties: {
      store: { type: 'string', minLength: 1 },
      maxBlobSize: size(),
      hooks: {
        type: 'array',
        default: [],
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['event'],
          properties: {
            event: { enum: HOOK_EVENTS },
            command: { type: 'array', minItems: 1, items: { type: 'string' } },
            module: { type: 'string', minLength: 1 },
            timeoutSeconds: positive(60),
          },
        },
      },
    },
  },
};

/**
 * Options of each blob-store driver (src/storage/registry.ts; s3: parseS3Options checks them again).
 * A store is checked against its driver's schema alone (schema.ts): one schema choosing among the
 * drivers compiles to ~100 KB of code, several MB resident in a server that validates once.
 */
export const DRIVER_SCHEMAS: Record<string, Schema> = {
  fs: driver({ root: { type: 'string', minLength: 1 } }),
  database: driver({}),
  s3: driver({
    endpoint: { type: 'string', pattern: '^https?://' },
    bucket: { type: 'string', minLength: 1 },
    region: { type: 'string', minLength: 1 },
    accessKeyId: { type: 'string' },
    secretAccessKey: { type: 'string' },
    secretAccessKeyFile: { type: 'string' },
    sessionToken: { type: 'string' },
    caFile: { type: 'string' },
    forcePathStyle: { type: 'boolean' },
    prefix: { type: 'string' },
    partSize: size(undefined, { min: 5 * MiB, max: 5 * GiB }),
    queueSize: integer(1, undefined, 16),
    copyPartSize: size(undefined, { min: 5 * MiB, max: 5 * GiB }),
    copyThreshold: size(undefined, { max: 5 * GiB }),
    maxParts: integer(1, undefined, 10_000),
    timeoutMs: integer(1000),
    retries: integer(0, undefined, 10),
  }, ['bucket']),
};
export const DRIVERS = Object.keys(DRIVER_SCHEMAS);

function driver(options: Record<string, Schema>, required: string[] = []): Schema {
  return { type: 'object', additionalProperties: false, required, properties: { driver: { type: 'string' }, ...options } };
}

/**
 * Blob stores (src/storage): `stores.<name>` with its driver's options; a store named after a driver
 * may omit `driver:`.
 */
export const storesSection: Schema = { type: 'object', default: {}, additionalProperties: { type: 'object' } };

/** Quotas (src/artifacts): per project, per project:type, or `default`. */
export const quotasSection: Schema = {
  type: 'object',
  default: {},
  additionalProperties: { type: 'object', additionalProperties: false, properties: { maxArtifacts: integer(0), maxBytes: size() } },
};

/** CSAR onboarding (the package pipeline and its durable jobs). */
export const onboardingSection = section({
  policy: { enum: ['default', 'strict'], default: 'default' },
  maxEntries: integer(1, 100_000),
  maxUncompressedBytes: size(64 * GiB),
  maxCompressionRatio: positive(200),
  workers: integer(1, 1),
  jobLeaseSeconds: integer(1, 60),
  maxAttempts: integer(1, 3),
  // Absent means off (hashFeed's default).
  hashWorker: { type: 'boolean' },
});

/** SOL005 upload from a URI (src/net). */
export const uploadFromUriSection = section({
  allow: strings,
  timeoutSeconds: positive(600),
  maxBytes: size(64 * GiB),
  maxRedirects: integer(0, 5),
});

/** SOL005 notification delivery. */
export const notificationsSection = section({
  allow: strings,
  workers: integer(1, 4),
  maxAttempts: integer(1, 10),
  retryBaseSeconds: positive(2),
  retryMaxSeconds: positive(3600),
  timeoutSeconds: positive(10),
});

/** Scheme, host[:port], optional path prefix; no query or fragment (the path and query of a link follow it). */
export const PUBLIC_URL_PATTERN = '^https?://[^/?#\\s]+(/[^?#\\s]*)?$';

/** Request handling shared by every route (src/http). */
export const httpSection = section({
  /** JSON bodies nested deeper than this are a 400, checked before anything walks them. */
  maxJsonDepth: integer(1, 64, 10_000),
});

/**
 * Peers that make no progress (src/common/stall-guard.ts): a request body, an upload_from_uri fetch.
 * While Depot waits for a peer, fewer than minBytesPerSecond × the stall time bytes within the stall
 * time (at least one byte) is a stall: a trickle of a byte every few seconds is one too.
 */
export const stallsSection = section({
  requestBodySeconds: positive(30),
  fetchSeconds: positive(30),
  minBytesPerSecond: integer(0, 1024),
});

/**
 * The work of one project never takes every worker: fetches run in a pool of their own, and a job
 * (or notification delivery) of a project already at its limit waits while other projects' run.
 */
export const fairnessSection = section({
  fetchWorkers: integer(1, 2),
  fetchesPerProject: integer(1, 1),
  onboardingsPerProject: integer(1, 1),
  notificationsPerProject: integer(1, 2),
});

/**
 * SOL004 package signatures (src/packages/signatures.ts). The trust store is read once, when the
 * configuration is built; without one, signatures are checked and reported as not verified.
 */
export const signaturesSection = section({
  trustStore: { type: 'string', minLength: 1 },
  require: { type: 'boolean', default: false },
});

/**
 * OAuth 2.0 client credentials (SOL013 §8, RFC 6749 §4.4; src/http/oauth2.ts): the clients that may
 * obtain a bearer token at POST /oauth2/token, each acting in one project with its roles. A secret
 * is given inline or read from a file at start (clientSecretFile); either way 16+ characters.
 */
export const oauth2Section = section({
  tokenTtlSeconds: integer(1, 3600, 86_400),
  clients: {
    type: 'array',
    default: [],
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['clientId', 'project'],
      properties: {
        clientId: { type: 'string', pattern: '^[\\x21-\\x7e]{1,128}$' },
        clientSecret: { type: 'string', minLength: 16 },
        clientSecretFile: { type: 'string', minLength: 1 },
        project: { type: 'string', minLength: 1 },
        roles: { type: 'array', minItems: 1, items: { enum: ['reader', 'member', 'admin'] }, default: ['reader'] },
      },
    },
  },
});

export const fileSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    types: typesSection,
    stores: storesSection,
    quotas: quotasSection,
    onboarding: onboardingSection,
    uploadFromUri: uploadFromUriSection,
    notifications: notificationsSection,
    http: httpSection,
    /** The URL clients reach Depot at (DEPOT_PUBLIC_URL wins): absolute links are built on it. */
    publicUrl: { type: 'string', pattern: PUBLIC_URL_PATTERN },
    stalls: stallsSection,
    fairness: fairnessSection,
    signatures: signaturesSection,
    oauth2: oauth2Section,
    uploadStaleSeconds: positive(300),
    gcIntervalSeconds: { type: 'number', minimum: 0, default: 3600 },
  },
};
