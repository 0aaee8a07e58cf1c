import { setFlagsFromString } from 'node:v8';
import type { Findings } from './rules';
import { PRIMITIVES, PropDef, TypeRegistry } from './types';
import { YMap, YSeq, YValue, isMapNode, plain, str } from './yaml';

// TOSCA Simple Profile 1.3 §3.3.6: scalar-unit types. Size and bitrate units are multiples of a byte /
// bit per second; time of a second; frequency of a hertz.
const SIZE: Record<string, number> = { B: 1, kB: 1e3, KiB: 2 ** 10, MB: 1e6, MiB: 2 ** 20, GB: 1e9, GiB: 2 ** 30, TB: 1e12, TiB: 2 ** 40 };
const TIME: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 };
const FREQUENCY: Record<string, number> = { Hz: 1, kHz: 1e3, MHz: 1e6, GHz: 1e9 };
const BITRATE: Record<string, number> = {
  bps: 1, Kbps: 1e3, Kibps: 2 ** 10, Mbps: 1e6, Mibps: 2 ** 20, Gbps: 1e9, Gibps: 2 ** 30, Tbps: 1e12, Tibps: 2 ** 40,
  Bps: 8, KBps: 8e3, KiBps: 8 * 2 ** 10, MBps: 8e6, MiBps: 8 * 2 ** 20, GBps: 8e9, GiBps: 8 * 2 ** 30, TBps: 8e12, TiBps: 8 * 2 ** 40,
};
const UNITS: Record<string, Record<string, number>> = {
  'scalar-unit.size': SIZE, 'scalar-unit.time': TIME, 'scalar-unit.frequency': FREQUENCY, 'scalar-unit.bitrate': BITRATE,
};
// Size, time and frequency units are matched case-insensitively (as tosca-parser does); bitrate must
// not be, since bps and Bps differ by a factor of eight.
const FOLDED: Record<string, Map<string, number>> = Object.fromEntries(
  ['scalar-unit.size', 'scalar-unit.time', 'scalar-unit.frequency'].map((t) => [t, new Map(Object.entries(UNITS[t]).map(([u, f]) => [u.toLowerCase(), f]))]),
);

/** Value of a scalar-unit string in the base unit (bytes, seconds, hertz, bits/s), or undefined. */
export function parseScalarUnit(type: string, v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]+)\s*$/.exec(v);
  if (!m) return undefined;
  const table = UNITS[type];
  const f = table[m[2]] ?? FOLDED[type]?.get(m[2].toLowerCase());
  return f === undefined ? undefined : Number(m[1]) * f;
}

const FUNCTIONS = new Set(['get_input', 'get_property', 'get_attribute', 'get_operation_output', 'get_nodes_of_type', 'get_artifact', 'concat', 'join', 'token']);

/** A TOSCA intrinsic function call: a single-key map named after a function. */
export function functionCall(v: YValue | undefined): { name: string; args: YValue } | undefined {
  if (!isMapNode(v) || v.pairs.length !== 1 || !FUNCTIONS.has(v.pairs[0].key)) return undefined;
  return { name: v.pairs[0].key, args: v.pairs[0].value };
}

export interface ValueContext {
  types: TypeRegistry;
  findings: Findings;
  /** resolves intrinsic functions found in values (checked by the topology layer) */
  onFunction(call: { name: string; args: YValue }, at: YValue, path: string): void;
}

const TIMESTAMP = /^\d{4}-\d\d?-\d\d?(?:(?:[Tt]|[ \t]+)\d\d?:\d\d:\d\d(?:\.\d*)?(?:[ \t]*(?:Z|[-+]\d\d?(?::\d\d)?))?)?$/;
const VERSION = /^\d+\.\d+(?:\.\d+(?:\.[A-Za-z0-9_-]+(?:-\d+)?)?)?$/;

function describe(v: YValue): string {
  const s = JSON.stringify(plain(v));
  return s && s.length > 60 ? `${s.slice(0, 57)}...` : String(s);
}

/**
 * Check `v` against a property/parameter definition: type (recursing into data types, lists and maps)
 * and constraints. Every problem becomes a finding at the offending node; never throws.
 */
export function checkValue(v: YValue, def: PropDef, path: string, ctx: ValueContext, depth = 0): void {
  const call = functionCall(v);
  if (call) {
    ctx.onFunction(call, v, path);
    return;
  }
  if (depth > 32) return;
  const { types, findings } = ctx;
  const t = def.type;
  const base = PRIMITIVES.has(t) ? t : types.primitiveBase(t);
  if (!PRIMITIVES.has(t) && !types.lookup(t, def.typeNode)) {
    findings.add('TOSCA-UNKNOWN-TYPE', def.typeNode ?? v, `unknown type ${t} (property ${def.name})`, path);
    return;
  }
  let comparable: Comparable | undefined;
  if (base) {
    comparable = checkPrimitive(v, base, def, path, ctx, depth);
    if (comparable === INVALID) return;
  } else {
    if (!isMapNode(v)) {
      findings.add('TOSCA-TYPE-MISMATCH', v, `${def.name}: expected a map of data type ${t}, got ${describe(v)}`, path);
      return;
    }
    checkProperties(v, types.properties(t), path, ctx, `data type ${t}`, v, depth + 1);
  }
  if (def.constraints) checkConstraints(v, comparable, base ?? t, def.constraints, def.name, path, ctx);
  if (!PRIMITIVES.has(t)) for (const c of types.typeConstraints(t)) checkConstraints(v, comparable, base ?? t, c, def.name, path, ctx);
}

/** Check a map of assignments against definitions: unknown names, required ones, and each value. */
export function checkProperties(values: YMap | undefined, defs: Map<string, PropDef>, path: string, ctx: ValueContext, owner: string, at: YValue, depth = 0, providedElsewhere?: Set<string>): void {
  if (values) {
    for (const p of values.pairs) {
      const d = defs.get(p.key);
      if (!d) {
        ctx.findings.add('TOSCA-UNKNOWN-PROPERTY', p.keyNode, `${owner} has no property ${p.key}`, `${path}/${p.key}`);
        continue;
      }
      // A YAML null for an optional property means "not given" (PyYAML users write `key:` to omit).
      if (p.value.kind === 'scalar' && p.value.value === null && !d.required) continue;
      checkValue(p.value, d, `${path}/${p.key}`, ctx, depth);
    }
  }
  for (const d of defs.values()) {
    if (!d.required || d.default !== undefined || providedElsewhere?.has(d.name)) continue;
    const given = values?.byKey.get(d.name);
    if (!given || (given.value.kind === 'scalar' && given.value.value === null)) {
      ctx.findings.add('TOSCA-REQUIRED-PROPERTY', given?.keyNode ?? at, `${owner}: required property ${d.name} is missing`, `${path}/${d.name}`);
    }
  }
}

type Comparable = number | string | undefined | typeof INVALID;
const INVALID = Symbol('invalid');

function checkPrimitive(v: YValue, base: string, def: PropDef, path: string, ctx: ValueContext, depth: number): Comparable {
  const { findings } = ctx;
  const mismatch = (what: string): typeof INVALID => {
    findings.add('TOSCA-TYPE-MISMATCH', v, `${def.name}: expected ${what}, got ${describe(v)}`, path);
    return INVALID;
  };
  if (base === 'list' || base === 'map') {
    const entry = def.entrySchema;
    if (base === 'list') {
      if (v.kind !== 'seq') return mismatch('a list');
      if (entry) v.items.forEach((it, i) => checkValue(it, entry, `${path}/${i}`, ctx, depth + 1));
      return v.items.length;
    }
    if (v.kind !== 'map') return mismatch('a map');
    if (entry) for (const p of v.pairs) checkValue(p.value, entry, `${path}/${p.key}`, ctx, depth + 1);
    if (def.keySchema) for (const p of v.pairs) checkValue(p.keyNode, def.keySchema, `${path}/${p.key}`, ctx, depth + 1);
    return v.pairs.length;
  }
  if (base === 'range') {
    // TOSCA range: [ lower, upper ] integers, upper may be UNBOUNDED
    const ok = v.kind === 'seq' && v.items.length === 2 && Number.isInteger(plain(v.items[0])) && (Number.isInteger(plain(v.items[1])) || str(v.items[1]) === 'UNBOUNDED');
    return ok ? undefined : mismatch('a range [ <integer>, <integer> | UNBOUNDED ]');
  }
  if (v.kind !== 'scalar') return mismatch(base);
  const x = v.value;
  switch (base) {
    case 'string':
      if (x === null) return mismatch('a string');
      // YAML reads an unquoted 1.10 as the number 1.1 and yes/no as booleans: accepted, but worth a warning.
      if (typeof x !== 'string') findings.add('TOSCA-STRING-NOT-QUOTED', v, `${def.name}: ${describe(v)} is read as a ${typeof x}, not a string; quote it`, path);
      return String(x);
    case 'integer':
      if (typeof x !== 'number' || !Number.isInteger(x)) return mismatch('an integer');
      return x;
    case 'float':
      if (typeof x !== 'number') return mismatch('a float');
      return x;
    case 'boolean':
      if (typeof x !== 'boolean') return mismatch('a boolean (true/false)');
      return undefined;
    case 'timestamp':
      if (typeof x !== 'string' || !TIMESTAMP.test(x)) return mismatch('a timestamp (YAML 1.1 / ISO 8601)');
      return Date.parse(x.replace(' ', 'T'));
    case 'version':
      if (typeof x === 'number') return x;
      if (typeof x !== 'string' || !VERSION.test(x)) return mismatch('a version (major.minor[.fix[.qualifier[-build]]])');
      return x;
    case 'null':
      return x === null ? undefined : mismatch('null');
    default: {
      const n = parseScalarUnit(base, x);
      if (n === undefined) return mismatch(`a ${base} ("<number> <unit>", units ${Object.keys(UNITS[base] ?? {}).join(', ')})`);
      return n;
    }
  }
}

const CONSTRAINT_OPS = new Set(['equal', 'greater_than', 'greater_or_equal', 'less_than', 'less_or_equal', 'in_range', 'valid_values', 'length', 'min_length', 'max_length', 'pattern', 'schema']);

/** Turn a constraint operand into something comparable with the checked value. */
function operand(base: string, o: YValue | undefined): number | string | undefined {
  if (!o || o.kind !== 'scalar') return undefined;
  if (UNITS[base]) return parseScalarUnit(base, o.value);
  if (base === 'timestamp' && typeof o.value === 'string') return Date.parse(o.value.replace(' ', 'T'));
  if (base === 'string') return o.value === null ? undefined : String(o.value);
  return typeof o.value === 'number' || typeof o.value === 'string' ? o.value : undefined;
}

function cmp(a: number | string, b: number | string, base: string): number {
  if (base === 'version') return compareVersions(String(a), String(b));
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '0';
    const y = pb[i] ?? '0';
    const d = /^\d+$/.test(x) && /^\d+$/.test(y) ? Number(x) - Number(y) : x.localeCompare(y);
    if (d) return d;
  }
  return 0;
}

// Patterns come from uploaded packages: a backtracking regex like (a+)+$ could hang the validator. V8's
// linear-time engine (opt-in `l` flag, enabled here; it changes no other regex) runs them safely; patterns it
// cannot run (backreferences, lookaround) are not evaluated and say so.
setFlagsFromString('--enable-experimental-regexp-engine');
type Pattern = RegExp | 'invalid' | 'not-linear';
const regexCache = new Map<string, Pattern>();
function regex(p: string): Pattern {
  let r = regexCache.get(p);
  if (r === undefined) {
    try {
      new RegExp(p); // syntax check with the ordinary engine first, for a clear verdict on invalid patterns
      // TOSCA patterns match from the start of the value (Python re.match in the reference parser).
      r = new RegExp(`^(?:${p})`, 'l' as string);
    } catch {
      r = r === undefined && isValid(p) ? 'not-linear' : 'invalid';
    }
    regexCache.set(p, r);
  }
  return r;
}
function isValid(p: string): boolean {
  try {
    new RegExp(p);
    return true;
  } catch {
    return false;
  }
}

function checkConstraints(v: YValue, value: Comparable, base: string, constraints: YSeq, name: string, path: string, ctx: ValueContext): void {
  const { findings } = ctx;
  if (value === INVALID) return;
  for (const c of constraints.items) {
    if (!isMapNode(c) || c.pairs.length !== 1) {
      findings.add('TOSCA-BAD-CONSTRAINT', c, `constraint of ${name} must be a single-key map`, path);
      continue;
    }
    const { key: op, value: arg } = c.pairs[0];
    if (!CONSTRAINT_OPS.has(op)) {
      findings.add('TOSCA-BAD-CONSTRAINT', c, `unknown constraint operator ${op}`, path);
      continue;
    }
    const fail = (what: string): void => findings.add('TOSCA-CONSTRAINT', v, `${name}: ${describe(v)} violates ${op} ${what}`, path);
    switch (op) {
      case 'valid_values':
      case 'equal': {
        const options = op === 'equal' ? [arg] : arg.kind === 'seq' ? arg.items : undefined;
        if (!options) { findings.add('TOSCA-BAD-CONSTRAINT', arg, `valid_values of ${name} must be a list`, path); break; }
        const pv = JSON.stringify(normalizeForEquality(plain(v)));
        if (!options.some((o) => JSON.stringify(normalizeForEquality(plain(o))) === pv || (value !== undefined && operand(base, o) === value))) {
          fail(op === 'equal' ? describe(arg) : `[${options.map(describe).join(', ')}]`);
        }
        break;
      }
      case 'greater_than':
      case 'greater_or_equal':
      case 'less_than':
      case 'less_or_equal': {
        const o = operand(base, arg);
        if (o === undefined) { findings.add('TOSCA-BAD-CONSTRAINT', arg, `${op} operand of ${name} is not a ${base}`, path); break; }
        if (value === undefined || (typeof value !== typeof o && base !== 'version')) break;
        const d = cmp(value, o, base);
        const ok = op === 'greater_than' ? d > 0 : op === 'greater_or_equal' ? d >= 0 : op === 'less_than' ? d < 0 : d <= 0;
        if (!ok) fail(describe(arg));
        break;
      }
      case 'in_range': {
        if (arg.kind !== 'seq' || arg.items.length !== 2) { findings.add('TOSCA-BAD-CONSTRAINT', arg, `in_range of ${name} needs [min, max]`, path); break; }
        const lo = operand(base, arg.items[0]);
        const hiNode = arg.items[1];
        const hi = str(hiNode) === 'UNBOUNDED' ? Infinity : operand(base, hiNode);
        if (lo === undefined || hi === undefined) { findings.add('TOSCA-BAD-CONSTRAINT', arg, `in_range bounds of ${name} are not ${base}`, path); break; }
        if (value === undefined) break;
        if (cmp(value, lo, base) < 0 || (hi !== Infinity && cmp(value, hi, base) > 0)) fail(describe(arg));
        break;
      }
      case 'length':
      case 'min_length':
      case 'max_length': {
        const n = Number(str(arg));
        if (!Number.isInteger(n)) { findings.add('TOSCA-BAD-CONSTRAINT', arg, `${op} of ${name} must be an integer`, path); break; }
        const len = v.kind === 'seq' ? v.items.length : v.kind === 'map' ? v.pairs.length : v.value === null ? 0 : [...String(v.value)].length;
        if (op === 'length' ? len !== n : op === 'min_length' ? len < n : len > n) fail(String(n));
        break;
      }
      case 'pattern': {
        const r = regex(str(arg) ?? '');
        if (r === 'invalid') { findings.add('TOSCA-BAD-CONSTRAINT', arg, `pattern of ${name} is not a valid regular expression`, path); break; }
        if (r === 'not-linear') { findings.add('TOSCA-PATTERN-UNCHECKED', arg, `pattern of ${name} uses backreferences or lookaround, which are not evaluated (only linear-time patterns are)`, path); break; }
        if (v.kind === 'scalar' && v.value !== null && !r.test(String(v.value))) fail(describe(arg));
        break;
      }
      default:
        break; // schema: not evaluated
    }
  }
}

/** valid_values compares YAML values; '1.0' and 1.0 are both written for versions, so compare as text. */
function normalizeForEquality(x: unknown): unknown {
  if (typeof x === 'number' || typeof x === 'boolean') return String(x);
  if (Array.isArray(x)) return x.map(normalizeForEquality);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, normalizeForEquality(y)]));
  return x;
}
