import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Sequelize, Transaction } from 'sequelize';
import type { Logger } from 'pino';
import { hasErrors } from '../common/findings';
import type { DepotConfig } from '../config';
import { inTransaction } from '../db/database';
import { DomainError, forbidden, invalidInput, lifecycleRule, notFound, tooLarge } from '../common/errors';
import type { Principal } from '../common/principal';
import { repositories, Repositories } from '../db/repositories';
import type { ArtifactChange } from '../db/repositories/artifacts';
import type { BlobRow, Segment, StoredContent } from '../db/repositories/blobs';
import type { IncomingLink } from '../db/repositories/links';
import { sharedKey } from '../db/repositories/settings';
import { Sol013Error } from '../sol013/errors';
import { decodeNextpageMarker, encodeNextpageMarker } from '../sol013/paging';
import type { ByteRange, FileSpan } from '../storage/blob-store';
import { SizeLimitError, type ContentStore } from '../storage/content-store';
import type { ContentLocks } from '../storage/content-locks';
import type { StoreRegistry } from '../storage/registry';
import { FieldDef, isBinary } from './fields';
import { HookChain } from './hooks';
import { applyOp, PatchError, validatePatch } from './json-patch';
import { cursorScope, isPageCursor, PageCursor, parseListQuery } from './query';
import { FieldValidator } from './schema';
import { ArtifactRecord, ArtifactTypeDef, HookContext, HookEvent, TypeRegistry, allFields } from './types';
import { parseVersion, VersionError } from './version';

export type { BlobRow, Segment, StoredContent };

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
  /** The last artifact's id (Glare's `marker`) when the page is full. */
  next?: string;
  /** With `next`: the signed position after the last artifact (`marker_keys`), valid whether or not it is deleted. */
  nextKeys?: string;
  /** The position after each artifact of the page (a caller that stops mid-page continues from one). */
  cursors: PageCursor[];
}

const DEFAULT_MAX_BLOB = 10 * 2 ** 30;

/** Fields a client writes through PATCH (the document the JSON Patch applies to). */
function writableDoc(a: ArtifactRecord): Record<string, unknown> {
  return {
    name: a.name, version: a.version, status: a.status, visibility: a.visibility, description: a.description,
    tags: [...a.tags], metadata: { ...a.metadata }, shared_with: [...a.shared_with], ...structuredClone(a.fields),
  };
}

/** What a facade's amend() changes: base values and type fields (top-level keys replaced). */
export type Amendment = Partial<Pick<ArtifactRecord, 'name' | 'version' | 'visibility' | 'description' | 'tags' | 'metadata' | 'shared_with'>> & { fields?: Record<string, unknown> };

/**
 * An artifact another one brings with it (derive()): e.g. a software image of a VNF package, served
 * as an image. Owner, status, visibility and sharing are its source's; `blobs` are bytes already in
 * a store (the source's own objects: nothing is copied).
 */
export interface DerivedArtifact {
  id: string;
  type: string;
  name: string;
  version: string;
  description?: string;
  /** Type fields, system ones included (the deriving type owns them). */
  fields: Record<string, unknown>;
  blobs?: Record<string, StoredContent>;
  /**
   * Still being processed (e.g. an image's checksums computed by a job): created `drafted`, it keeps
   * that status until settleDerived() gives it its source's.
   */
  pending?: boolean;
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
  private readonly db: Repositories;

  constructor(
    readonly sequelize: Sequelize,
    readonly types: TypeRegistry,
    readonly stores: StoreRegistry,
    readonly locks: ContentLocks,
    readonly config: DepotConfig,
    readonly log: Logger,
  ) {
    this.db = repositories(sequelize);
    this.markerKey = sharedKey(sequelize, 'sol013.marker_key');
  }

  /** Runs `fn` in one transaction (retried on serialization failures); facades compose engine operations in it. */
  transaction<T>(fn: (t: Transaction) => Promise<T>): Promise<T> {
    return inTransaction(this.sequelize, fn);
  }

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

  private async runHooks(type: ArtifactTypeDef, ctx: HookContext): Promise<void> {
    const findings = await this.hooks(type).run(ctx);
    if (hasErrors(findings)) {
      const first = findings.find((f) => f.severity === 'error')!;
      throw new DomainError('HOOK_REJECTED', `${ctx.event} hook rejected the request: ${first.message}`, { findings });
    }
  }

  // ── visibility and permissions ───────────────────────────────────────────────────────────────

  canWrite(p: Principal, a: ArtifactRecord): boolean {
    return !a.derived_from && (p.isAdmin || (a.owner === p.project && p.role !== 'reader'));
  }

  /** A derived artifact changes only with its source (derive(), follow()): for every caller, admins too. */
  private refuseDerived(a: ArtifactRecord): void {
    if (a.derived_from) throw forbidden(`artifact ${a.id} is derived from artifact ${a.derived_from}: it is read-only and changes only with it`);
  }

  /** Loads a visible artifact of the type, or 404 (never 403: another project's existence is private). */
  async get(p: Principal, typeName: string, id: string, t?: Transaction, lock = false): Promise<ArtifactRecord> {
    const type = this.type(typeName);
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) throw notFound(`no ${type.name} artifact with id ${id}`);
    const a = await this.db.artifacts.findVisible(p, type.name, id, { t, lock });
    if (!a) throw notFound(`no ${type.name} artifact with id ${id}`);
    return a;
  }

  /** Same as get, then requires write permission (403 when visible but not writable). */
  async getWritable(p: Principal, typeName: string, id: string, t?: Transaction): Promise<ArtifactRecord> {
    const a = await this.get(p, typeName, id, t, !!t);
    this.refuseDerived(a);
    if (!this.canWrite(p, a)) throw forbidden(`project '${p.project}' (role ${p.role}) may not modify this artifact`);
    if (a.visibility === 'public' && !p.isAdmin) throw forbidden('a public artifact may only be changed by an admin');
    return a;
  }

  // ── create ───────────────────────────────────────────────────────────────────────────────────

  /**
   * Creates a drafted artifact from a client's field values. `system` is the type's own facade
   * initialising its system fields (a client can never set those): a type whose creation is
   * `system` is created only that way.
   */
  async create(p: Principal, typeName: string, body: unknown, opts: { system?: Record<string, unknown>; id?: string } = {}): Promise<ArtifactRecord> {
    const type = this.type(typeName);
    if (type.creation?.by === 'system' && !opts.system) throw forbidden(type.creation.detail);
    if (p.role === 'reader') throw forbidden(`role reader may not create artifacts`);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidInput('the request body must be a JSON object of field values');
    const fields = allFields(type);
    const input = body as Record<string, unknown>;
    for (const [k] of Object.entries(input)) {
      const def = fields[k];
      if (!def) throw invalidInput(`unknown field '${k}' for type ${type.name}`);
      if (def.system) throw forbidden(`field '${k}' is read-only`);
      if (isBinary(def)) throw invalidInput(`field '${k}' is a ${def.kind}: upload it with PUT /artifacts/${type.name}/{id}/${k}`);
      if (k === 'status' || k === 'visibility') throw invalidInput(`field '${k}' cannot be set at creation; change it with PATCH`);
    }
    if (typeof input.name !== 'string' || !input.name.trim()) throw invalidInput(`field 'name' is required and must be a non-empty string`);
    const values: Record<string, unknown> = {};
    for (const [k, def] of Object.entries(fields)) {
      if (def.system || isBinary(def) || k === 'status' || k === 'visibility') continue;
      values[k] = k in input ? input[k] : structuredClone(def.default ?? (def.kind === 'list' ? [] : def.kind === 'dict' ? {} : null));
    }
    const version = this.version(values.version ?? '0.0.0', type);
    values.version = version.normalized;
    const problem = this.validator(type).check(values);
    if (problem) throw invalidInput(problem);

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
      await this.db.artifacts.insert(t, record, version.key);
      await this.db.links.replaceShares(t, id, record.shared_with);
      await this.writeLinks(t, p, type, id, record.fields);
    });
    await this.runHooks(type, { event: 'post_create', principal: p, artifact: record });
    return this.get(p, type.name, id);
  }

  version(v: unknown, type: ArtifactTypeDef) {
    try {
      return parseVersion(v, type.versionBuildSignificant);
    } catch (e) {
      throw invalidInput(`field 'version': ${(e as VersionError).message}`);
    }
  }

  /** Internal links must point at an existing artifact the caller can see; a row per link holds integrity. */
  private async writeLinks(t: Transaction, p: Principal, type: ArtifactTypeDef, id: string, fields: Record<string, unknown>): Promise<void> {
    await this.db.links.deleteFrom(t, id);
    for (const [name, def] of Object.entries(type.fields)) {
      const isLink = isLinkField(def);
      const v = fields[name];
      if (!isLink || v === null || v === undefined) continue;
      const entries: [string, string][] = def.kind === 'link' ? [['', v as string]] : def.kind === 'list' ? (v as string[]).map((x, i) => [String(i), x]) : Object.entries(v as Record<string, string>);
      for (const [key, link] of entries) {
        const [, , targetType, targetId] = link.split('/');
        if (!(await this.db.artifacts.isVisible(p, targetType, targetId, t))) throw invalidInput(`field '${name}${key ? `.${key}` : ''}': link target ${link} does not exist or is not visible`);
        if (targetId === id) throw invalidInput(`field '${name}': an artifact cannot link to itself`);
        await this.db.links.insert(t, id, name, key, targetId);
      }
    }
  }

  // ── quotas ───────────────────────────────────────────────────────────────────────────────────

  /** Effective limits for a project and type: database overrides first, then the config file. */
  async quotaFor(t: Transaction | undefined, project: string, type: string): Promise<{ scope: string; maxArtifacts?: number; maxBytes?: number }[]> {
    const rows = await this.db.quotas.overrides(project, t);
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

  private async checkArtifactQuota(t: Transaction, project: string, type: string): Promise<void> {
    await this.db.quotas.lock(t, project);
    for (const q of await this.quotaFor(t, project, type)) {
      if (q.maxArtifacts === undefined || q.maxArtifacts < 0) continue;
      const n = await this.db.quotas.artifactCount(t, project, q.scope === 'project' ? undefined : type);
      if (n >= q.maxArtifacts) throw new DomainError('QUOTA_EXCEEDED', `quota exceeded: project '${project}' may own at most ${q.maxArtifacts} artifacts (${q.scope})`);
    }
  }

  /** Bytes the project may still store (per its tightest quota), counting in-flight reservations. */
  private async remainingBytes(t: Transaction, project: string, type: string): Promise<{ remaining: number; scope?: string }> {
    let best: { remaining: number; scope?: string } = { remaining: Infinity };
    for (const q of await this.quotaFor(t, project, type)) {
      if (q.maxBytes === undefined || q.maxBytes < 0) continue;
      const remaining = q.maxBytes - (await this.db.quotas.bytesUsed(t, project, q.scope === 'project' ? undefined : type));
      if (remaining < best.remaining) best = { remaining: Math.max(remaining, 0), scope: `${q.scope}: ${q.maxBytes} bytes` };
    }
    return best;
  }

  async setQuotas(p: Principal, project: string, quotas: { type_name?: string; maxArtifacts?: number | null; maxBytes?: number | null }[]): Promise<void> {
    if (!p.isAdmin) throw forbidden('only an admin may set quotas');
    await inTransaction(this.sequelize, (t) => this.db.quotas.replace(t, project, quotas));
  }

  // ── list ─────────────────────────────────────────────────────────────────────────────────────

  /**
   * One page of a list. `after` (a PageCursor a caller kept from `cursors`) continues after that
   * position; so does the `marker_keys` parameter, which wins over a bare Glare `marker`.
   */
  async list(p: Principal, typeName: string | 'all', params: URLSearchParams, opts: { after?: PageCursor } = {}): Promise<ListResult> {
    const type = typeName === 'all' ? ALL_TYPE : this.type(typeName);
    const q = parseListQuery(type, params);
    const scope = cursorScope(type.name, q.sort);
    const secret = await this.markerKey();
    let after = opts.after;
    if (q.markerKeys !== undefined) {
      let c: unknown;
      try {
        c = decodeNextpageMarker(q.markerKeys, secret);
      } catch (e) {
        throw invalidInput(`marker_keys: ${e instanceof Sol013Error ? e.detail.replace(/^[^:]*: /, '') : 'malformed'}`);
      }
      if (!isPageCursor(c)) throw invalidInput('marker_keys: not a list position');
      if (q.marker !== undefined && q.marker !== c.id) throw invalidInput('marker and marker_keys name different artifacts');
      after = c;
    }
    if (after) {
      if (after.s !== scope) throw invalidInput(`the paging marker belongs to another list (type or sort order); start again without it`);
      q.after = after.k;
    }
    const page = await this.db.artifacts.list(p, typeName === 'all' ? undefined : typeName, q, allFields(type));
    if (page === 'bad-marker') {
      if (q.after) throw invalidInput('the paging marker does not fit this list; start again without it');
      throw notFound(`marker ${q.marker} is not a visible artifact`);
    }
    const artifacts = page.rows;
    const cursors = artifacts.map((a, i): PageCursor => ({ s: scope, k: page.keys[i], id: a.id }));
    if (!(artifacts.length === q.limit && q.limit > 0)) return { artifacts, total: page.total, cursors };
    const last = cursors[cursors.length - 1];
    return { artifacts, total: page.total, cursors, next: last.id, nextKeys: encodeNextpageMarker(last, secret) };
  }

  /**
   * The key that signs paging markers, kept in the database so that every Depot process (and the
   * next start) honours the markers another one issued. Signed, a marker cannot be edited into an
   * arbitrary position or passed off as another list's.
   */
  readonly markerKey: () => Promise<Buffer>;

  // ── update (JSON Patch) ──────────────────────────────────────────────────────────────────────

  async update(p: Principal, typeName: string, id: string, body: unknown, opts: { ifMatch?: string } = {}): Promise<ArtifactRecord> {
    const type = this.type(typeName);
    let ops;
    try {
      ops = validatePatch(body);
    } catch (e) {
      throw invalidInput((e as PatchError).message);
    }
    const fields = allFields(type);
    const post: HookEvent[] = [];
    const updated = await inTransaction(this.sequelize, async (t) => {
      const a = await this.get(p, type.name, id, t, true);
      requireIfMatch(opts.ifMatch, a);
      this.refuseDerived(a);
      if (!this.canWrite(p, a)) throw forbidden(`project '${p.project}' (role ${p.role}) may not modify this artifact`);
      const doc = writableDoc(a);
      let status = a.status;
      let visibility = a.visibility;
      for (const [i, op] of ops.entries()) {
        const field = op.path.split('/')[1].replace(/~1/g, '/').replace(/~0/g, '~');
        const def = fields[field];
        if (!def) throw invalidInput(`patch operation ${i}: unknown field '${field}'`);
        if (def.system) throw forbidden(`patch operation ${i}: field '${field}' is read-only`);
        if (isBinary(def)) throw invalidInput(`patch operation ${i}: field '${field}' is a ${def.kind}: use the blob API`);
        if (op.from) {
          const src = op.from.split('/')[1];
          if (src !== field && op.op === 'move') throw invalidInput(`patch operation ${i}: move between fields is not supported`);
        }
        if (status === 'deactivated' && field !== 'status') throw lifecycleRule(`patch operation ${i}: a deactivated artifact cannot change (reactivate it first)`);
        if (a.visibility === 'public' && !p.isAdmin && field !== 'status') throw forbidden('a public artifact may only be changed by an admin');
        if (status === 'active' && !def.mutable) throw lifecycleRule(`patch operation ${i}: field '${field}' is immutable once the artifact is active`);
        try {
          applyOp(doc, op, i);
        } catch (e) {
          if (e instanceof PatchError) throw new DomainError(e.status === 409 ? 'PATCH_TEST_FAILED' : 'INVALID_INPUT', e.message);
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
              if (status !== 'active') throw lifecycleRule('only an active artifact can be published');
            } else if (to === 'private') {
              if (!p.isAdmin) throw forbidden('only an admin may unpublish an artifact');
            } else throw invalidInput(`field 'visibility': must be private or public`);
            visibility = to as ArtifactRecord['visibility'];
          }
        }
      }
      const version = this.version(doc.version, type);
      doc.version = version.normalized;
      const problem = this.validator(type).check(doc);
      if (problem) throw invalidInput(problem);
      const next: ArtifactRecord = {
        ...a, name: doc.name as string, version: version.normalized, status, visibility, description: (doc.description as string) ?? '',
        tags: (doc.tags as string[]) ?? [], metadata: (doc.metadata as Record<string, string>) ?? {}, shared_with: (doc.shared_with as string[]) ?? [],
        fields: { ...a.fields },
      };
      for (const k of Object.keys(type.fields)) if (!isBinary(type.fields[k]) && !type.fields[k].system) next.fields[k] = doc[k] ?? null;
      if (JSON.stringify(writableDoc(next)) === JSON.stringify(writableDoc(a))) return a;
      await this.runHooks(type, { event: 'pre_update', principal: p, artifact: next });
      await this.db.artifacts.write(t, next, version.key, status === 'active' && a.status !== 'active');
      if (JSON.stringify(next.shared_with) !== JSON.stringify(a.shared_with)) await this.db.links.replaceShares(t, id, next.shared_with);
      await this.writeLinks(t, p, type, id, next.fields);
      await this.follow(t, a, next);
      await type.inTransaction?.updated?.(this.sequelize, t, a, next);
      return null;
    });
    const result = updated ?? (await this.get(p, type.name, id));
    for (const ev of post) await this.runHooks(type, { event: ev, principal: p, artifact: result }).catch((e) => this.log.warn({ err: e }, `${ev} hook failed`));
    return result;
  }

  /**
   * A change an API facade computed in its own dialect and under its own rules (the Image API's
   * PATCH, where every property stays writable after activation, and its members): under the row
   * lock, `fn` sees the artifact and returns what changes, or nothing. The engine still holds what
   * every route must: visibility (404), write permission unless `access` is `read` (a member answering
   * an invitation: `fn` then restricts the change itself), publishing by admins only, a deactivated
   * artifact staying as it is, the type's field validation (system fields included: the facade owns
   * them), uniqueness, links, shares and hooks.
   */
  async amend(p: Principal, typeName: string, id: string, fn: (a: ArtifactRecord) => Amendment | undefined, opts: { access?: 'write' | 'read' } = {}): Promise<ArtifactRecord> {
    const type = this.type(typeName);
    await inTransaction(this.sequelize, async (t) => {
      const a = opts.access === 'read' ? await this.get(p, type.name, id, t, true) : await this.getWritable(p, type.name, id, t);
      this.refuseDerived(a);
      const c = fn(a);
      if (!c) return;
      if (a.status === 'deactivated') throw lifecycleRule('a deactivated artifact cannot change (reactivate it first)');
      if (c.visibility === 'public' && a.visibility !== 'public' && !p.isAdmin) throw forbidden('only an admin may publish an artifact');
      if (c.visibility === 'private' && a.visibility === 'public' && !p.isAdmin) throw forbidden('only an admin may unpublish an artifact');
      const version = this.version(c.version ?? a.version, type);
      const next: ArtifactRecord = {
        ...a, ...c, version: version.normalized, fields: { ...a.fields, ...c.fields },
        tags: c.tags ?? a.tags, shared_with: c.shared_with ?? a.shared_with,
      };
      const doc = writableDoc(next);
      const problem = this.validator(type).check(doc);
      if (problem) throw invalidInput(problem);
      if (JSON.stringify(doc) === JSON.stringify(writableDoc(a))) return;
      await this.runHooks(type, { event: 'pre_update', principal: p, artifact: next });
      await this.db.artifacts.write(t, next, version.key, false);
      if (JSON.stringify(next.shared_with) !== JSON.stringify(a.shared_with)) await this.db.links.replaceShares(t, id, next.shared_with);
      await this.writeLinks(t, p, type, id, next.fields);
      await this.follow(t, a, next);
      await type.inTransaction?.updated?.(this.sequelize, t, a, next);
    });
    return this.get(p, type.name, id);
  }

  /** drafted → active ⇄ deactivated, as in Glare; activation needs required fields and settled blobs. */
  private async transition(p: Principal, type: ArtifactTypeDef, a: ArtifactRecord, from: string, to: unknown, t: Transaction, post: HookEvent[], i: number): Promise<ArtifactRecord['status']> {
    if (to === from) return from as ArtifactRecord['status'];
    if (to !== 'active' && to !== 'deactivated' && to !== 'drafted') throw invalidInput(`patch operation ${i}: status must be drafted, active or deactivated`);
    if (to === 'active' && from === 'drafted') {
      await this.checkActivation(type, a, t, `patch operation ${i}: `);
      // The type's own state machine activates (e.g. onboarding); a client cannot short-cut it.
      if (type.activation?.by === 'system') throw lifecycleRule(type.activation.detail);
      await this.runHooks(type, { event: 'pre_activate', principal: p, artifact: a });
      post.push('post_activate');
      return 'active';
    }
    if (await this.db.blobs.anySaving(a.id, t)) throw uploadInProgress(`patch operation ${i}: a blob of this artifact is being uploaded; retry when it is done`);
    if (to === 'deactivated' && from === 'active') {
      if (!p.isAdmin && a.owner !== p.project) throw forbidden('only the owner or an admin may deactivate');
      return 'deactivated';
    }
    if (to === 'active' && from === 'deactivated') return 'active';
    throw lifecycleRule(`patch operation ${i}: status cannot change from ${from} to ${to}`);
  }

  /** Activation needs settled blobs and every requiredOnActivate field, whoever activates. */
  private async checkActivation(type: ArtifactTypeDef, a: ArtifactRecord, t: Transaction, where = ''): Promise<void> {
    const blobs = await this.db.blobs.ofArtifact(a.id, t);
    if (blobs.some((b) => b.status === 'saving')) throw uploadInProgress(`${where}a blob of this artifact is being uploaded; retry when it is done`);
    const missing: string[] = [];
    for (const [name, def] of Object.entries(type.fields)) {
      if (!def.requiredOnActivate) continue;
      const present = isBinary(def) ? blobs.some((b) => b.field === name) : a.fields[name] !== null && a.fields[name] !== undefined;
      if (!present) missing.push(name);
    }
    if (missing.length) throw lifecycleRule(`cannot activate: required field(s) not set: ${missing.join(', ')}`);
  }

  // ── delete ───────────────────────────────────────────────────────────────────────────────────

  /** `inTransaction` runs inside the deleting transaction, just before the row goes (e.g. an outbox event). */
  async delete(p: Principal, typeName: string, id: string, opts: { ifMatch?: string; force?: boolean; inTransaction?: (t: Transaction, a: ArtifactRecord) => Promise<void> } = {}): Promise<void> {
    const type = this.type(typeName);
    const a = await this.get(p, type.name, id);
    this.refuseDerived(a);
    await this.runHooks(type, { event: 'pre_delete', principal: p, artifact: a });
    await inTransaction(this.sequelize, async (t) => {
      const cur = await this.getWritable(p, type.name, id, t);
      requireIfMatch(opts.ifMatch, cur);
      if (await this.db.blobs.anySaving(id, t)) throw uploadInProgress('a blob of this artifact is being uploaded; retry when it is done');
      // The artifacts derived from this one go with it (foreign key): links to them block as links to it do.
      const targets = [cur, ...(await this.db.artifacts.derivedFrom(t, id))];
      const incoming: (IncomingLink & { target: ArtifactRecord })[] = [];
      for (const target of targets) incoming.push(...(await this.db.links.incoming(t, target.id, p)).map((l) => ({ ...l, target })));
      if (incoming.length) {
        if (!opts.force || !p.isAdmin) throw linkedError(incoming);
        // Forced: the links become null (or disappear from their list/dict), so no artifact points into the void.
        for (const l of incoming) {
          const sourceType = this.types.get(l.type_name)!;
          await this.db.artifacts.dropLink(t, l.source_id, sourceType.fields[l.field].kind, l.field, l.key, `/artifacts/${l.target.type_name}/${l.target.id}`);
        }
        for (const target of targets) await this.db.links.deleteTo(t, target.id);
      }
      await type.inTransaction?.deleting?.(this.sequelize, t, cur);
      await opts.inTransaction?.(t, cur);
      await this.db.artifacts.delete(t, id);
    });
    await this.runHooks(type, { event: 'post_delete', principal: p, artifact: a }).catch((e) => this.log.warn({ err: e }, 'post_delete hook failed'));
  }

  async linkedFrom(p: Principal, typeName: string, id: string): Promise<{ id: string; type_name: string; field: string; key: string }[]> {
    await this.get(p, typeName, id);
    return this.db.links.linkedFrom(p, id);
  }

  // ── blobs ────────────────────────────────────────────────────────────────────────────────────

  binaryField(type: ArtifactTypeDef, field: string, path: string | undefined): FieldDef {
    const def = type.fields[field];
    if (!def || !isBinary(def)) throw invalidInput(`'${field}' is not a blob or folder field of ${type.name}`);
    if (def.kind === 'blob' && path) throw invalidInput(`'${field}' is a blob, not a folder: no path after it`);
    if (def.kind === 'folder' && !path) throw invalidInput(`'${field}' is a folder: give the entry path, e.g. ${field}/dir/file.txt`);
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
      requireIfMatch(opts.ifMatch, a);
      if (a.status === 'deactivated') throw lifecycleRule('a deactivated artifact cannot change');
      if (a.status === 'active' && !def.mutable && !opts.system) throw lifecycleRule(`'${field}' is immutable once the artifact is active`);
      previous = await this.db.blobs.find(id, field, key, { t, lock: true });
      if (previous?.status === 'saving') throw uploadInProgress(`an upload to ${field}${path ? `/${path}` : ''} is already in progress`);
      let allowed = limit;
      if (def.kind === 'folder' && def.maxFolderSize) {
        allowed = Math.min(allowed, def.maxFolderSize - (await this.db.blobs.folderBytes(t, id, field, key)));
      }
      await this.db.quotas.lock(t, a.owner);
      const quota = await this.remainingBytes(t, a.owner, type.name);
      const credit = previous ? Number(previous.size) : 0;
      const available = quota.remaining + credit;
      if (opts.contentLength !== undefined) {
        if (opts.contentLength > allowed) throw tooLarge(`${field}${path ? `/${path}` : ''}: ${opts.contentLength} bytes is over the limit of ${allowed} bytes`);
        if (opts.contentLength > available) throw new DomainError('STORAGE_QUOTA_EXCEEDED', `quota exceeded (${quota.scope}): ${opts.contentLength} bytes requested, ${available} available`);
      }
      const reserve = Math.min(opts.contentLength ?? Math.min(allowed, available), allowed, available);
      if (!Number.isFinite(reserve)) throw new Error('unbounded reservation');
      if (previous) await this.db.blobs.reserveExisting(t, previous.id, reserve);
      else await this.db.blobs.reserve(t, { id: blobId, artifactId: id, field, path: key, store: store.name, reserve });
      return { reserve, blobId: previous?.id ?? blobId, artifact: a, quotaLimited: available < allowed, quota };
    });

    const rowId = reservation.blobId;
    const rollback = () => this.db.blobs.rollback(rowId, !!previous?.content_key);
    let lastBeat = Date.now();
    let pendingStage: Staged | undefined;
    try {
      if (opts.hooks !== false) await this.runHooks(type, { event: 'pre_upload', principal: p, artifact: reservation.artifact, field, path });
      const staged: Staged = await (opts.ingest ?? ((b, o) => store.stage(b, o)))(body, {
        limit: reservation.reserve,
        algorithms: def.digests ?? [],
        hashWorker: this.config.onboarding?.hashWorker !== false,
        onProgress: () => {
          // The heartbeat tells the stale-upload reaper (of any process) that this upload is alive.
          // Well within uploadStaleSeconds, or a short setting would reap uploads that are progressing.
          if (Date.now() - lastBeat > Math.min(5000, (this.config.uploadStaleSeconds * 1000) / 4)) {
            lastBeat = Date.now();
            this.db.blobs.heartbeat(rowId).catch(() => undefined);
          }
        },
      });
      pendingStage = staged;
      if (opts.contentLength !== undefined && staged.size !== opts.contentLength) {
        await staged.abort();
        throw invalidInput(`request body ended after ${staged.size} of ${opts.contentLength} bytes announced by Content-Length`);
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
          const published = await this.db.blobs.publish(t, rowId, { store: store.name, key: staged.key, size: staged.size, digests: staged.digests, contentType: opts.contentType, segments: staged.segments });
          if (!published) throw new DomainError('UPLOAD_ROLLED_BACK', `${field}${path ? `/${path}` : ''}: the upload stalled longer than ${this.config.uploadStaleSeconds} s and was rolled back; retry it`);
        };
        if (lt) await mark(lt);
        else await inTransaction(this.sequelize, mark);
      });
      await this.db.artifacts.bumpRevision(id);
    } catch (err) {
      // Drops staged bytes that were never published (a no-op once commit succeeded), so they do not
      // wait for a restart: the store never sweeps a staged write its own process still holds.
      await pendingStage?.abort().catch(() => undefined);
      await rollback().catch((e) => this.log.error({ err: e }, 'upload rollback failed; the reaper will finish it'));
      if (err instanceof SizeLimitError) {
        throw reservation.quotaLimited
          ? new DomainError('STORAGE_QUOTA_EXCEEDED', `quota exceeded (${reservation.quota.scope}): the upload went over the ${err.limit} bytes still available`)
          : tooLarge(`${field}${path ? `/${path}` : ''}: the upload went over the limit of ${err.limit} bytes`);
      }
      throw err;
    }
    const updated = await this.get(p, type.name, id);
    return updated;
  }

  // ── reads of bytes ───────────────────────────────────────────────────────────────────────────
  // Every route that serves an artifact's bytes or lists its folders (generic blob and folder GETs,
  // SOL005 package_content, vnfd, manifest, artifacts) reads through readable(): one rule for all.

  /**
   * A visible artifact whose content the principal may read: a deactivated artifact's content is
   * for its owner and admins only (its metadata stays visible to everyone it is shared with).
   */
  private async readable(p: Principal, type: ArtifactTypeDef, id: string): Promise<ArtifactRecord> {
    const a = await this.get(p, type.name, id);
    if (a.status === 'deactivated' && !p.isAdmin && a.owner !== p.project) throw lifecycleRule('the artifact is deactivated: only its owner or an admin may read its content');
    return a;
  }

  /** The content of a settled blob, once the type's pre_download hooks accepted it. */
  private async download(p: Principal, type: ArtifactTypeDef, a: ArtifactRecord, field: string, path: string | undefined, b: BlobRow | undefined): Promise<BlobContent> {
    if (!b || !b.content_key) {
      if (b?.status === 'saving') throw uploadInProgress(`${field}${path ? `/${path}` : ''} is being uploaded`);
      throw notFound(`${field}${path ? `/${path}` : ''} has no content`);
    }
    await this.runHooks(type, { event: 'pre_download', principal: p, artifact: a, field, path });
    return this.contentOf(b);
  }

  async blob(p: Principal, typeName: string, id: string, field: string, path: string | undefined): Promise<BlobContent> {
    const type = this.type(typeName);
    this.binaryField(type, field, path);
    const a = await this.readable(p, type, id);
    return this.download(p, type, a, field, path, await this.db.blobs.find(id, field, path ?? ''));
  }

  /** Several entries of a folder field by exact path (e.g. to zip them), under the same rule as blob(). */
  async entries(p: Principal, typeName: string, id: string, field: string, paths: string[]): Promise<BlobContent[]> {
    const type = this.type(typeName);
    this.folderField(type, field);
    const a = await this.readable(p, type, id);
    const rows = await this.db.blobs.entries(id, field, paths);
    const out: BlobContent[] = [];
    for (const path of paths) out.push(await this.download(p, type, a, field, path, rows.find((b) => b.path === path)));
    return out;
  }

  /**
   * The bytes of a row the caller already holds, with no rule applied: for the type's own processing
   * (the onboarding pipeline, jobs). Routes read through blob(), entries() and folder().
   */
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

  /** The entries of a folder field under `prefix` (a listing), under the same rule as blob(). */
  async folder(p: Principal, typeName: string, id: string, field: string, prefix: string): Promise<BlobRow[]> {
    const type = this.type(typeName);
    this.folderField(type, field);
    await this.readable(p, type, id);
    return this.db.blobs.folder(id, field, prefix);
  }

  private folderField(type: ArtifactTypeDef, field: string): void {
    if (type.fields[field]?.kind !== 'folder') throw invalidInput(`'${field}' is not a folder field of ${type.name}`);
  }

  /** The artifacts' blobs and per-folder counts and sizes in one round trip (the list presenter needs both for every page). */
  blobSummary(ids: string[]) {
    return this.db.blobs.summary(ids);
  }

  async deleteBlob(p: Principal, typeName: string, id: string, field: string, path: string | undefined): Promise<ArtifactRecord> {
    const type = this.type(typeName);
    const def = this.binaryField(type, field, path);
    if (def.system) throw forbidden(`'${field}' is filled by Depot and cannot be changed`);
    await inTransaction(this.sequelize, async (t) => {
      const a = await this.getWritable(p, type.name, id, t);
      if (a.status !== 'drafted') throw lifecycleRule('blobs can only be removed from a drafted artifact');
      const b = await this.db.blobs.find(id, field, path ?? '', { t, lock: true });
      if (!b) throw notFound(`${field}${path ? `/${path}` : ''} has no content`);
      if (b.status === 'saving') throw uploadInProgress(`${field}${path ? `/${path}` : ''} is being uploaded`);
      await this.db.blobs.delete(t, b.id);
      await this.db.artifacts.bumpRevision(id, t);
    });
    return this.get(p, type.name, id);
  }

  // ── operations for a type's own state machine and for API facades ─────────────────────────────
  // Types and facades (onboarding, SOL005) never write rows: they call these, inside their own
  // transaction when they need several to commit together (see transaction()).

  /**
   * Sets fields the type owns (system fields, or fields a facade validated itself, e.g. SOL005's
   * userDefinedData), optionally removing others and renaming or re-versioning the artifact. Bumps
   * the revision. The status is not touched: activate()/deactivate() own it.
   */
  async setSystemFields(id: string, fields: Record<string, unknown>, opts: { remove?: string[]; name?: string; version?: string; t?: Transaction } = {}): Promise<ArtifactRecord> {
    const a = await this.db.artifacts.findById(id, opts.t);
    if (!a) throw notFound(`no artifact with id ${id}`);
    return this.change(opts.t, a, { fields, removeFields: opts.remove, name: opts.name, version: opts.version });
  }

  /**
   * drafted or deactivated → active, by the type's own state machine (a type whose activation is
   * `system` is activated only this way). Activation needs settled blobs and every requiredOnActivate
   * field, as for a client's PATCH; `fields`, `name` and `version` change in the same statement.
   */
  async activate(t: Transaction, a: ArtifactRecord, opts: { fields?: Record<string, unknown>; name?: string; version?: string } = {}): Promise<ArtifactRecord> {
    if (a.status === 'active') throw new DomainError('LIFECYCLE_CONFLICT', `the artifact is already active`);
    await this.checkActivation(this.type(a.type_name), a, t);
    return this.change(t, a, { ...opts, status: 'active' });
  }

  /** active → deactivated (its fields may change in the same statement). */
  async deactivate(t: Transaction, a: ArtifactRecord, opts: { fields?: Record<string, unknown> } = {}): Promise<ArtifactRecord> {
    if (a.status !== 'active') throw new DomainError('LIFECYCLE_CONFLICT', `the artifact is ${a.status}, not active`);
    if (await this.db.blobs.anySaving(a.id, t)) throw uploadInProgress('a blob of this artifact is being uploaded; retry when it is done');
    return this.change(t, a, { ...opts, status: 'deactivated' });
  }

  /** One statement for every change above; the type's `updated` hook runs in the same transaction. */
  private async change(t: Transaction | undefined, a: ArtifactRecord, c: Omit<ArtifactChange, 'version'> & { version?: string }): Promise<ArtifactRecord> {
    const type = this.type(a.type_name);
    // A type's own link fields (e.g. the VNF packages an onboarded NSD refers to) hold integrity
    // like a client's: their rows change in the same transaction as the fields.
    const links = [...Object.keys(c.fields ?? {}), ...(c.removeFields ?? [])].some((k) => isLinkField(type.fields[k]));
    if (links && !t) return inTransaction(this.sequelize, (tx) => this.change(tx, a, c));
    const after = await this.db.artifacts.change(t, a.id, { ...c, version: c.version === undefined ? undefined : this.version(c.version, type) });
    if (!after) throw notFound(`no ${type.name} artifact with id ${a.id}`);
    if (links) await this.writeLinks(t!, SYSTEM_READER, type, a.id, after.fields);
    if (t && c.status) {
      await this.follow(t, a, after);
      await type.inTransaction?.updated?.(this.sequelize, t, a, after);
    }
    return after;
  }

  /**
   * Replaces the artifacts `source` brings with it (migration 07) by `items`, in the caller's
   * transaction: they take the source's owner, status, visibility and sharing (and the fields their
   * type's `derived.follow` computes), their blobs refer to bytes already stored, and they count
   * against no quota (the source's bytes already do). From then on they follow the source (follow())
   * and are read-only to every API; deleting the source deletes them. A `pending` item stays
   * drafted, whatever its source does, until settleDerived().
   */
  async derive(t: Transaction, source: ArtifactRecord, items: DerivedArtifact[]): Promise<ArtifactRecord[]> {
    for (const old of await this.db.artifacts.derivedFrom(t, source.id)) await this.db.artifacts.delete(t, old.id);
    const out: ArtifactRecord[] = [];
    for (const item of items) {
      const type = this.type(item.type);
      const version = this.version(item.version, type);
      const fields: Record<string, unknown> = {};
      for (const [k, def] of Object.entries(type.fields)) {
        if (!isBinary(def)) fields[k] = structuredClone(def.default ?? null);
      }
      Object.assign(fields, item.fields, type.derived?.follow(source));
      const now = new Date();
      const status = item.pending ? 'drafted' : source.status;
      const record: ArtifactRecord = {
        id: item.id, type_name: type.name, owner: source.owner, name: item.name, version: version.normalized, status, visibility: source.visibility,
        description: item.description ?? '', tags: [], metadata: {}, shared_with: [...source.shared_with], fields, revision: 1, created_at: now, updated_at: now,
        activated_at: status === 'drafted' ? null : now, derived_from: source.id,
      };
      const problem = this.validator(type).check(writableDoc(record));
      if (problem) throw invalidInput(`${type.name} ${item.name} derived from ${source.id}: ${problem}`);
      await this.db.artifacts.insert(t, record, version.key);
      await this.db.links.replaceShares(t, record.id, record.shared_with);
      for (const [field, content] of Object.entries(item.blobs ?? {})) {
        if (type.fields[field]?.kind !== 'blob') throw new Error(`internal: ${field} is not a blob field of ${type.name}`);
        await this.db.blobs.attach(t, record.id, field, '', content);
      }
      out.push(record);
    }
    return out;
  }

  /**
   * The source's status, visibility or sharing changed: its derived artifacts take them (and their
   * type's `follow` fields); a pending (drafted) one takes the status when it is settled.
   */
  private async follow(t: Transaction, before: ArtifactRecord, after: ArtifactRecord): Promise<void> {
    const same = before.status === after.status && before.visibility === after.visibility && JSON.stringify(before.shared_with) === JSON.stringify(after.shared_with);
    if (same) return;
    for (const d of await this.db.artifacts.derivedFrom(t, after.id)) {
      const type = this.type(d.type_name);
      const next: ArtifactRecord = {
        ...d, status: after.status === 'drafted' || d.status === 'drafted' ? d.status : after.status, visibility: after.visibility, shared_with: [...after.shared_with],
        fields: { ...d.fields, ...type.derived?.follow(after) },
      };
      await this.db.artifacts.write(t, next, this.version(d.version, type).key, next.status === 'active' && d.status !== 'active');
      if (JSON.stringify(next.shared_with) !== JSON.stringify(d.shared_with)) await this.db.links.replaceShares(t, d.id, next.shared_with);
    }
  }

  /**
   * A pending derived artifact's processing ended (derive()): its fields and its blobs' extra digests
   * are written and it takes its source's current status (active, or deactivated if the source was
   * meanwhile), or, `failed`, it stays drafted with those fields (e.g. an image's `killed`). Nothing
   * when it is gone (its source was deleted) or no longer pending. True when it was settled.
   */
  async settleDerived(id: string, outcome: { fields: Record<string, unknown>; digests?: Record<string, Record<string, string>>; failed?: boolean }): Promise<boolean> {
    return inTransaction(this.sequelize, async (t) => {
      const sourceId = (await this.db.artifacts.findById(id, t))?.derived_from;
      // The source first, as follow() locks them: a change of the source and this never deadlock.
      const source = sourceId ? await this.db.artifacts.findById(sourceId, t, true) : undefined;
      const d = source && (await this.db.artifacts.findById(id, t, true));
      if (!source || !d || d.status !== 'drafted') return false;
      const type = this.type(d.type_name);
      const status = outcome.failed ? 'drafted' : source.status === 'deactivated' ? 'deactivated' : 'active';
      await this.db.artifacts.write(t, { ...d, status, fields: { ...d.fields, ...outcome.fields } }, this.version(d.version, type).key, status !== 'drafted');
      for (const [field, digests] of Object.entries(outcome.digests ?? {})) {
        const b = await this.db.blobs.find(id, field, '', { activeOnly: true, t });
        if (b?.content_key) {
          await this.db.blobs.attach(t, id, field, '', {
            store: b.store, key: b.content_key, offset: b.content_offset === null ? undefined : Number(b.content_offset), size: Number(b.size), digests: { ...b.digests, ...digests }, contentType: b.content_type ?? undefined,
          });
        }
      }
      return true;
    });
  }

  /** Loads an artifact for the system (no visibility rule), locked for update inside a transaction. */
  async load(id: string, t?: Transaction): Promise<ArtifactRecord | undefined> {
    return this.db.artifacts.findById(id, t, !!t);
  }

  /** An active blob (or folder entry) of an artifact, for the type's own processing. */
  storedBlob(artifactId: string, field: string, path = '', t?: Transaction): Promise<BlobRow | undefined> {
    return this.db.blobs.find(artifactId, field, path, { activeOnly: true, t });
  }

  /** Records a blob whose bytes are already in the store (e.g. a file unpacked from a CSAR). */
  async attachContent(t: Transaction | undefined, artifactId: string, field: string, path: string, c: StoredContent): Promise<void> {
    await this.db.blobs.attach(t, artifactId, field, path, c);
  }

  /** The blob's bytes become these object ranges (same bytes, e.g. a package whose images are objects of their own). */
  async attachSegments(t: Transaction | undefined, blobId: string, key: string, segments: Segment[]): Promise<void> {
    await this.db.blobs.setSegments(t, blobId, key, segments);
  }

  /** Forgets every entry of a folder field (their bytes go to the garbage collector). */
  async resetFolder(t: Transaction | undefined, artifactId: string, field: string): Promise<void> {
    await this.db.blobs.deleteField(t, artifactId, field);
  }

  /**
   * Rolls back uploads whose process died (no heartbeat for `staleSeconds`): the previous content is
   * restored, or the row removed, so the upload can be retried. Runs at start and periodically.
   */
  async reapStaleUploads(staleSeconds: number): Promise<number> {
    const rows = await this.db.blobs.stale(staleSeconds);
    for (const id of rows) await this.db.blobs.reap(id);
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

function matchesEtag(header: string, etag: string): boolean {
  return header.split(',').map((s) => s.trim().replace(/^W\//, '')).some((s) => s === '*' || s === etag);
}

export function checkFolderPath(path: string): void {
  if (path.length > 2048) throw invalidInput('folder path longer than 2048 characters');
  const segs = path.split('/');
  if (path.startsWith('/') || segs.some((s) => s === '' || s === '.' || s === '..') || /[\\\u0000-\u001f]/.test(path)) {
    throw invalidInput(`invalid folder path ${JSON.stringify(path)}: relative segments separated by '/', no '.', '..', empty segments, backslashes or control characters`);
  }
}

/** The read-only cross-type view `/artifacts/all` (Glare's `all`): base fields only. */
export const ALL_TYPE: ArtifactTypeDef = { name: 'all', displayName: 'All artifacts', schemaVersion: '1.0', fields: {} };

/** Whether a field holds internal links (one, or a list or dict of them). */
function isLinkField(def: FieldDef | undefined): boolean {
  return !!def && (def.kind === 'link' || ((def.kind === 'list' || def.kind === 'dict') && def.element === 'link'));
}

/** Who checks the targets of links a type sets itself: the type already checked what its project may see. */
const SYSTEM_READER: Principal = { user: 'depot', project: '*', role: 'admin', isAdmin: true };

const uploadInProgress = (detail: string) => new DomainError('UPLOAD_IN_PROGRESS', detail);

/**
 * A delete refused because other artifacts link to the target. Every link blocks (integrity; see
 * README, "Links"), but only the sources the caller may see are named: another project's private
 * artifact is a count, never an id, type or field.
 */
function linkedError(incoming: IncomingLink[]): DomainError {
  const seen = incoming.filter((l) => l.visible);
  const hidden = incoming.length - seen.length;
  const parts = [
    ...(seen.length ? [seen.slice(0, 5).map((l) => `/artifacts/${l.type_name}/${l.source_id} (${l.field})`).join(', ') + (seen.length > 5 ? ', …' : '')] : []),
    ...(hidden ? [`${hidden} link(s) from artifacts not visible to you`] : []),
  ];
  return new DomainError('LINKED', `artifact is linked from ${incoming.length} artifact(s): ${parts.join('; ')}; an admin may delete it with ?force=true`, {
    linkedFrom: seen.map((l) => ({ id: l.source_id, type_name: l.type_name, field: l.field, key: l.key })),
    linkedFromHidden: hidden,
  });
}

/** Optimistic concurrency: a given If-Match must name the artifact's current ETag. */
export function requireIfMatch(ifMatch: string | undefined, a: ArtifactRecord): void {
  if (ifMatch && !matchesEtag(ifMatch, etagOf(a))) throw new DomainError('PRECONDITION_FAILED', `If-Match ${ifMatch} does not match the current ETag ${etagOf(a)}`);
}
