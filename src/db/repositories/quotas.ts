import type { Sequelize, Transaction } from 'sequelize';
import { Sql } from '../sql';

export interface QuotaRow {
  type_name: string;
  max_artifacts: string | null;
  max_bytes: string | null;
}

/** `quotas` (per-project overrides of the config file) and the usage they are checked against. */
export class QuotasRepository {
  private readonly sql: Sql;

  constructor(sequelize: Sequelize) {
    this.sql = new Sql(sequelize);
  }

  overrides(project: string, t?: Transaction): Promise<QuotaRow[]> {
    return this.sql.select<QuotaRow>('SELECT type_name, max_artifacts, max_bytes FROM quotas WHERE project = :project', { project }, t);
  }

  async replace(t: Transaction, project: string, quotas: { type_name?: string; maxArtifacts?: number | null; maxBytes?: number | null }[]): Promise<void> {
    await this.sql.exec('DELETE FROM quotas WHERE project = :project', { project }, t);
    for (const q of quotas) {
      await this.sql.exec('INSERT INTO quotas (project, type_name, max_artifacts, max_bytes) VALUES (:project, :type, :ma, :mb)',
        { project, type: q.type_name ?? '*', ma: q.maxArtifacts ?? null, mb: q.maxBytes ?? null }, t);
    }
  }

  /** Serialises quota decisions of one project across processes for the rest of the transaction. */
  async lock(t: Transaction, project: string): Promise<void> {
    await this.sql.exec(`SELECT pg_advisory_xact_lock(hashtextextended('quota:' || :project, 0))`, { project }, t);
  }

  /** Artifacts the project owns (of one type, when given); derived ones come with their source and do not count. */
  async artifactCount(t: Transaction, project: string, type?: string): Promise<number> {
    const [{ n }] = await this.sql.select<{ n: string }>(`SELECT count(*) AS n FROM artifacts WHERE owner = :project AND derived_from IS NULL ${type === undefined ? '' : 'AND type_name = :type'}`, { project, type }, t);
    return Number(n);
  }

  /**
   * Bytes the project stores (of one type, when given), counting in-flight uploads at their
   * reservation. A derived artifact's blobs are bytes its source already holds: not counted again.
   */
  async bytesUsed(t: Transaction, project: string, type?: string): Promise<number> {
    const [{ used }] = await this.sql.select<{ used: string }>(
      `SELECT COALESCE(sum(CASE WHEN b.status = 'saving' THEN GREATEST(b.reserved, b.size) ELSE b.size END), 0) AS used
       FROM blobs b JOIN artifacts a ON a.id = b.artifact_id WHERE a.owner = :project AND a.derived_from IS NULL ${type === undefined ? '' : 'AND a.type_name = :type'}`,
      { project, type }, t,
    );
    return Number(used);
  }
}
