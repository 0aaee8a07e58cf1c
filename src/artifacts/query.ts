import { BASE_COLUMNS, FieldDef, FilterOp, filterOpsOf, isBinary } from './fields';
import { ArtifactTypeDef, allFields } from './types';
import { parseVersion, VersionError } from './version';
import { badRequest } from '../http/problem';

/**
 * Glare's list query language, compiled to SQL over the `artifacts` table:
 *   field=[and:|or:][op:]value   op ∈ eq neq in gt gte lt lte like (per the field's filter_ops)
 *   dict.key=[op:]value, dict=key, list=value (any element), tags=a,b (all), tags-any=a,b (any)
 *   version=latest, version ranges, sort=key[:asc|desc][,...], limit, marker
 * All `or:` terms form one group ANDed with the rest, as in Glare. Values are always bound
 * parameters; `like` keeps SQL wildcards, which is the documented meaning of that operator.
 */
export interface SortKey {
  field: string;
  dir: 'asc' | 'desc';
}

export interface CompiledQuery {
  where: string[];
  orGroup: string[];
  replacements: Record<string, unknown>;
  sort: SortKey[];
  limit: number;
  marker?: string;
  latest: boolean;
}

const OPS: FilterOp[] = ['eq', 'neq', 'in', 'gt', 'gte', 'lt', 'lte', 'like'];
const SQL_OP: Record<string, string> = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=', like: 'LIKE' };
const RESERVED = new Set(['sort', 'limit', 'marker', 'tags', 'tags-any', 'force']);
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
      if (!quoted && cur !== '') throw badRequest(`${param}: misplaced quote at position ${i}`);
      if (quoted && raw[i + 1] !== undefined && raw[i + 1] !== ',') throw badRequest(`${param}: misplaced quote at position ${i}`);
      quoted = !quoted;
      wasQuoted = true;
    } else if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
      wasQuoted = false;
    } else cur += c;
  }
  if (quoted) throw badRequest(`${param}: unbalanced quote`);
  if (cur !== '' || wasQuoted || raw.endsWith(',')) out.push(cur);
  return out;
}

/** SQL expression of a field, typed for comparison. */
export function columnOf(name: string, def: FieldDef): string {
  if (name === 'version') return 'a.version_key';
  if (BASE_COLUMNS.has(name)) return `a.${name}`;
  const text = `(a.fields->>'${name}')`;
  switch (def.kind) {
    case 'integer':
    case 'float':
      return `${text}::numeric`;
    case 'boolean':
      return `${text}::boolean`;
    case 'datetime':
      return `${text}::timestamptz`;
    default:
      return text;
  }
}

function coerce(def: FieldDef, value: string, param: string): unknown {
  switch (def.kind) {
    case 'integer':
    case 'float': {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n) || (def.kind === 'integer' && !Number.isInteger(n))) throw badRequest(`${param}: ${JSON.stringify(value)} is not a valid ${def.kind}`);
      return n;
    }
    case 'boolean':
      if (!['true', 'false'].includes(value.toLowerCase())) throw badRequest(`${param}: ${JSON.stringify(value)} is not a boolean`);
      return value.toLowerCase() === 'true';
    case 'datetime':
      if (Number.isNaN(Date.parse(value))) throw badRequest(`${param}: ${JSON.stringify(value)} is not an ISO 8601 date-time`);
      return new Date(value).toISOString();
    case 'version':
      try {
        return parseVersion(value).key;
      } catch (e) {
        throw badRequest(`${param}: ${(e as VersionError).message}`);
      }
    default:
      if (value === '') throw badRequest(`${param}: empty value`);
      if (def.enum && !def.enum.includes(value)) throw badRequest(`${param}: ${JSON.stringify(value)} is not one of ${def.enum.join(', ')}`);
      return value;
  }
}

export function compileQuery(type: ArtifactTypeDef, params: URLSearchParams): CompiledQuery {
  const fields = allFields(type);
  const q: CompiledQuery = { where: [], orGroup: [], replacements: {}, sort: [], limit: DEFAULT_LIMIT, latest: false };
  let n = 0;
  const bind = (v: unknown) => {
    const name = `p${n++}`;
    q.replacements[name] = v;
    return `:${name}`;
  };

  for (const [param, raw] of params) {
    if (param === 'limit') {
      const l = Number(raw);
      if (!/^\d+$/.test(raw) || !Number.isSafeInteger(l)) throw badRequest(`limit: ${JSON.stringify(raw)} is not a non-negative integer`);
      q.limit = Math.min(l, MAX_LIMIT);
      continue;
    }
    if (param === 'marker') {
      if (!/^[0-9a-f-]{36}$/.test(raw)) throw badRequest(`marker: ${JSON.stringify(raw)} is not an artifact id`);
      q.marker = raw;
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
      if (/^(eq|neq|in|gt|gte|lt|lte|like):/.test(value)) throw badRequest(`${param}: tags are filtered without an operator`);
      const tags = splitList(value, param);
      target.push(`jsonb_exists_${param === 'tags' ? 'all' : 'any'}(a.tags, ARRAY[${tags.map(bind).join(',')}]::text[])`);
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
    if (!def || RESERVED.has(fieldName)) throw badRequest(`unknown filter '${param}': ${type.name} has no such field`);
    if (isBinary(def) || (fieldName === 'description')) throw badRequest(`field '${fieldName}' cannot be filtered`);

    let op: FilterOp = 'eq';
    const m = /^([a-z]+):(.*)$/s.exec(value);
    if (m && (OPS as string[]).includes(m[1])) {
      op = m[1] as FilterOp;
      value = m[2];
    } else if (m && def.kind !== 'datetime' && !/^\d/.test(value) && !/^[a-z]+:\/\//.test(value)) {
      throw badRequest(`${param}: unknown operator '${m[1]}' (use one of ${OPS.join(', ')})`);
    }

    if (def.kind === 'dict') {
      const elem: FieldDef = { kind: def.element ?? 'string' };
      const col = fieldName === 'metadata' ? 'a.metadata' : `(a.fields->'${fieldName}')`;
      if (key === undefined) {
        if (op !== 'eq' && op !== 'in') throw badRequest(`${param}: a dict is filtered by key with eq or in only`);
        const keys = op === 'in' ? splitList(value, param) : [value];
        target.push(`jsonb_exists_any(${col}, ARRAY[${keys.map(bind).join(',')}]::text[])`);
        continue;
      }
      if (!filterOpsOf(def).includes(op) && !(op === 'like' && elem.kind === 'string')) throw badRequest(`${param}: operator ${op} is not supported for this field`);
      const expr = elem.kind === 'integer' || elem.kind === 'float' ? `(${col}->>${bind(key)})::numeric` : `(${col}->>${bind(key)})`;
      target.push(condition(expr, op, value, elem, param, bind));
      continue;
    }
    if (key !== undefined) throw badRequest(`${param}: field '${fieldName}' is not a dict`);

    if (def.kind === 'list') {
      const elem: FieldDef = { kind: def.element ?? 'string' };
      if (!['eq', 'in'].includes(op)) throw badRequest(`${param}: a list is filtered with eq or in`);
      const col = fieldName === 'tags' ? 'a.tags' : `(a.fields->'${fieldName}')`;
      const vals = (op === 'in' ? splitList(value, param) : [value]).map((v) => coerce(elem, v, param));
      target.push(`(${vals.map((v) => `${col} @> jsonb_build_array(${bind(v)}::${elem.kind === 'string' || elem.kind === 'link' ? 'text' : elem.kind === 'boolean' ? 'boolean' : 'numeric'})`).join(' OR ')})`);
      continue;
    }
    if (!filterOpsOf(def).includes(op)) throw badRequest(`${param}: operator ${op} is not supported for field '${fieldName}' (supported: ${filterOpsOf(def).join(', ') || 'none'})`);
    target.push(condition(columnOf(fieldName, def), op, value, def, param, bind));
  }
  return q;
}

function condition(col: string, op: FilterOp, value: string, def: FieldDef, param: string, bind: (v: unknown) => string): string {
  if (op === 'in') {
    const vals = splitList(value, param).map((v) => coerce(def, v, param));
    if (!vals.length) throw badRequest(`${param}: in: needs at least one value`);
    return `${col} IN (${vals.map(bind).join(',')})`;
  }
  if (op === 'like') {
    if (value === '') throw badRequest(`${param}: empty value`);
    return `${col} LIKE ${bind(value)}`;
  }
  return `${col} ${SQL_OP[op]} ${bind(coerce(def, value, param))}`;
}

export function parseSort(raw: string, fields: Record<string, FieldDef>): SortKey[] {
  const keys: SortKey[] = [];
  for (const part of raw.split(',')) {
    const [field, dir = 'desc', extra] = part.split(':');
    const def = fields[field];
    if (!field || extra !== undefined) throw badRequest(`sort: cannot read ${JSON.stringify(part)} (use key[:asc|desc])`);
    if (!def) throw badRequest(`sort: unknown field '${field}'`);
    if (!def.sortable) throw badRequest(`sort: field '${field}' is not sortable`);
    if (dir !== 'asc' && dir !== 'desc') throw badRequest(`sort: direction must be asc or desc, got ${JSON.stringify(dir)}`);
    if (keys.some((k) => k.field === field)) throw badRequest(`sort: field '${field}' given twice`);
    keys.push({ field, dir });
  }
  return keys;
}
