import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { DRIVER_SCHEMAS, DRIVERS, fileSchema } from './sections';
import { readSize, SIZE_HINT } from '../common/size';

/**
 * A configuration that cannot be used: the message is one line naming where (the file or the
 * environment variable) and the key, e.g. `/etc/depot.yaml: onboarding.workers: must be an integer >= 1, got 0`.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

let ajv: Ajv | undefined;
let validateFile: ValidateFunction<any> | undefined;
const validateStore = new Map<string, ValidateFunction>();

function bytes(n: number): string {
  for (const [unit, f] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (n >= f && n % f === 0) return `${n / f}${unit}`;
  }
  return String(n);
}

/**
 * Ajv for a schema compiled once per process: without the meta-schema (ours is fixed, and strict
 * mode still refuses unknown keywords) and without the optimising pass, both of which cost MBs of
 * a server that idles at ~80.
 */
function newAjv(): Ajv {
  const a = new Ajv({ useDefaults: 'empty', verbose: true, strict: true, allowUnionTypes: true, meta: false, validateSchema: false, code: { optimize: false } });
  // `size: true | {min, max}`: a byte count or "20GiB", replaced by the number of bytes.
  a.addKeyword({
    keyword: 'size',
    schemaType: ['boolean', 'object'],
    modifying: true,
    errors: true,
    validate: function size(schema: boolean | { min?: number; max?: number }, data: unknown, _parent?: unknown, cxt?: { parentData: any; parentDataProperty: string | number }) {
      const n = readSize(data);
      const { min = 0, max = Infinity } = typeof schema === 'object' ? schema : {};
      if (n === undefined || n < min || n > max) {
        const range = min > 0 || max < Infinity ? ` in [${bytes(min)}, ${max < Infinity ? bytes(max) : '∞'}]` : '';
        (size as unknown as { errors: Partial<ErrorObject>[] }).errors = [{ keyword: 'size', message: `must be ${SIZE_HINT}${range}`, params: {} }];
        return false;
      }
      if (cxt) cxt.parentData[cxt.parentDataProperty] = n;
      return true;
    },
  });
  return a;
}

/**
 * The configuration file's content checked against the schema, with defaults filled in and sizes in
 * bytes (a copy: `file` is not changed). Throws a ConfigError naming `source` and the first bad key.
 */
export function checkFile(file: unknown, source: string): any {
  const data: any = structuredClone(file ?? {});
  ajv ??= newAjv();
  validateFile ??= ajv.compile(fileSchema);
  if (!validateFile(data)) throw new ConfigError(`${source}: ${describeError(validateFile.errors![0], data)}`);
  for (const [name, options] of Object.entries<Record<string, unknown>>(data.stores)) {
    const at = `stores.${name}`;
    const driver = options.driver ?? (DRIVERS.includes(name) ? name : undefined);
    if (driver === undefined) throw new ConfigError(`${source}: ${at}.driver: is required (a store not named after a driver says which one it uses: ${DRIVERS.join(', ')})`);
    if (typeof driver !== 'string' || !DRIVERS.includes(driver)) throw new ConfigError(`${source}: ${at}.driver: must be one of ${DRIVERS.join(', ')}, got ${show(driver)}`);
    let v = validateStore.get(driver);
    if (!v) validateStore.set(driver, (v = ajv.compile(DRIVER_SCHEMAS[driver])));
    if (!v(options)) throw new ConfigError(`${source}: ${describeError(v.errors![0], options, at)}`);
  }
  return data;
}

/** `key.path: problem, got value` for one Ajv error. */
export function describeError(e: ErrorObject, root: unknown, rootKey = ''): string {
  let key = join(rootKey, keyPath(e.instancePath, root));
  const got = e.keyword === 'required' || e.keyword === 'additionalProperties' ? '' : `, got ${show(e.data)}`;
  const s = (e.parentSchema ?? {}) as Record<string, any>;
  let problem: string;
  switch (e.keyword) {
    case 'additionalProperties':
      key = join(key, e.params.additionalProperty);
      problem = `unknown key (known: ${Object.keys(s.properties ?? {}).join(', ') || 'none'})`;
      break;
    case 'required':
      key = join(key, e.params.missingProperty);
      problem = 'is required';
      break;
    case 'enum':
      problem = `must be one of ${(e.schema as unknown[]).join(', ')}`;
      break;
    case 'type':
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
      problem = s.type === 'integer' || s.type === 'number' ? `must be ${numberRule(s)}` : `must be ${TYPE_NAMES[s.type] ?? s.type}`;
      break;
    default:
      problem = e.message ?? 'is invalid';
  }
  return `${key || '(top level)'}: ${problem}${got}`;
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping of keys to values', array: 'a list', string: 'a string', boolean: 'true or false',
};

function numberRule(s: Record<string, any>): string {
  const what = s.type === 'integer' ? 'an integer' : 'a number';
  if (s.minimum !== undefined && s.maximum !== undefined) return `${what} in [${s.minimum}, ${s.maximum}]`;
  if (s.minimum !== undefined) return `${what} >= ${s.minimum}`;
  if (s.exclusiveMinimum !== undefined) return `${what} > ${s.exclusiveMinimum}`;
  return what;
}

/** JSON pointer → `types.files.hooks[0].event`, indices shown as such where the data is a list. */
function keyPath(pointer: string, root: unknown): string {
  let out = '';
  let node: any = root;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out = Array.isArray(node) ? `${out}[${seg}]` : join(out, seg);
    node = node?.[seg];
  }
  return out;
}

const join = (path: string, key: string) => (path && key ? `${path}.${key}` : path || key);

/** The offending value as the user wrote it (NaN and Infinity included, which JSON would hide). */
export function show(v: unknown): string {
  if (typeof v === 'number') return String(v);
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
