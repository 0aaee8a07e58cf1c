import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { FieldDef, filterOpsOf, isBinary } from './fields';
import { ArtifactTypeDef, allFields } from './types';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
export const LINK_PATTERN = `^/artifacts/[a-z][a-z0-9_]*/${UUID}$`;

/**
 * JSON numbers are read as doubles: an integer beyond ±(2^53 − 1) has already lost digits when it
 * arrives (10^30 became 1e+30), so it is refused rather than stored as something the client did not send.
 */
const SAFE_INTEGER = { minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER };

const ELEMENT: Record<string, object> = {
  string: { type: 'string', minLength: 1, maxLength: 255 },
  integer: { type: 'integer', ...SAFE_INTEGER },
  float: { type: 'number' },
  boolean: { type: 'boolean' },
  link: { type: 'string', pattern: LINK_PATTERN },
};

const BLOB_SCHEMA = {
  type: 'object',
  readOnly: true,
  properties: {
    url: { type: 'string' },
    size: { type: 'integer' },
    status: { enum: ['saving', 'active'] },
    content_type: { type: ['string', 'null'] },
    checksums: { type: 'object', additionalProperties: { type: 'string' } },
  },
};

function valueSchema(def: FieldDef): Record<string, unknown> {
  switch (def.kind) {
    case 'string':
      return { type: 'string', maxLength: def.maxLength ?? 255, ...(def.minLength !== undefined && { minLength: def.minLength }), ...(def.pattern && { pattern: def.pattern }), ...(def.enum && { enum: def.enum }) };
    case 'integer':
    case 'float':
      return {
        type: def.kind === 'integer' ? 'integer' : 'number', ...(def.kind === 'integer' && SAFE_INTEGER),
        ...(def.minimum !== undefined && { minimum: def.minimum }), ...(def.maximum !== undefined && { maximum: def.maximum }), ...(def.enum && { enum: def.enum }),
      };
    case 'boolean':
      return { type: 'boolean' };
    case 'datetime':
      return { type: 'string', format: 'date-time' };
    case 'version':
      return { type: 'string', minLength: 1, maxLength: 255 };
    case 'link':
      return { type: 'string', pattern: LINK_PATTERN };
    case 'list':
      return { type: 'array', items: ELEMENT[def.element ?? 'string'], maxItems: def.maxItems ?? 255, uniqueItems: true };
    case 'dict':
      return { type: 'object', additionalProperties: def.minLength === 0 && (def.element ?? 'string') === 'string' ? { ...ELEMENT.string, minLength: 0 } : ELEMENT[def.element ?? 'string'], maxProperties: def.maxProperties ?? 255, propertyNames: { minLength: 1, maxLength: 255 } };
    case 'json':
      return {};
    case 'blob':
      return { ...BLOB_SCHEMA, type: ['object', 'null'] };
    case 'folder':
      return { type: 'object', readOnly: true, properties: { url: { type: 'string' }, count: { type: 'integer' }, size: { type: 'integer' } } };
  }
}

/** The published schema of one field: the value schema plus Glare-style descriptive keywords. */
function fieldSchema(name: string, def: FieldDef): Record<string, unknown> {
  const s: Record<string, unknown> = valueSchema(def);
  if (def.nullable !== false && !isBinary(def) && def.kind !== 'json' && def.kind !== 'list' && def.kind !== 'dict' && name !== 'name') {
    s.type = [s.type as string, 'null'];
    if (s.enum) s.enum = [...(s.enum as unknown[]), null];
  }
  s.glareType = def.kind === 'list' || def.kind === 'dict' ? `${cap(def.element ?? 'string')}${cap(def.kind)}` : cap(def.kind);
  s.filter_ops = filterOpsOf(def);
  if (def.system) s.readOnly = true;
  if (def.mutable) s.mutable = true;
  if (def.sortable) s.sortable = true;
  if (def.requiredOnActivate) s.required_on_activate = true;
  if (def.default !== undefined) s.default = def.default;
  if (def.description) s.description = def.description;
  if (def.maxBlobSize) s.max_blob_size = def.maxBlobSize;
  return s;
}

const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

export function typeSchema(def: ArtifactTypeDef): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(allFields(def))) properties[name] = fieldSchema(name, f);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    name: def.name,
    version: def.schemaVersion,
    title: `Artifact type ${def.name} of version ${def.schemaVersion}`,
    display_name: def.displayName,
    type: 'object',
    required: ['name'],
    properties,
  };
}

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);

/** Validator of the values a client may write into a type's fields (creation, and PATCH results). */
export class FieldValidator {
  private readonly validate: ValidateFunction;

  constructor(readonly def: ArtifactTypeDef) {
    const properties: Record<string, unknown> = {};
    for (const [name, f] of Object.entries(allFields(def))) {
      if (isBinary(f)) continue;
      const s = valueSchema(f);
      properties[name] = f.nullable === false || name === 'name' || f.kind === 'list' || f.kind === 'dict' ? s : { anyOf: [s, { type: 'null' }] };
    }
    // What a JSON Patch may not take away: the name, and any field that may not be null (a removed
    // field reached the database as a missing value).
    const required = Object.entries(allFields(def)).filter(([name, f]) => !isBinary(f) && (name === 'name' || f.nullable === false)).map(([name]) => name);
    this.validate = ajv.compile({ type: 'object', properties, required, additionalProperties: false });
  }

  /** Returns a one-line description of every problem, naming the field, or undefined when valid. */
  check(values: Record<string, unknown>): string | undefined {
    if (this.validate(values)) return undefined;
    return describeErrors(this.validate.errors ?? []);
  }
}

export function describeErrors(errors: ErrorObject[]): string {
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.keyword === 'anyOf') continue;
    const field = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '';
    const msg =
      e.keyword === 'additionalProperties' ? `unknown field '${(e.params as any).additionalProperty}'`
        : e.keyword === 'required' ? `field '${field ? `${field}.` : ''}${(e.params as any).missingProperty}' is required`
          : `field '${field}' ${e.message}`;
    seen.add(msg);
  }
  return [...seen].join('; ');
}
