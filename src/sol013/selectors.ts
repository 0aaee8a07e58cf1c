import { Sol013Error } from './errors';

/*
 * Attribute selectors, ETSI GS NFV-SOL 013 clause 5.3.
 *
 * Valid combinations (SOL013 Table 5.3.2-2); anything else is a 400:
 *   (none)                   same as exclude_default
 *   all_fields               everything
 *   fields=<list>            everything except the optional complex attributes not in <list>
 *   exclude_fields=<list>    everything except the complex attributes in <list>
 *   exclude_default          everything except the resource's default-exclude set
 *   exclude_default&fields=  everything except the default-exclude set, but the members of the
 *                            default-exclude set named in <list> are kept
 *
 * Selectors only ever remove complex attributes (objects/arrays) with lower cardinality 0; simple
 * attributes and mandatory complex ones (given by the caller, e.g. VnfPkgInfo `_links`) always stay.
 * Without a per-attribute declaration, "complex" is judged from the value: a non-null object or array.
 */

export type QueryValue = string | string[] | undefined;

/** Raw query parameters as parsed by the HTTP layer (e.g. Koa's ctx.query). */
export interface SelectorQuery {
  all_fields?: QueryValue;
  fields?: QueryValue;
  exclude_fields?: QueryValue;
  exclude_default?: QueryValue;
  [other: string]: QueryValue;
}

/** `parsed: true` (a boolean, which no query value can be) tells it apart from a raw query. */
export type AttributeSelector = { readonly parsed: true } & (
  | { kind: 'all_fields' }
  | { kind: 'exclude_default' }
  | { kind: 'exclude_fields'; excludeFields: string[][] }
  /** excludeDefault=true is the `exclude_default&fields=` combination */
  | { kind: 'fields'; fields: string[][]; excludeDefault: boolean }
);

export interface SelectorOptions {
  /** Complex attributes that selectors may not remove; listing one in exclude_fields is a 400. */
  mandatory?: readonly (readonly string[])[];
  /** false → attribute unknown to the resource → 400. */
  knownPaths?: (path: readonly string[]) => boolean;
}

const SELECTOR_PARAMS = ['all_fields', 'fields', 'exclude_fields', 'exclude_default'] as const;

function single(name: string, v: QueryValue): string | undefined {
  if (Array.isArray(v)) throw new Sol013Error(`attribute selectors: parameter '${name}' given more than once`);
  return v;
}

function parseList(name: string, raw: string, options: SelectorOptions): string[][] {
  if (raw === '') throw new Sol013Error(`attribute selectors: '${name}' needs a comma-separated list of attribute names`);
  return raw.split(',').map((entry, i) => {
    const path = entry.split('/');
    if (path.some((seg) => seg === '')) {
      throw new Sol013Error(`attribute selectors: empty attribute name in '${name}' entry ${i + 1} ('${entry}')`);
    }
    if (options.knownPaths && !options.knownPaths(path)) {
      throw new Sol013Error(`attribute selectors: unknown attribute '${entry}' in '${name}'`);
    }
    return path;
  });
}

const isPrefix = (prefix: readonly string[], path: readonly string[]) =>
  prefix.length <= path.length && prefix.every((seg, i) => seg === path[i]);

export function parseSelectors(query: SelectorQuery, options: SelectorOptions = {}): AttributeSelector {
  const v = Object.fromEntries(SELECTOR_PARAMS.map((p) => [p, single(p, query[p])])) as Record<
    (typeof SELECTOR_PARAMS)[number],
    string | undefined
  >;
  const present = SELECTOR_PARAMS.filter((p) => v[p] !== undefined);
  const combo = present.join('&');
  const parsed = true as const;
  switch (combo) {
    case '':
    case 'exclude_default':
      return { parsed, kind: 'exclude_default' };
    case 'all_fields':
      return { parsed, kind: 'all_fields' };
    case 'fields':
    case 'fields&exclude_default':
      return { parsed, kind: 'fields', fields: parseList('fields', v.fields!, options), excludeDefault: present.length === 2 };
    case 'exclude_fields': {
      const excludeFields = parseList('exclude_fields', v.exclude_fields!, options);
      for (const path of excludeFields) {
        // a mandatory attribute is kept whole, so neither it nor a part of it can be excluded
        if (options.mandatory?.some((m) => isPrefix(path, m) || isPrefix(m, path))) {
          throw new Sol013Error(`attribute selectors: attribute '${path.join('/')}' is mandatory and cannot be excluded`);
        }
      }
      return { parsed, kind: 'exclude_fields', excludeFields };
    }
    default:
      throw new Sol013Error(`attribute selectors: the combination ${present.map((p) => `'${p}'`).join(' + ')} is not allowed`);
  }
}

type Json = unknown;
const isComplex = (v: Json) => v !== null && typeof v === 'object';

/** Copy of `node` without the attribute at `path` (fanning out over arrays); input untouched. */
function without(node: Json, path: readonly string[], i = 0): Json {
  if (Array.isArray(node)) return node.map((el) => without(el, path, i));
  if (!isComplex(node)) return node;
  const obj = node as Record<string, Json>;
  const key = path[i];
  if (!Object.prototype.hasOwnProperty.call(obj, key)) return node;
  const copy = { ...obj };
  if (i === path.length - 1) delete copy[key];
  else copy[key] = without(obj[key], path, i + 1);
  return copy;
}

/**
 * `fields=` projection: at the top level, and inside every attribute that is an ancestor of a
 * listed path, drop optional complex children that are neither listed nor on the way to a listed one.
 */
function keepOnly(node: Json, fields: readonly string[][], mandatory: readonly (readonly string[])[], at: string[]): Json {
  if (Array.isArray(node)) return node.map((el) => keepOnly(el, fields, mandatory, at));
  if (!isComplex(node)) return node;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(node as Record<string, Json>)) {
    const path = [...at, key];
    if (!isComplex(value) || fields.some((f) => isPrefix(f, path)) || mandatory.some((m) => isPrefix(m, path))) {
      out[key] = value;
    } else if (fields.some((f) => isPrefix(path, f))) {
      out[key] = keepOnly(value, fields, mandatory, path);
    }
  }
  return out;
}

/**
 * Applies SOL013 attribute selectors to one presented object; returns a new object, the input is
 * not modified. `params` may be the raw query (validated here, Sol013Error on a bad combination)
 * or a selector from parseSelectors() when applying to many objects.
 */
export function applySelectors<T>(
  obj: T,
  params: SelectorQuery | AttributeSelector,
  defaultExcluded: readonly (readonly string[])[],
  options: SelectorOptions = {},
): T {
  const sel = isSelector(params) ? params : parseSelectors(params, options);
  const mandatory = options.mandatory ?? [];
  switch (sel.kind) {
    case 'all_fields':
      return obj;
    case 'exclude_default':
      return defaultExcluded.reduce<Json>((acc, p) => without(acc, p), obj) as T;
    case 'exclude_fields':
      return sel.excludeFields.reduce<Json>((acc, p) => without(acc, p), obj) as T;
    case 'fields': {
      if (!sel.excludeDefault) return keepOnly(obj, sel.fields, mandatory, []) as T;
      // A default-excluded attribute is kept if it, an ancestor or a descendant of it is listed.
      const dropped = defaultExcluded.filter((d) => !sel.fields.some((f) => isPrefix(f, d) || isPrefix(d, f)));
      return dropped.reduce<Json>((acc, p) => without(acc, p), obj) as T;
    }
  }
}

function isSelector(p: SelectorQuery | AttributeSelector): p is AttributeSelector {
  return (p as { parsed?: unknown }).parsed === true;
}
