import type { Sequelize, Transaction } from 'sequelize';
import { BASE_COLUMNS, FieldDef } from '../../artifacts/fields';
import { effectiveSort, type ListQuery } from '../../artifacts/query';
import type { ArtifactRecord } from '../../artifacts/types';
import type { Principal } from '../../common/principal';
import { columnOf, conditionSql } from '../list-query';
import { Sql } from '../sql';

const SHARED_WITH = `COALESCE((SELECT json_agg(s.project ORDER BY s.project) FROM artifact_shares s WHERE s.artifact_id = a.id), '[]') AS shared_with`;
const SELECT = `SELECT a.*, ${SHARED_WITH} FROM artifacts a`;

function toRecord(row: any): ArtifactRecord {
  return {
    ...row,
    created_at: new Date(row.created_at),
    updated_at: new Date(row.updated_at),
    activated_at: row.activated_at ? new Date(row.activated_at) : null,
    shared_with: row.shared_with ?? [],
  };
}

/** SQL condition: the artifact `a` is readable by the principal (owner, shared with, public, or admin). */
export function visibleSql(p: Principal, replacements: Record<string, unknown>): string {
  if (p.isAdmin) return 'TRUE';
  replacements.viewer = p.project;
  return `(a.owner = :viewer OR a.visibility = 'public' OR EXISTS (SELECT 1 FROM artifact_shares s WHERE s.artifact_id = a.id AND s.project = :viewer))`;
}

/** A change made by the engine on behalf of a type or facade: only what is given changes. */
export interface ArtifactChange {
  /** Merged into `fields` (top-level keys replaced). */
  fields?: Record<string, unknown>;
  /** Top-level keys removed from `fields`. */
  removeFields?: string[];
  name?: string;
  version?: { normalized: string; key: string };
  status?: ArtifactRecord['status'];
}

/** The `artifacts` table (with its shares as `shared_with`). */
export class ArtifactsRepository {
  private readonly sql: Sql;

  constructor(sequelize: Sequelize) {
    this.sql = new Sql(sequelize);
  }

  async findVisible(p: Principal, type: string, id: string, opts: { t?: Transaction; lock?: boolean } = {}): Promise<ArtifactRecord | undefined> {
    const r: Record<string, unknown> = { id, type };
    const [row] = await this.sql.select<any>(`${SELECT} WHERE a.id = :id AND a.type_name = :type AND ${visibleSql(p, r)}${opts.lock ? ' FOR UPDATE OF a' : ''}`, r, opts.t);
    return row && toRecord(row);
  }

  /** By id alone, for the system (no visibility rule). */
  async findById(id: string, t?: Transaction, lock = false): Promise<ArtifactRecord | undefined> {
    const [row] = await this.sql.select<any>(`${SELECT} WHERE a.id = :id${lock ? ' FOR UPDATE OF a' : ''}`, { id }, t);
    return row && toRecord(row);
  }

  /** Whether a visible artifact of the type exists (link targets). */
  async isVisible(p: Principal, type: string, id: string, t?: Transaction): Promise<boolean> {
    const r: Record<string, unknown> = { id, type };
    return (await this.sql.select(`SELECT 1 FROM artifacts a WHERE a.id = :id AND a.type_name = :type AND ${visibleSql(p, r)}`, r, t)).length > 0;
  }

  async insert(t: Transaction, a: ArtifactRecord, versionKey: string): Promise<void> {
    await this.sql.exec(
      `INSERT INTO artifacts (id, type_name, owner, name, version, version_key, status, visibility, description, tags, metadata, fields, created_at, updated_at, activated_at, derived_from)
       VALUES (:id, :type, :owner, :name, :version, :key, :status, :visibility, :description, :tags, :metadata, :fields, :now, :now, :activated, :derived)`,
      { id: a.id, type: a.type_name, owner: a.owner, name: a.name, version: a.version, key: versionKey, status: a.status, visibility: a.visibility, description: a.description,
        tags: JSON.stringify(a.tags), metadata: JSON.stringify(a.metadata), fields: JSON.stringify(a.fields), now: a.created_at, activated: a.activated_at, derived: a.derived_from ?? null },
      t,
    );
  }

  /** Writes every client-writable column of `next` (a generic update), bumping the revision. */
  async write(t: Transaction, next: ArtifactRecord, versionKey: string, activated: boolean): Promise<void> {
    await this.sql.exec(
      `UPDATE artifacts SET name = :name, version = :version, version_key = :key, status = :status, visibility = :visibility, description = :description,
         tags = :tags, metadata = :metadata, fields = :fields, revision = revision + 1, updated_at = now()${activated ? ', activated_at = now()' : ''}
       WHERE id = :id`,
      { id: next.id, name: next.name, version: next.version, key: versionKey, status: next.status, visibility: next.visibility, description: next.description,
        tags: JSON.stringify(next.tags), metadata: JSON.stringify(next.metadata), fields: JSON.stringify(next.fields) },
      t,
    );
  }

  /** Applies a change in one statement, bumping the revision; the new record, or undefined if the row is gone. */
  async change(t: Transaction | undefined, id: string, c: ArtifactChange): Promise<ArtifactRecord | undefined> {
    const sets = ['revision = a.revision + 1', 'updated_at = now()'];
    const r: Record<string, unknown> = { id };
    if (c.fields || c.removeFields?.length) {
      r.fields = JSON.stringify(c.fields ?? {});
      r.remove = c.removeFields?.length ? c.removeFields : [''];
      sets.push(`fields = (a.fields - ARRAY[:remove]::text[]) || :fields::jsonb`);
    }
    if (c.name !== undefined) {
      sets.push('name = :name');
      r.name = c.name;
    }
    if (c.version) {
      sets.push('version = :version', 'version_key = :key');
      r.version = c.version.normalized;
      r.key = c.version.key;
    }
    if (c.status) {
      sets.push('status = :status');
      if (c.status === 'active') sets.push('activated_at = now()');
      r.status = c.status;
    }
    const [row] = await this.sql.select<any>(`UPDATE artifacts a SET ${sets.join(', ')} WHERE a.id = :id RETURNING a.*, ${SHARED_WITH}`, r, t);
    return row && toRecord(row);
  }

  /** The artifacts derived from `sourceId` (locked for update inside a transaction). */
  async derivedFrom(t: Transaction, sourceId: string): Promise<ArtifactRecord[]> {
    const rows = await this.sql.select<any>(`${SELECT} WHERE a.derived_from = :id ORDER BY a.id FOR UPDATE OF a`, { id: sourceId }, t);
    return rows.map(toRecord);
  }

  async bumpRevision(id: string, t?: Transaction): Promise<void> {
    await this.sql.exec('UPDATE artifacts SET revision = revision + 1, updated_at = now() WHERE id = :id', { id }, t);
  }

  async delete(t: Transaction, id: string): Promise<void> {
    // Blob rows go with the artifact (ON DELETE CASCADE); their bytes are reclaimed by the garbage collector.
    await this.sql.exec('DELETE FROM artifacts WHERE id = :id', { id }, t);
  }

  /** Removes a link value from a source artifact: null for a link field, the element for a list or dict. */
  async dropLink(t: Transaction, sourceId: string, kind: FieldDef['kind'], field: string, key: string, link: string): Promise<void> {
    const expr = kind === 'link'
      ? `jsonb_set(fields, ARRAY[:field], 'null'::jsonb)`
      : kind === 'list'
        ? `jsonb_set(fields, ARRAY[:field], COALESCE((SELECT jsonb_agg(e) FROM jsonb_array_elements(fields->:field) e WHERE e <> to_jsonb(:link::text)), '[]'::jsonb))`
        : `jsonb_set(fields, ARRAY[:field], (fields->:field) - :key)`;
    await this.sql.exec(`UPDATE artifacts SET fields = ${expr}, revision = revision + 1, updated_at = now() WHERE id = :sid`, { field, key, sid: sourceId, link }, t);
  }

  /**
   * One page of a list: keyset paging over the whole sort key (created_at desc, id asc are always
   * appended), `latest` keeping the highest version per (type, name), and the total count. `keys`
   * holds each row's sort-key values as text, the position a next page continues after: text keeps
   * what a JS value would round (a timestamp's microseconds) and compares back as the column's type.
   * The position is `q.after` when given, else the key of the `q.marker` row ('bad-marker' when that
   * row is not visible).
   */
  async list(p: Principal, type: string | undefined, q: ListQuery, fields: Record<string, FieldDef>): Promise<{ rows: ArtifactRecord[]; keys: (string | null)[][]; total: number } | 'bad-marker'> {
    const r: Record<string, unknown> = {};
    let n = 0;
    const bind = (v: unknown) => {
      const name = `p${n++}`;
      r[name] = v;
      return `:${name}`;
    };
    const conds = [...q.where.map((c) => conditionSql(c, bind)), visibleSql(p, r)];
    if (type !== undefined) {
      conds.push('a.type_name = :typeName');
      r.typeName = type;
    }
    if (q.orGroup.length) conds.push(`(${q.orGroup.map((c) => conditionSql(c, bind)).join(' OR ')})`);
    let where = conds.join(' AND ');
    if (q.latest) where = `a.id IN (SELECT DISTINCT ON (a.type_name, a.name) a.id FROM artifacts a WHERE ${where} ORDER BY a.type_name, a.name, a.version_key DESC)`;

    // Each sort key is one ordering part, or two for a type field kept in JSONB (it may be null):
    // "is null" first, then the value. Keyset comparisons with NULL are never true, so paging over a
    // nullable key used to lose every row whose key was null (and to stop at a null marker).
    const parts: { expr: string; dir: 'asc' | 'desc' }[] = [];
    for (const s of effectiveSort(q.sort)) {
      const col = columnOf(s.field, fields[s.field]);
      if (fields[s.field].nullable) parts.push({ expr: `COALESCE(${col}, 'epoch')`, dir: s.dir });
      else if (BASE_COLUMNS.has(s.field)) parts.push({ expr: col, dir: s.dir });
      else parts.push({ expr: `(${col} IS NULL)`, dir: s.dir }, { expr: col, dir: s.dir });
    }
    const cols = parts.map((x) => x.expr);
    const keyColumns = cols.map((c, i) => `(${c})::text AS k__${i}`).join(', ');

    let pageWhere = where;
    let after = q.after;
    if (!after && q.marker) {
      const mr: Record<string, unknown> = { marker: q.marker };
      const [m] = await this.sql.select<any>(`SELECT ${keyColumns} FROM artifacts a WHERE a.id = :marker AND ${visibleSql(p, mr)}`, mr);
      if (!m) return 'bad-marker';
      after = cols.map((_, i) => m[`k__${i}`]);
    }
    if (after) {
      if (after.length !== cols.length) return 'bad-marker';
      // Keyset paging over the whole sort key: (k1 > m1) OR (k1 = m1 AND k2 > m2) OR ... The values
      // are bound as text literals, which PostgreSQL reads as the type of the expression beside them.
      const ors = cols.map((_, i) => {
        const eqs = cols.slice(0, i).map((c, j) => `${c} IS NOT DISTINCT FROM :m${j}`);
        return `(${[...eqs, `${cols[i]} ${parts[i].dir === 'asc' ? '>' : '<'} :m${i}`].join(' AND ')})`;
      });
      after.forEach((v, i) => (r[`m${i}`] = v));
      pageWhere = `${where} AND (${ors.join(' OR ')})`;
    }
    r.limit = q.limit;
    const order = parts.map((x) => `${x.expr} ${x.dir.toUpperCase()}`).join(', ');
    // Without a marker the page and the total come from one query (the window count is computed
    // before LIMIT): one round trip fewer on the hot path of every first page.
    const windowed = !after && q.limit > 0;
    const rows = await this.sql.select<any>(`SELECT a.*, ${SHARED_WITH}, ${keyColumns}${windowed ? ', count(*) OVER () AS total_count__' : ''} FROM artifacts a WHERE ${pageWhere} ORDER BY ${order} LIMIT :limit`, r);
    const total = windowed && rows.length
      ? Number(rows[0].total_count__)
      : windowed ? 0 : Number((await this.sql.select<{ n: string }>(`SELECT count(*) AS n FROM artifacts a WHERE ${where}`, r))[0].n);
    const keys = rows.map((row) => {
      const k = cols.map((_, i) => row[`k__${i}`] as string | null);
      for (let i = 0; i < cols.length; i++) delete row[`k__${i}`];
      delete row.total_count__;
      return k;
    });
    return { rows: rows.map(toRecord), keys, total };
  }
}
