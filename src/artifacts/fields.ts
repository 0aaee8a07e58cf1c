import type { DigestAlgorithm } from '../storage/content-store';

/**
 * Field declarations: an artifact type is declared once, as a map of these, and everything else is
 * derived from it (the JSON Schema served at /schemas/{type} and used by Ajv, the filter and sort
 * whitelist, write permissions, activation requirements). Modelled on Glare's field wrappers.
 */
export type ScalarKind = 'string' | 'integer' | 'float' | 'boolean' | 'datetime' | 'version' | 'link';
/** `json`: any JSON value (structured data such as SOL005 softwareImages), not filterable in SQL. */
export type FieldKind = ScalarKind | 'list' | 'dict' | 'json' | 'blob' | 'folder';
export type FilterOp = 'eq' | 'neq' | 'in' | 'gt' | 'gte' | 'lt' | 'lte' | 'like';

export interface FieldDef {
  kind: FieldKind;
  /** Element kind of a list or dict. */
  element?: Exclude<ScalarKind, 'datetime' | 'version'>;
  description?: string;
  /** May change after activation. */
  mutable?: boolean;
  /** Set by Depot only; never writable through the API. */
  system?: boolean;
  /** Must be set (non-null, and for blobs uploaded) before drafted → active. */
  requiredOnActivate?: boolean;
  sortable?: boolean;
  filterOps?: FilterOp[];
  default?: unknown;
  nullable?: boolean;
  // Validators, each one JSON Schema keyword.
  enum?: readonly unknown[];
  /** Of a string; of a dict of strings, its values' (0: empty strings allowed; the default is 1). */
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  maxProperties?: number;
  // Blobs and folders.
  maxBlobSize?: number;
  /** Folder: total of its entries. */
  maxFolderSize?: number;
  /** Digests computed on upload besides SHA-256 (e.g. Glance clients check MD5). */
  digests?: DigestAlgorithm[];
}

export const DEFAULT_OPS: Record<FieldKind, FilterOp[]> = {
  string: ['eq', 'neq', 'in'],
  integer: ['eq', 'neq', 'in', 'gt', 'gte', 'lt', 'lte'],
  float: ['eq', 'neq', 'in', 'gt', 'gte', 'lt', 'lte'],
  version: ['eq', 'neq', 'in', 'gt', 'gte', 'lt', 'lte'],
  datetime: ['eq', 'gt', 'gte', 'lt', 'lte'],
  boolean: ['eq', 'neq'],
  link: ['eq', 'neq'],
  list: [],
  dict: [],
  json: [],
  blob: [],
  folder: [],
};

export function filterOpsOf(def: FieldDef): FilterOp[] {
  if (def.filterOps) return def.filterOps;
  if ((def.kind === 'list' || def.kind === 'dict') && def.element) return DEFAULT_OPS[def.element];
  return DEFAULT_OPS[def.kind];
}

export const isBinary = (def: FieldDef) => def.kind === 'blob' || def.kind === 'folder';

/** Fields every artifact has, in every type (Glare's BaseArtifact). */
export const BASE_FIELDS: Record<string, FieldDef> = {
  id: { kind: 'string', system: true, sortable: true, description: 'UUID of the artifact' },
  name: { kind: 'string', sortable: true, minLength: 1, maxLength: 255, filterOps: ['eq', 'neq', 'in', 'like'] },
  version: { kind: 'version', sortable: true, default: '0.0.0', description: 'Semantic version; lenient input such as 1 or 1.0 is normalised' },
  owner: { kind: 'string', system: true, sortable: true, description: 'Owner project' },
  status: { kind: 'string', mutable: true, sortable: true, enum: ['drafted', 'active', 'deactivated'], description: 'Lifecycle; changed with a JSON Patch of /status' },
  visibility: { kind: 'string', mutable: true, sortable: true, enum: ['private', 'public'] },
  description: { kind: 'string', mutable: true, maxLength: 4096, default: '', filterOps: [] },
  tags: { kind: 'list', element: 'string', mutable: true, maxItems: 255, default: [], filterOps: [] },
  metadata: { kind: 'dict', element: 'string', maxProperties: 255, default: {} },
  shared_with: { kind: 'list', element: 'string', mutable: true, maxItems: 255, default: [], filterOps: [], description: 'Projects (besides the owner) that may read this artifact' },
  created_at: { kind: 'datetime', system: true, sortable: true },
  updated_at: { kind: 'datetime', system: true, sortable: true },
  activated_at: { kind: 'datetime', system: true, sortable: true, nullable: true },
  type_name: { kind: 'string', system: true, sortable: true },
};

/** Base fields stored in their own columns (everything else lives in the `fields` JSONB). */
export const BASE_COLUMNS = new Set(['id', 'name', 'version', 'owner', 'status', 'visibility', 'description', 'tags', 'metadata', 'created_at', 'updated_at', 'activated_at', 'type_name']);
