import { invalidInput } from '../../../common/errors';
import type { Principal } from '../../../common/principal';
import { FIELD_PROPERTIES, glanceTime, ImageView, LINK_PROPERTIES } from './image';

/**
 * GET /v2/images: Glance's query (filters, sort, paging) read into a neutral form (parseImageQuery),
 * then written as a query of the generic list (depotListParams), which the engine runs with the
 * caller's visibility. A caller that holds images elsewhere may evaluate the neutral form itself.
 */
export interface ImageQuery {
  limit: number;
  marker?: string;
  /** Sort keys as the Image API names them, each with its direction. */
  sort: { key: string; dir: 'asc' | 'desc' }[];
  /** `visibility=` (absent: what a default list shows). */
  visibility?: 'public' | 'private' | 'shared' | 'community' | 'all';
  memberStatus: 'accepted' | 'pending' | 'rejected' | 'all';
  /** Conditions on image properties: `property op value(s)`. */
  where: { property: string; op: 'eq' | 'in' | 'gt' | 'gte' | 'lt' | 'lte' | 'neq'; values: string[] }[];
  tags: string[];
}

export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 1000;
const SORT_KEYS = new Set(['name', 'status', 'container_format', 'disk_format', 'size', 'id', 'created_at', 'updated_at']);
/** The only properties Glance filters with `in:` (and `eq:`). */
const IN_PROPERTIES = new Set(['id', 'name', 'status', 'container_format', 'disk_format']);
const DATE_OPS = new Set(['gt', 'gte', 'eq', 'neq', 'lt', 'lte']);

export function parseImageQuery(params: URLSearchParams): ImageQuery {
  const q: ImageQuery = { limit: DEFAULT_LIMIT, sort: [], memberStatus: 'accepted', where: [], tags: [] };
  const sortKeys = params.getAll('sort_key');
  const sortDirs = params.getAll('sort_dir');
  const sortNew = params.get('sort');
  if (sortNew !== null && (sortKeys.length || sortDirs.length)) throw invalidInput('sort cannot be combined with sort_key or sort_dir');
  if (sortNew !== null) {
    for (const part of sortNew.split(',')) {
      const [key, dir = 'desc', extra] = part.trim().split(':');
      q.sort.push({ key: sortKey(key), dir: sortDir(dir) });
      if (extra !== undefined) throw invalidInput(`sort: cannot read ${JSON.stringify(part)} (use key[:asc|desc])`);
    }
  } else if (sortKeys.length || sortDirs.length) {
    if (sortDirs.length > 1 && sortDirs.length !== sortKeys.length) throw invalidInput('give one sort_dir for all sort_key values, or one per sort_key');
    const keys = sortKeys.length ? sortKeys : ['created_at'];
    keys.forEach((k, i) => q.sort.push({ key: sortKey(k), dir: sortDir(sortDirs[sortDirs.length > 1 ? i : 0] ?? 'desc') }));
  }
  for (const [name, raw] of params) {
    switch (name) {
      case 'sort': case 'sort_key': case 'sort_dir':
        continue;
      case 'limit':
        if (!/^\d+$/.test(raw)) throw invalidInput(`limit: ${JSON.stringify(raw)} is not a non-negative integer`);
        q.limit = Math.min(Number(raw), MAX_LIMIT);
        continue;
      case 'marker':
        q.marker = raw;
        continue;
      case 'visibility':
        if (!['public', 'private', 'shared', 'community', 'all'].includes(raw)) throw invalidInput(`visibility: ${JSON.stringify(raw)} is not one of public, private, shared, community, all`);
        q.visibility = raw as ImageQuery['visibility'];
        continue;
      case 'member_status':
        if (!['accepted', 'pending', 'rejected', 'all'].includes(raw)) throw invalidInput(`member_status: ${JSON.stringify(raw)} is not one of accepted, pending, rejected, all`);
        q.memberStatus = raw as ImageQuery['memberStatus'];
        continue;
      case 'tag':
        q.tags.push(raw);
        continue;
      case 'changes-since':
        throw invalidInput('changes-since is not available in the Image API v2: filter on updated_at=gte:<time>');
      case 'size_min': case 'size_max':
        if (!/^\d+$/.test(raw)) throw invalidInput(`${name}: ${JSON.stringify(raw)} is not a non-negative integer`);
        q.where.push({ property: 'size', op: name === 'size_min' ? 'gte' : 'lte', values: [raw] });
        continue;
      case 'created_at': case 'updated_at': {
        const m = /^([a-z]+):(.*)$/.exec(raw);
        const op = m ? m[1] : 'eq';
        if (!DATE_OPS.has(op)) throw invalidInput(`${name}: unknown operator ${op} (use gt, gte, eq, neq, lt or lte)`);
        const value = m ? m[2] : raw;
        if (Number.isNaN(Date.parse(value))) throw invalidInput(`${name}: ${JSON.stringify(value)} is not an ISO 8601 time`);
        q.where.push({ property: name, op: op as ImageQuery['where'][number]['op'], values: [value] });
        continue;
      }
      default: {
        const m = /^(in|eq):(.*)$/s.exec(raw);
        if (m && IN_PROPERTIES.has(name)) {
          q.where.push({ property: name, op: m[1] as 'in' | 'eq', values: m[1] === 'in' ? splitIn(m[2], name) : [m[2]] });
        } else q.where.push({ property: name, op: 'eq', values: [raw] });
      }
    }
  }
  return q;
}

function sortKey(key: string): string {
  if (!SORT_KEYS.has(key)) throw invalidInput(`sort key ${JSON.stringify(key)} is not one of ${[...SORT_KEYS].join(', ')}`);
  return key;
}

function sortDir(dir: string): 'asc' | 'desc' {
  if (dir !== 'asc' && dir !== 'desc') throw invalidInput(`sort direction ${JSON.stringify(dir)} is not asc or desc`);
  return dir;
}

/** `in:` values: commas separate, double quotes protect a value that holds commas. */
function splitIn(raw: string, name: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|([^,]*))\s*(,|$)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < raw.length && (m = re.exec(raw))) {
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2].trim());
    if (m[3] === '') break;
  }
  if (!out.length) throw invalidInput(`${name}: in: needs at least one value`);
  return out;
}

/** Image API statuses as the artifact's status (and `killed` mark); `saving` is a drafted image too. */
const STATUS: Record<string, { status: string; killed?: boolean }> = {
  queued: { status: 'drafted', killed: false }, saving: { status: 'drafted' }, killed: { status: 'drafted', killed: true },
  active: { status: 'active' }, deactivated: { status: 'deactivated' },
};

/** Quotes a value for the generic list's comma lists. */
const quote = (v: string) => `"${v.replace(/"/g, '\\"')}"`;

/**
 * The generic list query for an Image API query of `p`. What an image list shows (Glance's rules):
 * the caller's images, public ones (not community ones unless asked for), and those shared with
 * the caller's project whose membership has `member_status` (accepted by default); admins see
 * everything; hidden images only when asked for.
 */
export function depotListParams(q: ImageQuery, p: Principal): URLSearchParams {
  const out = new URLSearchParams();
  const memberValues = q.memberStatus === 'all' ? ['pending', 'accepted', 'rejected'] : [q.memberStatus];
  const members = () => out.append(`members.${p.project}`, `or:in:${memberValues.map(quote).join(',')}`);
  const mine = () => out.append('owner', `or:eq:${p.project}`);
  switch (q.visibility) {
    case undefined:
    case 'all':
      if (q.visibility === undefined) out.append('image_visibility', 'neq:community');
      if (!p.isAdmin) {
        mine();
        out.append('visibility', 'or:eq:public');
        members();
      }
      break;
    case 'public':
    case 'community':
      out.append('visibility', 'eq:public');
      out.append('image_visibility', q.visibility === 'public' ? 'neq:community' : 'eq:community');
      break;
    case 'private':
      out.append('visibility', 'eq:private');
      out.append('image_visibility', 'eq:private');
      if (!p.isAdmin) out.append('owner', `eq:${p.project}`);
      break;
    case 'shared':
      out.append('visibility', 'eq:private');
      out.append('image_visibility', 'eq:shared');
      if (!p.isAdmin) {
        mine();
        members();
      }
      break;
  }
  if (!q.where.some((w) => w.property === 'os_hidden')) out.append('os_hidden', 'eq:false');
  if (q.tags.length) out.append('tags', q.tags.map(quote).join(','));
  for (const w of q.where) {
    const values = w.values;
    const opText = (vs: string[]) => (w.op === 'in' ? `in:${vs.map(quote).join(',')}` : `${w.op}:${vs[0]}`);
    switch (w.property) {
      case 'status': {
        const mapped = values.map((v) => STATUS[v]);
        if (mapped.some((m) => !m)) throw invalidInput(`status: ${JSON.stringify(values.find((v) => !STATUS[v]))} is not an image status`);
        out.append('status', opText([...new Set(mapped.map((m) => m.status))]));
        if (mapped.length === 1 && mapped[0].killed !== undefined) out.append('killed', mapped[0].killed ? 'eq:true' : 'neq:true');
        continue;
      }
      case 'visibility': case 'tags': case 'members': case 'image_visibility': case 'killed': case 'properties':
        throw invalidInput(`cannot filter on ${w.property}`);
      case 'name': case 'id': case 'owner': case 'disk_format': case 'container_format': case 'created_at': case 'updated_at':
      case 'size': case 'checksum': case 'os_hash_value':
        out.append(w.property, opText(values));
        continue;
      case 'min_ram': case 'min_disk': case 'protected': case 'os_hidden':
        out.append(w.property, opText(values));
        continue;
      default:
        if ((FIELD_PROPERTIES as readonly string[]).includes(w.property)) {
          out.append(w.property, opText(LINK_PROPERTIES.has(w.property) ? values.map((v) => `/artifacts/images/${v}`) : values));
        } else out.append(`properties.${w.property}`, opText(values));
    }
  }
  out.set('limit', String(q.limit));
  if (q.sort.length) out.set('sort', q.sort.map((s) => `${s.key}:${s.dir}`).join(','));
  if (q.marker !== undefined) out.set('marker', q.marker);
  return out;
}

/** The value of an image property as a query compares it (base property or additional one). */
function valueOf(v: ImageView, property: string): string | number | boolean | Date | null | undefined {
  switch (property) {
    case 'id': case 'name': case 'status': case 'visibility': case 'owner': case 'checksum': case 'os_hash_value':
    case 'disk_format': case 'container_format': case 'min_ram': case 'min_disk': case 'protected': case 'os_hidden': case 'size':
    case 'created_at': case 'updated_at':
      return v[property];
    default:
      return v.properties[property];
  }
}

/**
 * Whether an image held outside the `images` type (e.g. a VNF package's software image) passes the
 * query's filters, as depotListParams has the database apply them: visibility and hidden images
 * (the caller's right to see the image is the holder's business), conditions and tags.
 */
export function matchesImage(v: ImageView, q: ImageQuery): boolean {
  if (q.visibility === undefined ? v.visibility === 'community' : q.visibility !== 'all' && v.visibility !== q.visibility) return false;
  if (!q.where.some((w) => w.property === 'os_hidden') && v.os_hidden) return false;
  if (!q.tags.every((t) => v.tags.includes(t))) return false;
  return q.where.every((w) => {
    const value = valueOf(v, w.property);
    if (value === null || value === undefined) return false;
    if (value instanceof Date || typeof value === 'number') {
      const a = value instanceof Date ? value.getTime() : value;
      const b = value instanceof Date ? Date.parse(w.values[0]) : Number(w.values[0]);
      if (w.op === 'in') return w.values.some((x) => (value instanceof Date ? Date.parse(x) : Number(x)) === a);
      return { eq: a === b, neq: a !== b, gt: a > b, gte: a >= b, lt: a < b, lte: a <= b }[w.op];
    }
    const text = String(value);
    if (w.op === 'in') return w.values.includes(text);
    if (w.op === 'neq') return text !== w.values[0];
    return w.op === 'eq' && text === w.values[0];
  });
}

/** The list order of a query (its sort keys, then created_at desc and id asc, as the database orders). */
export function compareImages(q: ImageQuery): (a: ImageView, b: ImageView) => number {
  const keys = [...q.sort];
  if (!keys.some((k) => k.key === 'created_at')) keys.push({ key: 'created_at', dir: 'desc' });
  if (!keys.some((k) => k.key === 'id')) keys.push({ key: 'id', dir: 'asc' });
  const rank = (x: unknown) => (x instanceof Date ? glanceTime(x) : x);
  return (a, b) => {
    for (const k of keys) {
      const x = rank(valueOf(a, k.key));
      const y = rank(valueOf(b, k.key));
      if (x === y) continue;
      // Nulls last ascending, first descending (PostgreSQL's order).
      const c = x === null || x === undefined ? 1 : y === null || y === undefined ? -1 : (x as number | string) < (y as number | string) ? -1 : 1;
      return k.dir === 'asc' ? c : -c;
    }
    return 0;
  };
}
