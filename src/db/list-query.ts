import { BASE_COLUMNS, FieldDef } from '../artifacts/fields';
import type { Condition } from '../artifacts/query';

/** SQL expression of a field over `artifacts a`, typed for comparison. */
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

const SQL_OP: Record<string, string> = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=', like: 'LIKE' };

/** A JSONB column holding a compound field (list or dict). */
const jsonbOf = (field: string) => (field === 'tags' || field === 'metadata' ? `a.${field}` : `(a.fields->'${field}')`);

/**
 * One parsed list condition as SQL. Field names come from the type's declaration (validated by the
 * parser), never from the request; every value is a bound parameter (`bind` names it).
 */
export function conditionSql(c: Condition, bind: (v: unknown) => string): string {
  switch (c.kind) {
    case 'tags':
      return `jsonb_exists_${c.mode}(a.tags, ARRAY[${c.values.map(bind).join(',')}]::text[])`;
    case 'hasKey':
      return `jsonb_exists_any(${jsonbOf(c.field)}, ARRAY[${c.keys.map(bind).join(',')}]::text[])`;
    case 'contains': {
      const cast = c.element === 'string' || c.element === 'link' ? 'text' : c.element === 'boolean' ? 'boolean' : 'numeric';
      return `(${c.values.map((v) => `${jsonbOf(c.field)} @> jsonb_build_array(${bind(v)}::${cast})`).join(' OR ')})`;
    }
    case 'compare': {
      const col = c.key === undefined
        ? columnOf(c.field, c.def)
        : c.def.kind === 'integer' || c.def.kind === 'float' ? `(${jsonbOf(c.field)}->>${bind(c.key)})::numeric` : `(${jsonbOf(c.field)}->>${bind(c.key)})`;
      if (c.op === 'in') return `${col} IN (${c.values.map(bind).join(',')})`;
      return `${col} ${SQL_OP[c.op]} ${bind(c.values[0])}`;
    }
  }
}
