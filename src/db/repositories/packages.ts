import type { Sequelize, Transaction } from 'sequelize';
import { Sql } from '../sql';

/**
 * What the package pipeline (src/packages/onboarding.ts) asks of the database beyond artifact and
 * blob state changes (those are the engine's): its locks, the descriptor-id and version look-ups
 * under them, and the uploads a dead process left behind.
 */
export class PackagesRepository {
  private readonly sql: Sql;

  constructor(sequelize: Sequelize) {
    this.sql = new Sql(sequelize);
  }

  /** Serialises the transactions that take the same key (e.g. onboardings of one descriptor id) until they end. */
  async lock(t: Transaction, key: string): Promise<void> {
    await this.sql.select(`SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))`, { key }, t);
  }

  /** Another package of the owner whose onboarded `field` (e.g. vnfdId) is `value`, if any. */
  async onboardedWith(t: Transaction, type: string, owner: string, field: string, value: string, exceptId: string): Promise<string | undefined> {
    const [row] = await this.sql.select<{ id: string }>(
      `SELECT id FROM artifacts WHERE type_name = :type AND owner = :owner AND id <> :id AND fields->>:field = :value AND fields->>'onboardingState' = 'ONBOARDED'`,
      { type, owner, id: exceptId, field, value }, t,
    );
    return row?.id;
  }

  /**
   * The onboarded package of the type whose `field` (e.g. vnfdId) is `value` and that the project
   * may see (its own, public, or shared with it): the project's own first, then the oldest.
   */
  async onboardedVisibleTo(project: string, type: string, field: string, value: string, t?: Transaction): Promise<string | undefined> {
    const [row] = await this.sql.select<{ id: string }>(
      `SELECT a.id FROM artifacts a WHERE a.type_name = :type AND a.fields->>:field = :value AND a.fields->>'onboardingState' = 'ONBOARDED'
         AND (a.owner = :project OR a.visibility = 'public' OR EXISTS (SELECT 1 FROM artifact_shares s WHERE s.artifact_id = a.id AND s.project = :project))
       ORDER BY (a.owner = :project) DESC, a.created_at LIMIT 1`,
      { type, field, value, project }, t,
    );
    return row?.id;
  }

  /**
   * Of these artifacts, the ones still onboarded and visible to the project, locked (FOR SHARE)
   * until the transaction ends: a concurrent delete waits, then finds what the transaction linked.
   */
  lockOnboardedVisible(t: Transaction, project: string, ids: string[]): Promise<string[]> {
    if (!ids.length) return Promise.resolve([]);
    return this.sql.select<{ id: string }>(
      `SELECT a.id FROM artifacts a WHERE a.id IN (:ids) AND a.fields->>'onboardingState' = 'ONBOARDED'
         AND (a.owner = :project OR a.visibility = 'public' OR EXISTS (SELECT 1 FROM artifact_shares s WHERE s.artifact_id = a.id AND s.project = :project))
       FOR SHARE OF a`,
      { ids, project }, t,
    ).then((rows) => rows.map((r) => r.id));
  }

  /**
   * Whether another artifact of the type holds this name and version (by its key) where it would
   * clash: in the owner's project (artifacts_unique_private) or publicly (artifacts_unique_public,
   * once this one is made public; and a listing shows both).
   */
  async versionTaken(t: Transaction, type: string, owner: string, name: string, versionKey: string, exceptId: string): Promise<boolean> {
    const rows = await this.sql.select(
      `SELECT 1 FROM artifacts WHERE type_name = :type AND name = :name AND version_key = :key AND id <> :id AND (owner = :owner OR visibility = 'public') LIMIT 1`,
      { type, name, key: versionKey, id: exceptId, owner }, t,
    );
    return rows.length > 0;
  }

  /**
   * Packages left UPLOADING for `staleSeconds` with nothing working on them: no blob being saved
   * (the engine's reaper rolled back the upload of a dead process) and no queued or running job.
   */
  async interruptedUploads(type: string, staleSeconds: number): Promise<string[]> {
    const rows = await this.sql.select<{ id: string }>(
      `SELECT a.id FROM artifacts a WHERE a.type_name = :type AND a.fields->>'onboardingState' = 'UPLOADING'
         AND a.updated_at < now() - (:s * interval '1 second')
         AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.artifact_id = a.id AND b.status = 'saving')
         AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.artifact_id = a.id AND j.state IN ('queued', 'running'))`,
      { type, s: staleSeconds },
    );
    return rows.map((r) => r.id);
  }
}
