import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { QueryTypes, Sequelize, Transaction } from 'sequelize';
import type { Logger } from 'pino';
import { hasErrors } from '../common/findings';
import type { DepotConfig } from '../config';
import { inTransaction } from '../db/database';
import type { Principal } from '../http/auth';
import { badRequest, conflict, forbidden, HttpError, notFound, preconditionFailed, tooLarge } from '../http/problem';
import type { ByteRange, FileSpan } from '../storage/blob-store';
import { SizeLimitError, type ContentStore } from '../storage/content-store';
import type { ContentLocks } from '../storage/content-locks';
import type { StoreRegistry } from '../storage/registry';
import { BASE_COLUMNS, BASE_FIELDS, FieldDef, isBinary } from './fields';
import { HookChain } from './hooks';
import { applyOp, PatchError, validatePatch } from './json-patch';
import { columnOf, compileQuery, SortKey } from './query';
import { FieldValidator } from './schema';
import { ArtifactRecord, ArtifactTypeDef, HookContext, HookEvent, TypeRegistry, allFields } from './types';
import { parseVersion, VersionError } from './version';

export interface BlobRow {
  id: string;
  artifact_id: string;
  field: string;
  path: string;
  status: 'saving' | 'active';
  store: string;
  content_key: string | null;
  content_offset: string | null;
  /** Composite blob: the bytes are these objects' ranges, in order (see migration 02). */
  segments: { key: string; offset: number; length: number }[] | null;
  size: string;
  reserved: string;
  digests: Record<string, string>;
  content_type: string | null;
  updated_at: Date;
}

/** Bytes staged for a blob: one object (`key`), or a composite of objects (`segments`, see migration 02). */
export type Staged = Awaited<ReturnType<ContentStore['stage']>> & { segments?: { key: string; offset: number; length: number }[] };

/**
 * Replaces ContentStore.stage for one upload (the package pipeline splits a CSAR while it streams):
 * same contract, plus optional segments when the blob is a composite whose `key` is the first object.
 */
export type Ingest = (body: Readable, opts: Parameters<ContentStore['stage']>[1] & { limit: number }) => Promise<Staged>;

export interface BlobContent {
  blob: BlobRow;
  size: number;
  open(range?: ByteRange): Promise<Readable>;
  /** The same bytes as spans of local files, when the store keeps objects as files (see sendFileSpans). */
  files(range?: ByteRange): FileSpan[] | undefined;
}

export interface ListResult {
  artifacts: ArtifactRecord[];
  total: number;
  next?: string;
}

const DEFAULT_MAX_BLOB = 10 * 2 ** 30;
const SELECT = `SELECT a.*, COALESCE((SELECT json_agg(s.project ORDER BY s.project) FROM artifact_shares s WHERE s.artifact_id = a.id), '[]') AS shared_with FROM artifacts a`;

/** Fields a client writes through PATCH (the document the JSON Patch applies to). */
function writableDoc(a: ArtifactRecord): Record<string, unknown> {
  return {
    name: a.name, version: a.version, status: a.status, visibility: a.visibility, description: a.description,
    tags: [...a.tags], metadata: { ...a.metadata }, shared_with: [...a.shared_with], ...structuredClone(a.fields),
  };
}

function toRecord(row: any): ArtifactRecord {
  return {
    ...row,
    created_at: new Date(row.created_at),
    updated_at: new Date(row.updated_at),
    activated_at: row.activated_at ? new Date(row.activated_at) : null,
    shared_with: row.shared_with ?? [],
  };
}

export const etagOf = (a: ArtifactRecord) => `"${a.id.slice(0, 8)}-${a.revision}"`;

/**
 * The artifact engine: the only writer of artifacts and blobs. Routes call it with a principal;
 * it enforces lifecycle, immutability, visibility, sharing, quotas, link integrity and optimistic
 * concurrency, and runs the type's hooks. Every rule that must hold under concurrency is held by
 * PostgreSQL (row locks, advisory locks, constraints), so several Depot processes can share a database.
 */
export class ArtifactEngine {
  private readonly validators = new Map<string, FieldValidator>();
  private readonly hookChains = new Map<string, HookChain>();

  constructor(
    readonly sequelize: Sequelize,
    readonly types: TypeRegistry,
    readonly stores: StoreRegistry,
    readonly locks: ContentLocks,
    readonly config: DepotConfig,
    readonly log: Logger,
  ) {}

  type(name: string): ArtifactTypeDef {
    const t = this.types.get(name);
    if (!t) throw notFound(`unknown artifact type '${name}' (known: ${this.types.names().join(', ')})`);
    return t;
  }

  hooks(type: ArtifactTypeDef): HookChain {
    let h = this.hookChains.get(type.name);
    if (!h) {
      h = new HookChain(type.hooks ?? {}, this.config.types[type.name]?.hooks ?? []);
      this.hookChains.set(type.name, h);
    }
    return h;
  }

  private validator(type: ArtifactTypeDef): FieldValidator {
    let v = this.validators.get(type.name);
    if (!v) this.validators.set(type.name, (v = new FieldValidator(type)));
    return v;
  }

  storeOf(type: ArtifactTypeDef) {
    return this.stores.get(this.config.types[type.name]?.store ?? type.defaultStore ?? 'fs');
  }

  maxBlobSize(type: ArtifactTypeDef, def: FieldDef): number {
    return Math.min(def.maxBlobSize ?? Infinity, this.config.types[type.name]?.maxBlobSize ?? type.defaultMaxBlobSize ?? DEFAULT_MAX_BLOB);
  }

  private q<T extends object>(sql: string, replacements: Record<string, unknown>, transaction?: Transaction): Promise<T[]> {
    return this.sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT, transaction });
  }

  private exec(sql: string, replacements: Record<string, unknown>, transaction?: Transaction): Promise<unknown> {
    return this.sequelize.query(sql, { replacements, transaction });
  }

  private async runHooks(type: ArtifactTypeDef, ctx: HookContext): Promise<void> {
    const findings = await this.hooks(type).run(ctx);
    if (hasErrors(findings)) {
      const first = findings.find((f) => f.severity === 'error')!;
      throw new HttpError(422, 'Unprocessable Content', `${ctx.event} hook rejected the request: ${first.message}`, { findings });
    }
  }

  // ── visibility and permissions ───────────────────────────────────────────────────────────────

  /** SQL condition: the artifact is readable by the principal (owner, shared with, public, or admin). */
  visibleSql(p: Principal, replacements: Record<string, unknown>): string {
    if (p.isAdmin) return 'TRUE';
    replacements.viewer = p.project;
    return `(a.owner = :viewer OR a.visibility = 'public' OR EXISTS (SELECT 1 FROM artifact_shares s WHERE s.artifact_id = a.id AND s.project = :viewer))`;
  }

  canWrite(p: Principal, a: ArtifactRecord): boolean {
    return p.isAdmin || (a.owner === p.project && p.role !== 'reader');
  }

  /** Loads a visible artifact of the type, or 404 (never 403: another project's existence is private). */
  async get(p: Principal, typeName: string, id: string, t?: Transaction, lock = false): Promise<ArtifactRecord> {
    const type = this.type(typeName);
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) throw notFound(`no ${type.name} artifact with id ${id}`);
    const r: Record<string, unknown> = { id, type: type.name };
    const [row] = await this.q<any>(`${SELECT} WHERE a.id = :id AND a.type_name = :type AND ${this.visibleSql(p, r)}${lock ? ' FOR UPDATE OF a' : ''}`, r, t);
    if (!row) throw notFound(`no ${type.name} artifact with id ${id}`);
    return toRecord(row);
  }

  /** Same as get, then requires write permission (403 when visible but not writable). */
  async getWritable(p: Principal, typeName: string, id: string, t?: Transaction): Promise<ArtifactRecord> {
    const a = await this.get(p, typeName, id, t, !!t);
    if (!this.canWrite(p, a)) throw forbidden(`project '${p.project}' (role ${p.role}) may not modify this artifact`);
    if (a.visibility === 'public' && !p.isAdmin) throw forbidden('a public artifact may only be changed by an admin');
    return a;
  }

  // ── create ───────────────────────────────────────────────────────────────────────────────────

  async create(p: Principal, typeName: string, body: unknown, opts: { system?: Record<string, unknown>; id?: string } = {}): Promise<ArtifactRecord> {
    const type = this.type(typeName);
    if (p.role === 'reader') throw forbidden(`role reader may not create artifacts`);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the request body must be a JSON object of field values');
    const fields = allFields(type);
    const input = body as Record<string, unknown>;
    for (const [k] of Object.entries(input)) {
      const def = fields[k];
      if (!def) throw badRequest(`unknown field '${k}' for type ${type.name}`);
      if (def.system) throw forbidden(`field '${k}' is read-only`);
      if (isBinary(def)) throw badRequest(`field '${k}' is a ${def.kind}: upload it with PUT /artifacts/${type.name}/{id}/${k}`);
      if (k === 'status' || k === 'visibility') throw badRequest(`field '${k}' cannot be set at creation; change it with PATCH`);
    }
    if (typeof input.name !== 'string' || !input.name.trim()) throw badRequest(`field 'name' is required and must be a non-empty string`);
    const values: Record<string, unknown> = {};
    for (const [k, def] of Object.entries(fields)) {
      if (def.system || isBinary(def) || k === 'status' || k === 'visibility') continue;
      values[k] = k in input ? input[k] : structuredClone(def.default ?? (def.kind === 'list' ? [] : def.kind === 'dict' ? {} : null));
    }
    const version = this.version(values.version ?? '0.0.0', type);
    values.version = version.normalized;
    const problem = this.validator(type).check(values);
    if (problem) throw badRequest(problem);

    const id = opts.id ?? randomUUID();
    const now = new Date();
    const record: ArtifactRecord = {
      id, type_name: type.name, owner: p.project, name: values.name as string, version: version.normalized, status: 'drafted', visibility: 'private',
      description: (values.description as string) ?? '', tags: (values.tags as string[]) ?? [], metadata: (values.metadata as Record<string, string>) ?? {},
      shared_with: (values.shared_with as string[]) ?? [], fields: {}, revision: 1, created_at: now, updated_at: now, activated_at: null,
    };
    for (const k of Object.keys(type.fields)) if (!isBinary(type.fields[k]) && !type.fields[k].system) record.fields[k] = values[k];
    Object.assign(record.fields, opts.system ?? {});
    await this.runHooks(type, { event: 'pre_create', principal: p, artifact: record });

    await inTransaction(this.sequelize, async (t) => {
      await this.checkArtifactQuota(t, p.project, type.name);
      await this.exec(
        `INSERT INTO artifacts (id, type_name, owner, name, version, version_key, description, tags, metadata, fields, created_at, updated_at)
         VALUES (:id, :type, :owner, :name, :version, :key, :description, :tags, :metadata, :fields, :now, :now)`,
        { id, type: type.name, owner: p.project, name: record.name, version: version.normalized, key: version.key, description: record.description,
          tags: JSON.stringify(record.tags), metadata: JSON.stringify(record.metadata), fields: JSON.stringify(record.fields), now },
        t,
      );
      await this.writeShares(t, id, record.shared_with);
      await this.writeLinks(t, p, type, id, record.fields);
    });
    await this.runHooks(type, { event: 'post_create', principal: p, artifact: record });
    return this.get(p, type.name, id);
  }

  version(v: unknown, type: ArtifactTypeDef) {
    try {
      return parseVersion(v, type.versionBuildSignificant);
    } catch (e) {
      throw badRequest(`field 'version': ${(e as VersionError).message}`);
    }
  }

  private async writeShares(t: Transaction, id: string, projects: string[]): Promise<void> {
    await this.exec('DELETE FROM artifact_shares WHERE artifact_id = :id', { id }, t);
    for (const project of new Set(projects)) await this.exec('INSERT INTO artifact_shares (artifact_id, project) VALUES (:id, :project)', { id, project }, t);
  }

  /** Internal links must point at an existing artifact the caller can see; a row per link holds integrity. */
  private async writeLinks(t: Transaction, p: Principal, type: ArtifactTypeDef, id: string, fields: Record<string, unknown>): Promise<void> {
    await this.exec('DELETE FROM artifact_links WHERE source_id = :id', { id }, t);
    for (const [name, def] of Object.entries(type.fields)) {
      const isLink = def.kind === 'link' || ((def.kind === 'list' || def.kind === 'dict') && def.element === 'link');
      const v = fields[name];
      if (!isLink || v === null || v === undefined) continue;
      const entries: [string, string][] = def.kind === 'link' ? [['', v as string]] : def.kind === 'list' ? (v as string[]).map((x, i) => [String(i), x]) : Object.entries(v as Record<string, string>);
      for (const [key, link] of entries) {
        const [, , targetType, targetId] = link.split('/');
        const r: Record<string, unknown> = { tid: targetId, ttype: targetType };
        const [target] = await this.q<{ id: string }>(`SELECT a.id FROM artifacts a WHERE a.id = :tid AND a.type_name = :ttype AND ${this.visibleSql(p, r)}`, r, t);
        if (!target) throw badRequest(`field '${name}${key ? `.${key}` : ''}': link target ${link} does not exist or is not visible`);
        if (targetId === id) throw badRequest(`field '${name}': an artifact cannot link to itself`);
        await this.exec('INSERT INTO artifact_links (source_id, field, key, target_id) VALUES (:id, :field, :key, :tid)', { id, field: name, key, tid: targetId }, t);
      }
    }
  }

  // ── quotas ───────────────────────────────────────────────────────────────────────────────────

  /** Effective limits for a project and type: database overrides first, then the config file. */
  async quotaFor(t: Transaction | undefined, project: string, type: string): Promise<{ scope: string; maxArtifacts?: number; maxBytes?: number }[]> {
    const rows = await this.q<{ type_name: string; max_artifacts: string | null; max_bytes: string | null }>(
      'SELECT type_name, max_artifacts, max_bytes FROM quotas WHERE project = :project', { project }, t,
    );
    const cfg = this.config.quotas;
    const num = (v: string | null | undefined) => (v === null || v === undefined ? undefined : Number(v));
    const db = (tn: string) => rows.find((r) => r.type_name === tn);
    const pick = (tn: string, cfgEntry: { maxArtifacts?: number; maxBytes?: number } | undefined) => {
      const d = db(tn);
      return { maxArtifacts: d ? num(d.max_artifacts) : cfgEntry?.maxArtifacts, maxBytes: d ? num(d.max_bytes) : cfgEntry?.maxBytes };
    };
    return [
      { scope: 'project', ...pick('*', cfg[project] ?? cfg.default) },
      { scope: `type ${type}`, ...pick(type, cfg[`${project}:${type}`] ?? cfg[`default:${type}`]) },
    ];
  }

  /** Serialises quota decisions of one project across processes for the rest of the transaction. */
  private async lockQuota(t: Transaction, project: string): Promise<void> {
    await this.exec(`SELECT pg_advisory_xact_lock(hashtextextended('quota:' || :project, 0))`, { project }, t);
  }

  private async checkArtifactQuota(t: Transaction, project: string, type: string): Promise<void> {
    await this.lockQuota(t, project);
    for (const q of await this.quotaFor(t, project, type)) {
      if (q.maxArtifacts === undefined || q.maxArtifacts < 0) continue;
      const [{ n }] = await this.q<{ n: string }>(
        `SELECT count(*) AS n FROM artifacts WHERE owner = :project ${q.scope === 'project' ? '' : 'AND type_name = :type'}`, { project, type }, t,
      );
      if (Number(n) >= q.maxArtifacts) throw forbidden(`quota exceeded: project '${project}' may own at most ${q.maxArtifacts} artifacts (${q.scope})`);
    }
  }

  /** Bytes the project may still store (per its tightest quota), counting in-flight reservations. */
  private async remainingBytes(t: Transaction, project: string, type: string): Promise<{ remaining: number; scope?: string }> {
    let best: { remaining: number; scope?: string } = { remaining: Infinity };
    for (const q of await this.quotaFor(t, project, type)) {
      if (q.maxBytes === undefined || q.maxBytes < 0) continue;
      const [{ used }] = await this.q<{ used: string }>(
        `SELECT COALESCE(sum(CASE WHEN b.status = 'saving' THEN GREATEST(b.reserved, b.size) ELSE b.size END), 0) AS used
         FROM blobs b JOIN artifacts a ON a.id = b.artifact_id WHERE a.owner = :project ${q.scope === 'project' ? '' : 'AND a.type_name = :type'}`,
        { project, type }, t,
      );
      const remaining = q.maxBytes - Number(used);
      if (remaining < best.remaining) best = { remaining: Math.max(remaining, 0), scope: `${q.scope}: ${q.maxBytes} bytes` };
    }
    return best;
  }

  async setQuotas(p: Principal, project: string, quotas: { type_name?: string; maxArtifacts?: number | null; maxBytes?: number | null }[]): Promise<void> {
    if (!p.isAdmin) throw forbidden('only an admin may set quotas');
    await inTransaction(this.sequelize, async (t) => {
      await this.exec('DELETE FROM quotas WHERE project = :project', { project }, t);
      for (const q of quotas) {
        await this.exec('INSERT INTO quotas (project, type_name, max_artifacts, max_bytes) VALUES (:project, :type, :ma, :mb)',
          { project, type: q.type_name ?? '*', ma: q.maxArtifacts ?? null, mb: q.maxBytes ?? null }, t);
      }
    });
  }

  // ── list ─────────────────────────────────────────────────────────────────────────────────────

  async list(p: Principal, typeName: string | 'all', params: URLSearchParams): Promise<ListResult> {
    const type = typeName === 'all' ? ALL_TYPE : this.type(typeName);
    const q = compileQuery(type, params);
    const r = q.replacements;
    const conds = [...q.where, this.visibleSql(p, r)];
    if (typeName !== 'all') {
      conds.push('a.type_name = :typeName');
      r.typeName = typeName;
    }
    if (q.orGroup.length) conds.push(`(${q.orGroup.join(' OR ')})`);
    let where = conds.join(' AND ');
    if (q.latest) where = `a.id IN (SELECT DISTINCT ON (a.type_name, a.name) a.id FROM artifacts a WHERE ${where} ORDER BY a.type_name, a.name, a.version_key DESC)`;

    const sort: SortKey[] = [...q.sort];
    if (!sort.some((s) => s.field === 'created_at')) sort.push({ field: 'created_at', dir: 'desc' });
    if (!sort.some((s) => s.field === 'id')) sort.push({ field: 'id', dir: 'asc' });
    const fields = allFields(type);
    // Each sort key is one ordering part, or two for a type field kept in JSONB (it may be null):
    // "is null" first, then the value. Keyset comparisons with NULL are never true, so paging over a
    // nullable key used to lose every row whose key was null (and to stop at a null marker).
    const parts: { expr: string; dir: 'asc' | 'desc' }[] = [];
    for (const s of sort) {
      const col = columnOf(s.field, fields[s.field]);
      if (fields[s.field].nullable) parts.push({ expr: `COALESCE(${col}, 'epoch')`, dir: s.dir });
      else if (BASE_COLUMNS.has(s.field)) parts.push({ expr: col, dir: s.dir });
      else parts.push({ expr: `(${col} IS NULL)`, dir: s.dir }, { expr: col, dir: s.dir });
    }
    const cols = parts.map((x) => x.expr);

    let pageWhere = where;
    if (q.marker) {
      const mr: Record<string, unknown> = { marker: q.marker };
      const [m] = await this.q<any>(`SELECT ${cols.map((c, i) => `${c} AS k${i}`).join(', ')} FROM artifacts a WHERE a.id = :marker AND ${this.visibleSql(p, mr)}`, mr);
      if (!m) throw notFound(`marker ${q.marker} is not a visible artifact`);
      // Keyset paging over the whole sort key: (k1 > m1) OR (k1 = m1 AND k2 > m2) OR ...
      const ors = cols.map((_, i) => {
        const eqs = cols.slice(0, i).map((c, j) => `${c} IS NOT DISTINCT FROM :m${j}`);
        return `(${[...eqs, `${cols[i]} ${parts[i].dir === 'asc' ? '>' : '<'} :m${i}`].join(' AND ')})`;
      });
      cols.forEach((_, i) => (r[`m${i}`] = m[`k${i}`]));
      pageWhere = `${where} AND (${ors.join(' OR ')})`;
    }
    r.limit = q.limit;
    const order = parts.map((x) => `${x.expr} ${x.dir.toUpperCase()}`).join(', ');
    // Without a marker the page and the total come from one query (the window count is computed
    // before LIMIT): one round trip fewer on the hot path of every first page.
    const windowed = !q.marker && q.limit > 0;
    const rows = await this.q<any>(`${SELECT.replace(' FROM artifacts a', windowed ? ', count(*) OVER () AS total_count__ FROM artifacts a' : ' FROM artifacts a')} WHERE ${pageWhere} ORDER BY ${order} LIMIT :limit`, r);
    const total = windowed && rows.length
      ? Number(rows[0].total_count__)
      : windowed ? 0 : Number((await this.q<{ n: string }>(`SELECT count(*) AS n FROM artifacts a WHERE ${where}`, r))[0].n);
    for (const row of rows) delete row.total_count__;
    const artifacts = rows.map(toRecord);
    return { artifacts, total, next: artifacts.length === q.limit && q.limit > 0 ? artifacts[artifacts.length - 1].id : undefined };
  }

  // ── update (JSON Patch) ──────────────────────────────────────────────────────────────────────

  async update(p: Principal, typeName: string, id: string, body: unknown, opts: { ifMatch?: string } = {}): Promise<ArtifactRecord> {
    const type = this.type(typeName);
    let ops;
    try {
      ops = validatePatch(body);
    } catch (e) {
      throw badRequest((e as PatchError).message);
    }
    const fields = allFields(type);
    const post: HookEvent[] = [];
    const updated = await inTransaction(this.sequelize, async (t) => {
      const a = await this.get(p, type.name, id, t, true);
      if (opts.ifMatch && !matchesEtag(opts.ifMatch, etagOf(a))) throw preconditionFailed(`If-Match ${opts.ifMatch} does not match the current ETag ${etagOf(a)}`);
      if (!this.canWrite(p, a)) throw forbidden(`project '${p.project}' (role ${p.role}) may not modify this artifact`);
      const doc = writableDoc(a);
      let status = a.status;
      let visibility = a.visibility;
      for (const [i, op] of ops.entries()) {
        const field = op.path.split('/')[1].replace(/~1/g, '/').replace(/~0/g, '~');
        const def = fields[field];
        if (!def) throw badRequest(`patch operation ${i}: unknown field '${field}'`);
        if (def.system) throw forbidden(`patch operation ${i}: field '${field}' is read-only`);
        if (isBinary(def)) throw badRequest(`patch operation ${i}: field '${field}' is a ${def.kind}: use the blob API`);
        if (op.from) {
          const src = op.from.split('/')[1];
          if (src !== field && op.op === 'move') throw badRequest(`patch operation ${i}: move between fields is not supported`);
        }
        if (status === 'deactivated' && field !== 'status') throw forbidden(`patch operation ${i}: a deactivated artifact cannot change (reactivate it first)`);
        if (a.visibility === 'public' && !p.isAdmin && field !== 'status') throw forbidden('a public artifact may only be changed by an admin');
        if (status === 'active' && !def.mutable) throw forbidden(`patch operation ${i}: field '${field}' is immutable once the artifact is active`);
        try {
          applyOp(doc, op, i);
        } catch (e) {
          if (e instanceof PatchError) throw new HttpError(e.status, e.status === 409 ? 'Conflict' : 'Bad Request', e.message);
          throw e;
        }
        if (field === 'status') {
          const to = doc.status as ArtifactRecord['status'];
          status = await this.transition(p, type, a, status, to, t, post, i);
        } else if (field === 'visibility') {
          const to = doc.visibility;
          if (to !== visibility) {
            if (to === 'public') {
              if (!p.isAdmin) throw forbidden('only an admin may publish an artifact');
              if (status !== 'active') throw forbidden('only an active artifact can be published');
            } else if (to === 'private') {
              if (!p.isAdmin) throw forbidden('only an admin may unpublish an artifact');
            } else throw badRequest(`field 'visibility': must be private or public`);
            visibility = to as ArtifactRecord['visibility'];
          }
        }
      }
      const version = this.version(doc.version, type);
      doc.version = version.normalized;
      const problem = this.validator(type).check(doc);
      if (problem) throw badRequest(problem);
      const next: ArtifactRecord = {
        ...a, name: doc.name as string, version: version.normalized, status, visibility, description: (doc.description as string) ?? '',
        tags: (doc.tags as string[]) ?? [], metadata: (doc.metadata as Record<string, string>) ?? {}, shared_with: (doc.shared_with as string[]) ?? [],
        fields: { ...a.fields },
      };
      for (const k of Object.keys(type.fields)) if (!isBinary(type.fields[k]) && !type.fields[k].system) next.fields[k] = doc[k] ?? null;
      if (JSON.stringify(writableDoc(next)) === JSON.stringify(writableDoc(a))) return a;
      await this.runHooks(type, { event: 'pre_update', principal: p, artifact: next });
      const activated = status === 'active' && a.status !== 'active';
      await this.exec(
        `UPDATE artifacts SET name = :name, version = :version, version_key = :key, status = :status, visibility = :visibility, description = :description,
           tags = :tags, metadata = :metadata, fields = :fields, revision = revision + 1, updated_at = now()${activated ? ', activated_at = now()' : ''}
         WHERE id = :id`,
        { id, name: next.name, version: version.normalized, key: version.key, status, visibility, description: next.description, tags: JSON.stringify(next.tags),
          metadata: JSON.stringify(next.metadata), fields: JSON.stringify(next.fields) },
        t,
      );
      if (JSON.stringify(next.shared_with) !== JSON.stringify(a.shared_with)) await this.writeShares(t, id, next.shared_with);
      await this.writeLinks(t, p, type, id, next.fields);
      await type.inTransaction?.updated?.(this.sequelize, t, a, next);
      return null;
    });
    const result = updated ?? (await this.get(p, type.name, id));
    for (const ev of post) await this.runHooks(type, { event: ev, principal: p, artifact: result }).catch((e) => this.log.warn({ err: e }, `${ev} hook failed`));
    return result;
  }

  /** drafted → active ⇄ deactivated, as in Glare; activation needs required fields and settled blobs. */
  private async transition(p: Principal, type: ArtifactTypeDef, a: ArtifactRecord, from: string, to: unknown, t: Transaction, post: HookEvent[], i: number): Promise<ArtifactRecord['status']> {
    if (to === from) return from as ArtifactRecord['status'];
    if (to !== 'active' && to !== 'deactivated' && to !== 'drafted') throw badRequest(`patch operation ${i}: status must be drafted, active or deactivated`);
    const blobs = await this.q<BlobRow>('SELECT * FROM blobs WHERE artifact_id = :id', { id: a.id }, t);
    if (blobs.some((b) => b.status === 'saving')) throw conflict(`patch operation ${i}: a blob of this artifact is being uploaded; retry when it is done`);
    if (to === 'active' && from === 'drafted') {
      const missing: string[] = [];
      for (const [name, def] of Object.entries(type.fields)) {
        if (!def.requiredOnActivate) continue;
        const present = isBinary(def) ? blobs.some((b) => b.field === name) : a.fields[name] !== null && a.fields[name] !== undefined;
        if (!present) missing.push(name);
      }
      if (missing.length) throw forbidden(`cannot activate: required field(s) not set: ${missing.join(', ')}`);
      await this.runHooks(type, { event: 'pre_activate', principal: p, artifact: a });
      post.push('post_activate');
      return 'active';
    }
    if (to === 'deactivated' && from === 'active') {
      if (!p.isAdmin && a.owner !== p.project) throw forbidden('only the owner or an admin may deactivate');
      return 'deactivated';
    }
    if (to === 'active' && from === 'deactivated') return 'active';
    throw forbidden(`patch operation ${i}: status cannot change from ${from} to ${to}`);
  }

  // ── delete ───────────────────────────────────────────────────────────────────────────────────

  /** `inTransaction` runs inside the deleting transaction, just before the row goes (e.g. an outbox event). */
  async delete(p: Principal, typeName: string, id: string, opts: { ifMatch?: string; force?: boolean; inTransaction?: (t: Transaction, a: ArtifactRecord) => Promise<void> } = {}): Promise<void> {
    const type = this.type(typeName);
    const a = await this.get(p, type.name, id);
    await this.runHooks(type, { event: 'pre_delete', principal: p, artifact: a });
    await inTransaction(this.sequelize, async (t) => {
      const cur = await this.getWritable(p, type.name, id, t);
      if (opts.ifMatch && !matchesEtag(opts.ifMatch, etagOf(cur))) throw preconditionFailed(`If-Match ${opts.ifMatch} does not match the current ETag ${etagOf(cur)}`);
      const [saving] = await this.q<{ id: string }>(`SELECT id FROM blobs WHERE artifact_id = :id AND status = 'saving' LIMIT 1`, { id }, t);
      if (saving) throw conflict('a blob of this artifact is being uploaded; retry when it is done');
      const incoming = await this.q<{ source_id: string; field: string; key: string; type_name: string }>(
        'SELECT l.source_id, l.field, l.key, a.type_name FROM artifact_links l JOIN artifacts a ON a.id = l.source_id WHERE l.target_id = :id', { id }, t,
      );
      if (incoming.length) {
        if (!opts.force || !p.isAdmin) {
          throw conflict(`artifact is linked from ${incoming.length} artifact(s): ${incoming.slice(0, 5).map((l) => `/artifacts/${l.type_name}/${l.source_id} (${l.field})`).join(', ')}; an admin may delete it with ?force=true`, {
            linkedFrom: incoming.map((l) => ({ id: l.source_id, type_name: l.type_name, field: l.field, key: l.key })),
          });
        }
        // Forced: the links become null (or disappear from their list/dict), so no artifact points into the void.
        for (const l of incoming) {
          const sourceType = this.types.get(l.type_name)!;
          const def = sourceType.fields[l.field];
          const expr = def.kind === 'link'
            ? `jsonb_set(fields, ARRAY[:field], 'null'::jsonb)`
            : def.kind === 'list'
              ? `jsonb_set(fields, ARRAY[:field], COALESCE((SELECT jsonb_agg(e) FROM jsonb_array_elements(fields->:field) e WHERE e <> to_jsonb(:link::text)), '[]'::jsonb))`
              : `jsonb_set(fields, ARRAY[:field], (fields->:field) - :key)`;
          await this.exec(`UPDATE artifacts SET fields = ${expr}, revision = revision + 1, updated_at = now() WHERE id = :sid`,
            { field: l.field, key: l.key, sid: l.source_id, link: `/artifacts/${type.name}/${id}` }, t);
        }
        await this.exec('DELETE FROM artifact_links WHERE target_id = :id', { id }, t);
      }
      await type.inTransaction?.deleting?.(this.sequelize, t, cur);
      await opts.inTransaction?.(t, cur);
      // Blob rows go with the artifact (ON DELETE CASCADE); their bytes are reclaimed by the garbage collector.
      await this.exec('DELETE FROM artifacts WHERE id = :id', { id }, t);
    });
    await this.runHooks(type, { event: 'post_delete', principal: p, artifact: a }).catch((e) => this.log.warn({ err: e }, 'post_delete hook failed'));
  }

  async linkedFrom(p: Principal, typeName: string, id: string): Promise<{ id: string; type_name: string; field: string; key: string }[]> {
    await this.get(p, typeName, id);
    const r: Record<string, unknown> = { id };
    return this.q(`SELECT a.id, a.type_name, l.field, l.key FROM artifact_links l JOIN artifacts a ON a.id = l.source_id WHERE l.target_id = :id AND ${this.visibleSql(p, r)} ORDER BY a.created_at`, r);
  }

  // ── blobs ────────────────────────────────────────────────────────────────────────────────────

  binaryField(type: ArtifactTypeDef, field: string, path: string | undefined): FieldDef {
    const def = type.fields[field];
    if (!def || !isBinary(def)) throw badRequest(`'${field}' is not a blob or folder field of ${type.name}`);
    if (def.kind === 'blob' && path) throw badRequest(`'${field}' is a blob, not a folder: no path after it`);
    if (def.kind === 'folder' && !path) throw badRequest(`'${field}' is a folder: give the entry path, e.g. ${field}/dir/file.txt`);
    if (path) checkFolderPath(path);
    return def;
  }

  /**
   * Streams an upload into the type's store. Bytes are reserved against the size limit and the
   * project quota before any is read (race-free under the quota lock), counted while streaming
   * (a lying Content-Length cannot overrun), and published with the database reference in one step.
   */
  async upload(
    p: Principal, typeName: string, id: string, field: string, path: string | undefined, body: Readable,
    opts: { contentType?: string; contentLength?: number; ifMatch?: string; system?: boolean; hooks?: boolean; ingest?: Ingest } = {},
  ): Promise<ArtifactRecord> {
    const type = this.type(typeName);
    const def = this.binaryField(type, field, path);
    if (def.system && !opts.system) throw forbidden(`'${field}' is filled by Depot and cannot be uploaded`);
    const key = path ?? '';
    const store = this.storeOf(type);
    const limit = this.maxBlobSize(type, def);
    const blobId = randomUUID();
    let previous: BlobRow | undefined;

    const reservation = await inTransaction(this.sequelize, async (t) => {
      const a = await this.getWritable(p, type.name, id, t);
      if (opts.ifMatch && !matchesEtag(opts.ifMatch, etagOf(a))) throw preconditionFailed(`If-Match ${opts.ifMatch} does not match the current ETag ${etagOf(a)}`);
      if (a.status === 'deactivated') throw forbidden('a deactivated artifact cannot change');
      if (a.status === 'active' && !def.mutable && !opts.system) throw forbidden(`'${field}' is immutable once the artifact is active`);
      [previous] = await this.q<BlobRow>('SELECT * FROM blobs WHERE artifact_id = :id AND field = :field AND path = :key FOR UPDATE', { id, field, key }, t);
      if (previous?.status === 'saving') throw conflict(`an upload to ${field}${path ? `/${path}` : ''} is already in progress`);
      let allowed = limit;
      if (def.kind === 'folder' && def.maxFolderSize) {
        const [{ used }] = await this.q<{ used: string }>('SELECT COALESCE(sum(size), 0) AS used FROM blobs WHERE artifact_id = :id AND field = :field AND path <> :key', { id, field, key }, t);
        allowed = Math.min(allowed, def.maxFolderSize - Number(used));
      }
      await this.lockQuota(t, a.owner);
      const quota = await this.remainingBytes(t, a.owner, type.name);
      const credit = previous ? Number(previous.size) : 0;
      const available = quota.remaining + credit;
      if (opts.contentLength !== undefined) {
        if (opts.contentLength > allowed) throw tooLarge(`${field}${path ? `/${path}` : ''}: ${opts.contentLength} bytes is over the limit of ${allowed} bytes`);
        if (opts.contentLength > available) throw tooLarge(`quota exceeded (${quota.scope}): ${opts.contentLength} bytes requested, ${available} available`);
      }
      const reserve = Math.min(opts.contentLength ?? Math.min(allowed, available), allowed, available);
      if (!Number.isFinite(reserve)) throw new Error('unbounded reservation');
      if (previous) {
        await this.exec(`UPDATE blobs SET status = 'saving', reserved = :reserve, heartbeat_at = now(), updated_at = now() WHERE id = :bid`, { reserve, bid: previous.id }, t);
      } else {
        await this.exec(
          `INSERT INTO blobs (id, artifact_id, field, path, status, store, reserved) VALUES (:bid, :id, :field, :key, 'saving', :store, :reserve)`,
          { bid: blobId, id, field, key, store: store.name, reserve }, t,
        );
      }
      return { reserve, blobId: previous?.id ?? blobId, artifact: a, quotaLimited: available < allowed, quota };
    });

    const rowId = reservation.blobId;
    const rollback = async () => {
      if (previous?.content_key) await this.exec(`UPDATE blobs SET status = 'active', reserved = 0, updated_at = now() WHERE id = :id`, { id: rowId });
      else await this.exec(`DELETE FROM blobs WHERE id = :id AND status = 'saving'`, { id: rowId });
    };
    let lastBeat = Date.now();
    let pendingStage: Staged | undefined;
    try {
      if (opts.hooks !== false) await this.runHooks(type, { event: 'pre_upload', principal: p, artifact: reservation.artifact, field, path });
      const staged: Staged = await (opts.ingest ?? ((b, o) => store.stage(b, o)))(body, {
        limit: reservation.reserve,
        algorithms: def.digests ?? [],
        onProgress: () => {
          // The heartbeat tells the stale-upload reaper (of any process) that this upload is alive.
          // Well within uploadStaleSeconds, or a short setting would reap uploads that are progressing.
          if (Date.now() - lastBeat > Math.min(5000, (this.config.uploadStaleSeconds * 1000) / 4)) {
            lastBeat = Date.now();
            this.exec('UPDATE blobs SET heartbeat_at = now() WHERE id = :id', { id: rowId }).catch(() => undefined);
          }
        },
      });
      pendingStage = staged;
      if (opts.contentLength !== undefined && staged.size !== opts.contentLength) {
        await staged.abort();
        throw badRequest(`request body ended after ${staged.size} of ${opts.contentLength} bytes announced by Content-Length`);
      }
      await this.locks.with(store.name, staged.key, async (lt) => {
        await staged.commit();
        // post_upload hooks validate the new bytes before anything references them: a rejection
        // leaves the previous blob in place (rollback below) and the new bytes to the collector.
        if (opts.hooks !== false) {
          await this.runHooks(type, {
            event: 'post_upload', principal: p, artifact: reservation.artifact, field, path,
            open: () => store.driver.read(staged.key), size: staged.size,
          });
        }
        const mark = async (t: Transaction) => {
          // Only a row still `saving`: if the stale-upload reaper rolled this upload back (no progress
          // for uploadStaleSeconds), publishing now would report success for bytes nobody references,
          // or resurrect a row. The staged object is left to the garbage collector.
          const [, affected] = await this.sequelize.query(
            `UPDATE blobs SET status = 'active', content_key = :ck, content_offset = NULL, segments = :segments::jsonb, size = :size, reserved = 0, digests = :digests,
               content_type = :ct, store = :store, updated_at = now() WHERE id = :id AND status = 'saving'`,
            { replacements: { ck: staged.key, segments: staged.segments ? JSON.stringify(staged.segments) : null, size: staged.size, digests: JSON.stringify(staged.digests), ct: opts.contentType ?? 'application/octet-stream', store: store.name, id: rowId }, type: QueryTypes.UPDATE, transaction: t },
          );
          if (!affected) throw conflict(`${field}${path ? `/${path}` : ''}: the upload stalled longer than ${this.config.uploadStaleSeconds} s and was rolled back; retry it`);
        };
        if (lt) await mark(lt);
        else await inTransaction(this.sequelize, mark);
      });
      await this.exec('UPDATE artifacts SET revision = revision + 1, updated_at = now() WHERE id = :id', { id });
    } catch (err) {
      // Drops staged bytes that were never published (a no-op once commit succeeded), so they do not
      // wait for a restart: the store never sweeps a staged write its own process still holds.
      await pendingStage?.abort().catch(() => undefined);
      await rollback().catch((e) => this.log.error({ err: e }, 'upload rollback failed; the reaper will finish it'));
      if (err instanceof SizeLimitError) {
        throw tooLarge(reservation.quotaLimited
          ? `quota exceeded (${reservation.quota.scope}): the upload went over the ${err.limit} bytes still available`
          : `${field}${path ? `/${path}` : ''}: the upload went over the limit of ${err.limit} bytes`);
      }
      throw err;
    }
    const updated = await this.get(p, type.name, id);
    return updated;
  }

  /** Records a blob whose bytes are already in the store (e.g. a file unpacked from a CSAR). */
  async attachContent(t: Transaction, artifactId: string, field: string, path: string, c: { store: string; key: string; offset?: number; size: number; digests: Record<string, string>; contentType?: string }): Promise<void> {
    await this.exec(
      `INSERT INTO blobs (id, artifact_id, field, path, status, store, content_key, content_offset, size, digests, content_type)
       VALUES (:bid, :id, :field, :path, 'active', :store, :key, :offset, :size, :digests, :ct)
       ON CONFLICT (artifact_id, field, path) DO UPDATE SET status = 'active', store = :store, content_key = :key, content_offset = :offset,
         size = :size, digests = :digests, content_type = :ct, reserved = 0, updated_at = now()`,
      { bid: randomUUID(), id: artifactId, field, path, store: c.store, key: c.key, offset: c.offset ?? null, size: c.size, digests: JSON.stringify(c.digests), ct: c.contentType ?? 'application/octet-stream' }, t,
    );
  }

  async blob(p: Principal, typeName: string, id: string, field: string, path: string | undefined): Promise<BlobContent> {
    const type = this.type(typeName);
    this.binaryField(type, field, path);
    const a = await this.get(p, type.name, id);
    if (a.status === 'deactivated' && !p.isAdmin && a.owner !== p.project) throw forbidden('the artifact is deactivated');
    const [b] = await this.q<BlobRow>('SELECT * FROM blobs WHERE artifact_id = :id AND field = :field AND path = :key', { id, field, key: path ?? '' });
    if (!b || !b.content_key) {
      if (b?.status === 'saving') throw conflict(`${field}${path ? `/${path}` : ''} is being uploaded`);
      throw notFound(`${field}${path ? `/${path}` : ''} has no content`);
    }
    await this.runHooks(type, { event: 'pre_download', principal: p, artifact: a, field, path });
    return this.contentOf(b);
  }

  contentOf(b: BlobRow): BlobContent {
    const size = Number(b.size);
    const base = b.content_offset === null ? 0 : Number(b.content_offset);
    const store = this.stores.get(b.store);
    // The object ranges holding bytes [start, end] of the blob, in order.
    const pieces = (range?: ByteRange) => {
      const start = range?.start ?? 0;
      const end = range?.end ?? size - 1;
      return b.segments ? segmentRanges(b.segments, start, end) : [{ key: b.content_key!, start: base + start, end: base + end }];
    };
    return {
      blob: b,
      size,
      open: async (range) => {
        if (size === 0) return store.driver.read(b.content_key!, undefined);
        const ranges = pieces(range);
        if (ranges.length === 1) return store.driver.read(ranges[0].key, ranges[0]);
        return Readable.from((async function* () {
          for (const r of ranges) yield* await store.driver.read(r.key, r);
        })(), { objectMode: false });
      },
      files: (range) => {
        const localPath = store.driver.localPath?.bind(store.driver);
        if (!localPath || size === 0) return undefined;
        const spans: FileSpan[] = [];
        for (const r of pieces(range)) {
          const path = localPath(r.key);
          if (!path) return undefined;
          spans.push({ path, start: r.start, end: r.end });
        }
        return spans;
      },
    };
  }

  async folder(p: Principal, typeName: string, id: string, field: string, prefix: string): Promise<BlobRow[]> {
    const type = this.type(typeName);
    const def = type.fields[field];
    if (!def || def.kind !== 'folder') throw badRequest(`'${field}' is not a folder field of ${type.name}`);
    await this.get(p, type.name, id);
    return this.q<BlobRow>(
      `SELECT * FROM blobs WHERE artifact_id = :id AND field = :field AND starts_with(path, :prefix) ORDER BY path`,
      { id, field, prefix },
    );
  }

  async blobsOf(ids: string[]): Promise<BlobRow[]> {
    if (!ids.length) return [];
    return this.q<BlobRow>(`SELECT * FROM blobs WHERE artifact_id IN (:ids) AND path = ''`, { ids });
  }

  /** blobsOf and folderStats in one round trip (the list presenter needs both for every page). */
  async blobSummary(ids: string[]): Promise<{ blobs: BlobRow[]; folders: { artifact_id: string; field: string; count: string; size: string }[] }> {
    if (!ids.length) return { blobs: [], folders: [] };
    const rows = await this.q<any>(
      `SELECT 'b' AS kind__, to_jsonb(b) AS row__, NULL AS count, NULL AS size FROM blobs b WHERE artifact_id IN (:ids) AND path = ''
       UNION ALL
       SELECT 'f', jsonb_build_object('artifact_id', artifact_id, 'field', field), count(*), COALESCE(sum(size), 0) FROM blobs WHERE artifact_id IN (:ids) AND path <> '' GROUP BY artifact_id, field`,
      { ids },
    );
    const blobs: BlobRow[] = [];
    const folders: { artifact_id: string; field: string; count: string; size: string }[] = [];
    for (const r of rows) {
      if (r.kind__ === 'b') blobs.push({ ...r.row__, size: String(r.row__.size), reserved: String(r.row__.reserved), content_offset: r.row__.content_offset === null ? null : String(r.row__.content_offset) });
      else folders.push({ artifact_id: r.row__.artifact_id, field: r.row__.field, count: String(r.count), size: String(r.size) });
    }
    return { blobs, folders };
  }

  async folderStats(ids: string[]): Promise<{ artifact_id: string; field: string; count: string; size: string }[]> {
    if (!ids.length) return [];
    return this.q(`SELECT artifact_id, field, count(*) AS count, COALESCE(sum(size), 0) AS size FROM blobs WHERE artifact_id IN (:ids) AND path <> '' GROUP BY artifact_id, field`, { ids });
  }

  async deleteBlob(p: Principal, typeName: string, id: string, field: string, path: string | undefined): Promise<ArtifactRecord> {
    const type = this.type(typeName);
    const def = this.binaryField(type, field, path);
    if (def.system) throw forbidden(`'${field}' is filled by Depot and cannot be changed`);
    await inTransaction(this.sequelize, async (t) => {
      const a = await this.getWritable(p, type.name, id, t);
      if (a.status !== 'drafted') throw forbidden('blobs can only be removed from a drafted artifact');
      const [b] = await this.q<BlobRow>('SELECT * FROM blobs WHERE artifact_id = :id AND field = :field AND path = :key FOR UPDATE', { id, field, key: path ?? '' }, t);
      if (!b) throw notFound(`${field}${path ? `/${path}` : ''} has no content`);
      if (b.status === 'saving') throw conflict(`${field}${path ? `/${path}` : ''} is being uploaded`);
      await this.exec('DELETE FROM blobs WHERE id = :bid', { bid: b.id }, t);
      await this.exec('UPDATE artifacts SET revision = revision + 1, updated_at = now() WHERE id = :id', { id }, t);
    });
    return this.get(p, type.name, id);
  }

  /**
   * Rolls back uploads whose process died (no heartbeat for `staleSeconds`): the previous content is
   * restored, or the row removed, so the upload can be retried. Runs at start and periodically.
   */
  async reapStaleUploads(staleSeconds: number): Promise<number> {
    const rows = await this.q<{ id: string }>(
      `SELECT id FROM blobs WHERE status = 'saving' AND heartbeat_at < now() - (:s * interval '1 second')`, { s: staleSeconds },
    );
    for (const r of rows) {
      await this.exec(`DELETE FROM blobs WHERE id = :id AND status = 'saving' AND content_key IS NULL`, { id: r.id });
      await this.exec(`UPDATE blobs SET status = 'active', reserved = 0 WHERE id = :id AND status = 'saving'`, { id: r.id });
    }
    if (rows.length) this.log.warn({ count: rows.length }, 'rolled back uploads abandoned by a stopped process');
    return rows.length;
  }
}

/** The object ranges holding bytes [start, end] of a composite blob, in order. */
function segmentRanges(segments: { key: string; offset: number; length: number }[], start: number, end: number): { key: string; start: number; end: number }[] {
  const out: { key: string; start: number; end: number }[] = [];
  let pos = 0;
  for (const s of segments) {
    const from = Math.max(start, pos);
    const to = Math.min(end, pos + s.length - 1);
    if (from <= to) out.push({ key: s.key, start: s.offset + (from - pos), end: s.offset + (to - pos) });
    pos += s.length;
    if (pos > end) break;
  }
  return out;
}

export function matchesEtag(header: string, etag: string): boolean {
  return header.split(',').map((s) => s.trim().replace(/^W\//, '')).some((s) => s === '*' || s === etag);
}

export function checkFolderPath(path: string): void {
  if (path.length > 2048) throw badRequest('folder path longer than 2048 characters');
  const segs = path.split('/');
  if (path.startsWith('/') || segs.some((s) => s === '' || s === '.' || s === '..') || /[\\\u0000-\u001f]/.test(path)) {
    throw badRequest(`invalid folder path ${JSON.stringify(path)}: relative segments separated by '/', no '.', '..', empty segments, backslashes or control characters`);
  }
}

/** The read-only cross-type view `/artifacts/all` (Glare's `all`): base fields only. */
export const ALL_TYPE: ArtifactTypeDef = { name: 'all', displayName: 'All artifacts', schemaVersion: '1.0', fields: {} };
void BASE_FIELDS;
