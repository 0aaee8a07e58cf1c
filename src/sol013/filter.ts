import { Sol013Error } from './errors';

/*
 * Attribute-based filtering, ETSI GS NFV-SOL 013 clause 5.2 (v2.6.1 and later).
 *
 *   filterExpr       := simpleFilterExpr [";" simpleFilterExpr]*        -- ";" is logical AND
 *   simpleFilterExpr := "(" opOne   "," attrName ["/" attrName]* "," value ")"
 *                     | "(" opMulti "," attrName ["/" attrName]* "," value ["," value]* ")"
 *   opOne            := eq | neq | gt | lt | gte | lte
 *   opMulti          := in | nin | cont | ncont
 *
 * Operator semantics (SOL013 Table 5.2.2-1), as implemented here:
 *   eq / neq     attribute equal / not equal to the single value
 *   in / nin     attribute equal to one of the values / to none of them
 *   gt gte lt lte ordering against the single value
 *   cont / ncont string attribute contains at least one of the values / contains none of them
 * A list of several values is therefore only legal for opMulti; the "OR for positive, AND-of-not for
 * negative" reading falls out of in/nin and cont/ncont. eq/neq with several values is rejected
 * because the grammar admits exactly one value there.
 *
 * Arrays along the attribute path are not indexed in the expression. A positive operator
 * (eq, in, gt, gte, lt, lte, cont) matches when at least one reached element satisfies it.
 * A negative operator (neq, nin, ncont) is the negation of its positive twin over the same set,
 * i.e. it matches when no reached element equals/contains a value -- so `(neq,vnfmInfo,x)` excludes
 * every package that lists x anywhere, which is what a consumer filtering "not x" expects. As a
 * consequence an absent attribute satisfies every negative operator and no positive one.
 *
 * Escaping (SOL013 5.2.2): a value containing "," ")" or "'" shall be enclosed in single quotes, and
 * a "'" inside such a quoted value is written "''". An unquoted value that contains "'" is rejected
 * rather than guessed at. Percent-decoding of the query string is the HTTP layer's job.
 */

export const OPERATORS_ONE = ['eq', 'neq', 'gt', 'lt', 'gte', 'lte'] as const;
export const OPERATORS_MULTI = ['in', 'nin', 'cont', 'ncont'] as const;
export type FilterOperator = (typeof OPERATORS_ONE)[number] | (typeof OPERATORS_MULTI)[number];

export interface FilterTerm {
  op: FilterOperator;
  /** attribute path, split at "/" */
  path: string[];
  values: string[];
  /** 0-based offset of the term's "(" in the filter string, for error messages */
  position: number;
}

/** A parsed filter: the logical AND of all terms. */
export type FilterAst = FilterTerm[];

const ONE = new Set<string>(OPERATORS_ONE);
const MULTI = new Set<string>(OPERATORS_MULTI);

function fail(problem: string): never {
  throw new Sol013Error(`filter: ${problem}`);
}

export function parseFilter(input: string): FilterAst {
  if (typeof input !== 'string' || input.length === 0) fail('empty filter expression');
  const terms: FilterTerm[] = [];
  let pos = 0;
  const at = (p: number) => `at position ${p}`;

  // Reads an unquoted token (operator or attribute name) up to "," or ")".
  const readBare = (what: string): [string, number] => {
    const start = pos;
    while (pos < input.length && input[pos] !== ',' && input[pos] !== ')') {
      if (input[pos] === '(' || input[pos] === "'") fail(`unexpected character '${input[pos]}' in ${what} ${at(pos)}`);
      pos++;
    }
    return [input.slice(start, pos), start];
  };

  const readValue = (open: number): string => {
    if (input[pos] === "'") {
      const start = pos;
      pos++;
      let out = '';
      for (;;) {
        if (pos >= input.length) fail(`unterminated quoted value starting ${at(start)}`);
        const c = input[pos];
        if (c === "'") {
          if (input[pos + 1] === "'") {
            out += "'";
            pos += 2;
            continue;
          }
          pos++;
          break;
        }
        out += c;
        pos++;
      }
      if (pos < input.length && input[pos] !== ',' && input[pos] !== ')') {
        fail(`unexpected character '${input[pos]}' after quoted value ${at(pos)}`);
      }
      return out;
    }
    const start = pos;
    while (pos < input.length && input[pos] !== ',' && input[pos] !== ')') {
      if (input[pos] === "'") fail(`unescaped quote in value ${at(pos)}; values containing ' must be enclosed in single quotes`);
      pos++;
    }
    if (pos === start && pos < input.length) fail(`empty value ${at(pos)}`);
    if (pos >= input.length) fail(`unbalanced parenthesis: '(' ${at(open)} is not closed`);
    return input.slice(start, pos);
  };

  for (;;) {
    const open = pos;
    if (input[pos] !== '(') {
      fail(pos >= input.length ? `expected '(' ${at(pos)} (end of input)` : `expected '(' ${at(pos)}, found '${input[pos]}'`);
    }
    pos++;

    const [op, opAt] = readBare('operator');
    if (op === '') fail(`missing operator ${at(opAt)}`);
    if (!ONE.has(op) && !MULTI.has(op)) fail(`unknown operator '${op}' ${at(opAt)}`);
    if (pos >= input.length) fail(`unbalanced parenthesis: '(' ${at(open)} is not closed`);
    if (input[pos] !== ',') fail(`missing attribute name after operator '${op}' ${at(pos)}`);
    pos++;

    const [attr, attrAt] = readBare('attribute name');
    const path = attr.split('/');
    let segAt = attrAt;
    for (const seg of path) {
      if (seg === '') fail(`empty attribute name segment ${at(segAt)}`);
      segAt += seg.length + 1;
    }
    if (pos >= input.length) fail(`unbalanced parenthesis: '(' ${at(open)} is not closed`);
    if (input[pos] !== ',') fail(`missing value for operator '${op}' ${at(pos)}`);
    pos++;

    const values: string[] = [];
    const valuesAt = pos;
    for (;;) {
      values.push(readValue(open));
      if (pos >= input.length) fail(`unbalanced parenthesis: '(' ${at(open)} is not closed`);
      if (input[pos] === ')') break;
      pos++; // the ","
    }
    pos++; // the ")"
    if (ONE.has(op) && values.length !== 1) {
      fail(`operator '${op}' takes exactly one value, got ${values.length} ${at(valuesAt)}`);
    }
    terms.push({ op: op as FilterOperator, path, values, position: open });

    if (pos >= input.length) return terms;
    if (input[pos] === ')') fail(`unbalanced parenthesis: unexpected ')' ${at(pos)}`);
    if (input[pos] !== ';') fail(`expected ';' between expressions ${at(pos)}, found '${input[pos]}'`);
    pos++;
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** Declared type of a leaf attribute (SOL013 Table 5.2.2-2 columns); 'any' = KeyValuePairs value. */
export type AttributeType = 'string' | 'number' | 'boolean' | 'enum' | 'date-time' | 'any';

const APPLICABLE: Record<FilterOperator, ReadonlySet<AttributeType>> = {
  eq: new Set(['string', 'number', 'boolean', 'enum', 'date-time', 'any']),
  neq: new Set(['string', 'number', 'boolean', 'enum', 'date-time', 'any']),
  in: new Set(['string', 'number', 'enum', 'date-time', 'any']),
  nin: new Set(['string', 'number', 'enum', 'date-time', 'any']),
  gt: new Set(['string', 'number', 'date-time', 'any']),
  gte: new Set(['string', 'number', 'date-time', 'any']),
  lt: new Set(['string', 'number', 'date-time', 'any']),
  lte: new Set(['string', 'number', 'date-time', 'any']),
  cont: new Set(['string', 'any']),
  ncont: new Set(['string', 'any']),
};

export interface FilterSchema {
  /** false → the attribute is not part of the resource: the request is answered with 400. */
  knownPaths?: (path: readonly string[]) => boolean;
  /**
   * Declared leaf type, used to reject operator/type mismatches and unparsable values up front.
   * `undefined` for a path that is known but not a leaf (structure) makes the term invalid too.
   */
  attributeType?: (path: readonly string[]) => AttributeType | undefined;
}

const NUMBER_RE = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
// RFC 3339 date-time; such strings are compared as instants because the lexical order breaks
// across time zones and fractional seconds.
const DATE_TIME_RE = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

type Leaf = string | number | boolean;

interface CompiledValue {
  raw: string;
  num: number | undefined;
  bool: boolean | undefined;
  time: number | undefined;
}

function compileValue(raw: string): CompiledValue {
  return {
    raw,
    num: NUMBER_RE.test(raw) ? Number(raw) : undefined,
    bool: raw === 'true' ? true : raw === 'false' ? false : undefined,
    time: DATE_TIME_RE.test(raw) ? Date.parse(raw) : undefined,
  };
}

/** Ordering of an attribute value against a filter value; undefined = not comparable. */
function order(v: Leaf, f: CompiledValue): number | undefined {
  if (typeof v === 'number') return f.num === undefined ? undefined : v - f.num;
  if (typeof v === 'string') {
    if (f.time !== undefined && DATE_TIME_RE.test(v)) return Date.parse(v) - f.time;
    return v < f.raw ? -1 : v > f.raw ? 1 : 0;
  }
  return undefined;
}

function equals(v: Leaf, f: CompiledValue): boolean {
  if (typeof v === 'boolean') return f.bool === v;
  if (typeof v === 'number') return f.num === v;
  return v === f.raw;
}

type PositiveOp = 'eq' | 'in' | 'gt' | 'gte' | 'lt' | 'lte' | 'cont';
const POSITIVE: Record<'neq' | 'nin' | 'ncont', PositiveOp> = { neq: 'eq', nin: 'in', ncont: 'cont' };

function leafTest(op: PositiveOp, values: CompiledValue[]): (v: Leaf) => boolean {
  switch (op) {
    case 'eq':
    case 'in':
      return (v) => values.some((f) => equals(v, f));
    case 'cont':
      return (v) => typeof v === 'string' && values.some((f) => v.includes(f.raw));
    case 'gt':
      return (v) => (order(v, values[0]) ?? NaN) > 0;
    case 'gte':
      return (v) => (order(v, values[0]) ?? NaN) >= 0;
    case 'lt':
      return (v) => (order(v, values[0]) ?? NaN) < 0;
    case 'lte':
      return (v) => (order(v, values[0]) ?? NaN) <= 0;
  }
}

/** True if some leaf reached by `path` from `node` (fanning out over arrays) satisfies `test`. */
function some(node: unknown, path: readonly string[], i: number, test: (v: Leaf) => boolean): boolean {
  if (Array.isArray(node)) return node.some((el) => some(el, path, i, test));
  if (i === path.length) {
    return (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') && test(node);
  }
  if (node === null || typeof node !== 'object') return false;
  const key = path[i];
  if (!Object.prototype.hasOwnProperty.call(node, key)) return false;
  return some((node as Record<string, unknown>)[key], path, i + 1, test);
}

function validateTerm(term: FilterTerm, schema: FilterSchema): void {
  const name = term.path.join('/');
  const where = `in expression at position ${term.position}`;
  if (schema.knownPaths && !schema.knownPaths(term.path)) fail(`unknown attribute '${name}' ${where}`);
  if (!schema.attributeType) return;
  const type = schema.attributeType(term.path);
  if (type === undefined) fail(`attribute '${name}' is structured and cannot be compared ${where}`);
  if (!APPLICABLE[term.op].has(type)) fail(`operator '${term.op}' is not applicable to ${type} attribute '${name}' ${where}`);
  for (const raw of term.values) {
    const v = compileValue(raw);
    if (type === 'number' && v.num === undefined) fail(`value '${raw}' of attribute '${name}' is not a number ${where}`);
    if (type === 'boolean' && v.bool === undefined) fail(`value '${raw}' of attribute '${name}' is not true or false ${where}`);
    if (type === 'date-time' && v.time === undefined) fail(`value '${raw}' of attribute '${name}' is not an RFC 3339 date-time ${where}`);
  }
}

export type FilterPredicate = (obj: unknown) => boolean;

/**
 * Validates the AST against the optional schema (throws Sol013Error) and returns a predicate.
 * Compile once per request and apply it to every presented object.
 */
export function compileFilter(ast: FilterAst, schema: FilterSchema = {}): FilterPredicate {
  const tests = ast.map((term) => {
    validateTerm(term, schema);
    const values = term.values.map(compileValue);
    const negated = term.op === 'neq' || term.op === 'nin' || term.op === 'ncont';
    const test = leafTest(negated ? POSITIVE[term.op as keyof typeof POSITIVE] : (term.op as PositiveOp), values);
    const path = term.path;
    return negated ? (obj: unknown) => !some(obj, path, 0, test) : (obj: unknown) => some(obj, path, 0, test);
  });
  return (obj) => tests.every((t) => t(obj));
}

export function matchesFilter(obj: unknown, ast: FilterAst, schema?: FilterSchema): boolean {
  return compileFilter(ast, schema)(obj);
}
