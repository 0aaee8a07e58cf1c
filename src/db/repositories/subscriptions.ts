import { QueryTypes, Sequelize, Transaction } from 'sequelize';

/** A SOL005 subscription as stored (its credentials aside: they are read only to deliver). */
export interface SubscriptionRow {
  id: string;
  project: string;
  api_major: number;
  callback_uri: string;
  filter: object | null;
  created_at: Date;
}

export interface NewSubscription {
  id: string;
  project: string;
  createdBy: string;
  /** an admin's subscription hears about every project's packages */
  allProjects: boolean;
  apiMajor: number;
  callbackUri: string;
  filter: object | null;
  /** canonical JSON of the filter: same callbackUri and filter key in a project and major = the same subscription */
  filterKey: string;
  authentication: Record<string, unknown> | null;
}

/** Who may see a package: its project, everyone if public, and the projects it is shared with. */
export interface PackageAudience {
  owner: string;
  visibility: string;
  sharedWith: string[];
}

/** `project` undefined: every project's subscriptions (an admin's view). */
const visible = (project: string | undefined) => (project === undefined ? '' : 'AND project = :project');
const COLUMNS = 'id, project, api_major, callback_uri, filter, created_at';

/**
 * The `pkgm_subscriptions` table: SOL005 subscriptions of one API (`vnfpkgm`, `nsd`) and one major
 * each. A repository sees the subscriptions of its API only.
 */
export class SubscriptionsRepository {
  constructor(
    private readonly sequelize: Sequelize,
    readonly api = 'vnfpkgm',
  ) {}

  async find(id: string, major: number, project: string | undefined): Promise<SubscriptionRow | undefined> {
    const [row] = await this.sequelize.query<SubscriptionRow>(`SELECT ${COLUMNS} FROM pkgm_subscriptions WHERE id = :id AND api = :api AND api_major = :major ${visible(project)}`, {
      replacements: { id, major, project, api: this.api }, type: QueryTypes.SELECT,
    });
    return row;
  }

  /**
   * One keyset batch in (created_at, id) order after `after`. `ck` is created_at as text: it keeps
   * the microseconds (a JS Date would cut them and repeat rows at a page boundary).
   */
  async listAfter(major: number, project: string | undefined, after: { t: string; id: string } | undefined, limit: number): Promise<(SubscriptionRow & { ck: string })[]> {
    return this.sequelize.query<SubscriptionRow & { ck: string }>(
      `SELECT ${COLUMNS}, created_at::text AS ck FROM pkgm_subscriptions
        WHERE api = :api AND api_major = :major ${visible(project)} ${after ? 'AND (created_at, id) > (:t::timestamptz, :after::uuid)' : ''}
        ORDER BY created_at, id LIMIT :limit`,
      { replacements: { api: this.api, major, project, t: after?.t ?? null, after: after?.id ?? null, limit }, type: QueryTypes.SELECT },
    );
  }

  /** The id of the subscription with the same callbackUri and filter in the project and major. */
  async findSame(project: string, major: number, callbackUri: string, filterKey: string): Promise<string | undefined> {
    const [row] = await this.sequelize.query<{ id: string }>(
      `SELECT id FROM pkgm_subscriptions WHERE api = :api AND project = :project AND api_major = :major AND callback_uri = :uri AND filter_key = :key LIMIT 1`,
      { replacements: { api: this.api, project, major, uri: callbackUri, key: filterKey }, type: QueryTypes.SELECT },
    );
    return row?.id;
  }

  /** Inserts the subscription; false if the same one exists already (the unique index decides races). */
  async create(s: NewSubscription): Promise<boolean> {
    const rows = await this.sequelize.query<{ id: string }>(
      `INSERT INTO pkgm_subscriptions (id, api, project, created_by, all_projects, api_major, callback_uri, filter, filter_key, authentication)
       VALUES (:id, :api, :project, :user, :all, :major, :uri, :filter, :key, :auth) ON CONFLICT DO NOTHING RETURNING id`,
      {
        replacements: {
          id: s.id, api: this.api, project: s.project, user: s.createdBy, all: s.allProjects, major: s.apiMajor, uri: s.callbackUri,
          filter: s.filter ? JSON.stringify(s.filter) : null, key: s.filterKey, auth: s.authentication ? JSON.stringify(s.authentication) : null,
        },
        type: QueryTypes.SELECT,
      },
    );
    return rows.length > 0;
  }

  /** Deletes the subscription and its undelivered notifications (ON DELETE CASCADE). */
  async delete(id: string): Promise<void> {
    await this.sequelize.query(`DELETE FROM pkgm_subscriptions WHERE id = :id AND api = :api`, { replacements: { id, api: this.api } });
  }

  /**
   * The subscriptions whose project may see the package, oldest first, read in the transaction of
   * the state change. Who may see it is read from the package row there (the caller may hold a
   * record without its shares); `known` serves when the row is gone.
   */
  async listAudience(t: Transaction, packageId: string, known: PackageAudience): Promise<{ id: string; api_major: number; filter: object | null }[]> {
    const [seen] = await this.sequelize.query<{ owner: string; visibility: string; shared: string[] | string }>(
      `SELECT a.owner, a.visibility, COALESCE((SELECT json_agg(s.project) FROM artifact_shares s WHERE s.artifact_id = a.id), '[]') AS shared FROM artifacts a WHERE a.id = :id`,
      { replacements: { id: packageId }, type: QueryTypes.SELECT, transaction: t },
    );
    const who: PackageAudience = seen ? { owner: seen.owner, visibility: seen.visibility, sharedWith: typeof seen.shared === 'string' ? JSON.parse(seen.shared) : seen.shared } : known;
    return this.sequelize.query(
      `SELECT id, api_major, filter FROM pkgm_subscriptions
        WHERE api = :api AND (all_projects OR project = :owner OR :public OR project IN (:shared)) ORDER BY created_at, id`,
      { replacements: { api: this.api, owner: who.owner, public: who.visibility === 'public', shared: who.sharedWith.length ? who.sharedWith : [''] }, type: QueryTypes.SELECT, transaction: t },
    );
  }
}
