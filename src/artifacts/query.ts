import { FieldDef, FilterOp, filterOpsOf, isBinary } from './fields';
import { ArtifactTypeDef, allFields } from './types';
import { parseVersion, VersionError } from './version';
import { invalidInput } from '../common/errors';

/**
 * Glare's list query language, parsed into conditions (compiled to SQL by src/db/list-query.ts):
 *   field=[and:|or:][op:]value   op ∈ eq neq in gt gte lt lte like (per the field's filter_ops)
 *   dict.key=[op:]value, dict=key, list=value (any element), tags=a,b (all), tags-any=a,b (any)
 *   version=latest, version ranges, sort=key[:asc|desc][,...], limit, marker
 * All `or:` terms form one group ANDed with the rest, as in Glare. Values stay values (the compiler
 * binds them as parameters); `like` keeps SQL wildcards, which is the documented meaning of that operator.
 */
export interface SortKey {
  field: string;
  dir: 'asc' | 'desc';
}

export type Condition =
  /** tags=a,b (every one) or tags-any=a,b (any one). */
  | { kind: 'tags'; mode: 'all' | 'any'; values: string[] }
  /** dict=key or dict=in:k1,k2: the dict has one of the keys. */
  | { kind: 'hasKey'; field: string; keys: string[] }
  /** list=value or list=in:v1,v2: some element equals one of the values. */
  | { kind: 'contains'; field: string; element: FieldDef['kind']; values: unknown[] }
  /** field op value(s), or dict.key op value(s) with `key`; `def` is the compared value's field (or element). */
  | { kind: 'compare'; field: string; def: FieldDef; key?: string; op: FilterOp; values: unknown[] };

export interface ListQuery {
  where: Condition[];
  orGroup: Condition[];
  sort: SortKey[];
  limit: number;
  /** Glare's marker: the id of the last artifact seen (its row is looked up for its sort key). */
  marker?: string;
  /** `marker_keys`: a signed PageCursor, as issued in `next` (checked by the engine). */
  markerKeys?: string;
  /** The sort-key values to continue after (from `markerKeys`); used instead of looking `marker` up. */
  after?: (string | null)[];
  latest: boolean;
}

/**
 * A position in a list: the sort-key values of the last row of a page, as text, plus that row's id.
 * Paging continues after the position, whether or not the row still exists (a marker naming a
 * deleted row used to end the list). `s` names the type and sort order the values belong to.
 */
export interface PageCursor {
  s: string;
  k: (string | null)[];
  id: string;
}

/** The sort order actually applied: the requested keys, then created_at (desc) and id (asc) unless given. */
export function effectiveSort(sort: SortKey[]): SortKey[] {
  const out = [...sort];
  if (!out.some((s) => s.field === 'created_at')) out.push({ field: 'created_at', dir: 'desc' });
  if (!out.some((s) => s.field === 'id')) out.push({ field: 'id', dir: 'asc' });
  return out;
}

/** What a PageCursor's `s` must be for a list of `typeName` in this order. */
export const cursorScope = (typeName: string, sort: SortKey[]) => `${typeName}|${effectiveSort(sort).map((k) => `${k.field}:${k.dir}`).join(',')}`;

export function isPageCursor(c: unknown): c is PageCursor {
  const x = c as PageCursor;
  return !!x && typeof x === 'object' && typeof x.s === 'string' && typeof x.id === 'string' && Array.isArray(x.k) && x.k.every((v) => v === null || typeof v === 'string');
}

const OPS: FilterOp[] = ['eq', 'neq', 'in', 'gt', 'gte', 'lt', 'lte', 'like'];
const RESERVED = new Set(['sort', 'limit', 'marker', 'marker_keys', 'tags', 'tags-any', 'force']);
export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 1000;

/** Splits `in:` values on commas; double quotes protect commas, `\"` is a quote. */
export function splitList(raw: string, param: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '\\' && raw[i + 1] === '"') {
      cur += '"';
      i++;
    } else if (c === '"') {
      if (!quoted && cur !== '') throw invalidInput(`${param}: misplaced quote at position ${i}`);
      if (quoted && raw[i + 1] !== undefined && raw[i + 1] !== ',') throw invalidInput(`${param}: misplaced quote at position ${i}`);
      quoted = !quoted;
      wasQuoted = true;
    } else if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
      wasQuoted = false;
    } else cur += c;
  }
  if (quoted) throw invalidInput(`${param}: unbalanced quote`);
  if (cur !== '' || wasQuoted || raw.endsWith(',')) out.push(cur);
  return out;
}

function coerce(def: FieldDef, value: string, param: string): unknown {
  switch (def.kind) {
    case 'integer':
    case 'float': {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n) || (def.kind === 'integer' && !Number.isInteger(n))) throw invalidInput(`${param}: ${JSON.stringify(value)} is not a valid ${def.kind}`);
      // Past 2^53 the double read from the text is another number: the filter would compare something else.
      if (def.kind === 'integer' && !Number.isSafeInteger(n)) throw invalidInput(`${param}: ${value} is outside the safe integer range ±${Number.MAX_SAFE_INTEGER}`);
      return n;
    }
    case 'boolean':
      if (!['true', 'false'].includes(value.toLowerCase())) throw invalidInput(`${param}: ${JSON.stringify(value)} is not a boolean`);
      return value.toLowerCase() === 'true';
    case 'datetime':
      if (Number.isNaN(Date.parse(value))) throw invalidInput(`${param}: ${JSON.stringify(value)} is not an ISO 8601 date-time`);
      return new Date(value).toISOString();
    case 'version':
      try {
        return parseVersion(value).key;
      } catch (e) {
        throw invalidInput(`${param}: ${(e as VersionError).message}`);
      }
    default:
      if (value === '') throw invalidInput(`${param}: empty value`);
      if (def.enum && !def.enum.includes(value)) throw invalidInput(`${param}: ${JSON.stringify(value)} is not one of ${def.enum.join(', ')}`);
      return value;
  }
}

export function parseListQuery(type: ArtifactTypeDef, params: URLSearchParams): ListQuery {
  const fields = allFields(type);
  const q: ListQuery = { where: [], orGroup: [], sort: [], limit: DEFAULT_LIMIT, latest: false };

  for (const [param, raw] of params) {
    if (param === 'limit') {
      const l = Number(raw);
      if (!/^\d+$/.test(raw) || !Number.isSafeInteger(l)) throw invalidInput(`limit: ${JSON.stringify(raw)} is not a non-negative integer`);
      q.limit = Math.min(l, MAX_LIMIT);
      continue;
    }
    if (param === 'marker') {
      if (!/^[0-9a-f-]{36}$/.test(raw)) throw invalidInput(`marker: ${JSON.stringify(raw)} is not an artifact id`);
      q.marker = raw;
      continue;
    }
    if (param === 'marker_keys') {
      if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(raw)) throw invalidInput('marker_keys: malformed (use the next link as given)');
      q.markerKeys = raw;
      continue;
    }
    if (param === 'sort') {
      q.sort = parseSort(raw, fields);
      continue;
    }
    if (param === 'force') continue;

    let value = raw;
    let target = q.where;
    const comb = /^(and|or):/.exec(value);
    if (comb) {
      target = comb[1] === 'or' ? q.orGroup : q.where;
      value = value.slice(comb[0].length);
    }

    if (param === 'tags' || param === 'tags-any') {
      if (value === '') continue;
      if (/^(eq|neq|in|gt|gte|lt|lte|like):/.test(value)) throw invalidInput(`${param}: tags are filtered without an operator`);
      target.push({ kind: 'tags', mode: param === 'tags' ? 'all' : 'any', values: splitList(value, param) });
      continue;
    }
    if (param === 'version' && value === 'latest') {
      q.latest = true;
      continue;
    }

    const dot = param.indexOf('.');
    const fieldName = dot >= 0 ? param.slice(0, dot) : param;
    const key = dot >= 0 ? param.slice(dot + 1) : undefined;
    const def = fields[fieldName];
    if (!def || RESERVED.has(fieldName)) throw invalidInput(`unknown filter '${param}': ${type.name} has no such field`);
    if (isBinary(def) || (fieldName === 'description')) throw invalidInput(`field '${fieldName}' cannot be filtered`);

    let op: FilterOp = 'eq';
    const m = /^([a-z]+):(.*)$/s.exec(value);
    if (m && (OPS as string[]).includes(m[1])) {
      op = m[1] as FilterOp;
      value = m[2];
    } else if (m && def.kind !== 'datetime' && !/^\d/.test(value) && !/^[a-z]+:\/\//.test(value)) {
      throw invalidInput(`${param}: unknown operator '${m[1]}' (use one of ${OPS.join(', ')})`);
    }

    if (def.kind === 'dict') {
      const elem: FieldDef = { kind: def.element ?? 'string' };
      if (key === undefined) {
        if (op !== 'eq' && op !== 'in') throw invalidInput(`${param}: a dict is filtered by key with eq or in only`);
        target.push({ kind: 'hasKey', field: fieldName, keys: op === 'in' ? splitList(value, param) : [value] });
        continue;
      }
      if (!filterOpsOf(def).includes(op) && !(op === 'like' && elem.kind === 'string')) throw invalidInput(`${param}: operator ${op} is not supported for this field`);
      target.push({ kind: 'compare', field: fieldName, def: elem, key, op, values: operands(op, value, elem, param) });
      continue;
    }
    if (key !== undefined) throw invalidInput(`${param}: field '${fieldName}' is not a dict`);

    if (def.kind === 'list') {
      const element = def.element ?? 'string';
      if (!['eq', 'in'].includes(op)) throw invalidInput(`${param}: a list is filtered with eq or in`);
      const values = (op === 'in' ? splitList(value, param) : [value]).map((v) => coerce({ kind: element }, v, param));
      target.push({ kind: 'contains', field: fieldName, element, values });
      continue;
    }
    if (!filterOpsOf(def).includes(op)) throw invalidInput(`${param}: operator ${op} is not supported for field '${fieldName}' (supported: ${filterOpsOf(def).join(', ') || 'none'})`);
    target.push({ kind: 'compare', field: fieldName, def, op, values: operands(op, value, def, param) });
  }
  return q;
}

/** The compared values of one condition: several for `in`, the raw pattern for `like`, else one coerced value. */
function operands(op: FilterOp, value: string, def: FieldDef, param: string): unknown[] {
  if (op === 'in') {
    const vals = splitList(value, param).map((v) => coerce(def, v, param));
    if (!vals.length) throw invalidInput(`${param}: in: needs at least one value`);
    return vals;
  }
  if (op === 'like') {
    if (value === '') throw invalidInput(`${param}: empty value`);
    return [value];
  }
  return [coerce(def, value, param)];
}

export function parseSort(raw: string, fields: Record<string, FieldDef>): SortKey[] {
  const keys: SortKey[] = [];
  for (const part of raw.split(',')) {
    const [field, dir = 'desc', extra] = part.split(':');
    const def = fields[field];
    if (!field || extra !== undefined) throw invalidInput(`sort: cannot read ${JSON.stringify(part)} (use key[:asc|desc])`);
    if (!def) throw invalidInput(`sort: unknown field '${field}'`);
    if (!def.sortable) throw invalidInput(`sort: field '${field}' is not sortable`);
    if (dir !== 'asc' && dir !== 'desc') throw invalidInput(`sort: direction must be asc or desc, got ${JSON.stringify(dir)}`);
    if (keys.some((k) => k.field === field)) throw invalidInput(`sort: field '${field}' given twice`);
    keys.push({ field, dir });
  }
  return keys;
}
