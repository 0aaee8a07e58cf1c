import { randomUUID } from 'node:crypto';
import { QueryTypes, Sequelize, Transaction } from 'sequelize';
import { inTransaction } from '../database';

export interface JobRow {
  id: string;
  kind: string;
  artifact_id: string | null;
  state: 'queued' | 'running' | 'done' | 'failed';
  attempts: number;
  payload: Record<string, unknown>;
  last_error: string | null;
  /** whose work it is: the owner of the job's artifact ('' for a job without one) */
  project: string;
}

const COLUMNS = 'id, kind, artifact_id, state, attempts, payload, last_error, project';

const lease = `now() + (:lease * interval '1 second')`;

/** The `jobs` table: durable jobs, claimed under a lease (see src/jobs/queue.ts). */
export class JobsRepository {
  constructor(private readonly sequelize: Sequelize) {}

  /**
   * Inserts a queued job; inside the caller's transaction when the job belongs to a state change.
   * The job's project is its artifact's owner, read here so that no caller can get it wrong.
   */
  async enqueue(t: Transaction | undefined, kind: string, artifactId: string | null, payload: Record<string, unknown>): Promise<string> {
    const id = randomUUID();
    await this.sequelize.query(`INSERT INTO jobs (id, kind, artifact_id, payload, project) VALUES (:id, :kind, :aid, :payload, coalesce((SELECT owner FROM artifacts WHERE id = :aid), ''))`, {
      replacements: { id, kind, aid: artifactId, payload: JSON.stringify(payload) }, transaction: t,
    });
    return id;
  }

  /**
   * Takes a job of one of `kinds` that is queued, or running under a lease that ran out (its process
   * died), and marks it running under a new lease; SKIP LOCKED: concurrent claimers take different
   * jobs. Fair across projects: a project with `perProject` jobs of these kinds running (under a live
   * lease, in any process) is skipped; among the others, the project with the fewest running, then
   * the one served least recently, then the oldest job. Claims of one set of kinds are serialised
   * (a transaction-scoped advisory lock), so two processes never both take a project's last slot.
   */
  async claimNext(kinds: string[], leaseSeconds: number, perProject?: number): Promise<JobRow | undefined> {
    if (!kinds.length) return undefined;
    const running = (alias: string) =>
      `(SELECT count(*) FROM jobs r WHERE r.project = ${alias}.project AND r.kind IN (:kinds) AND r.state = 'running' AND r.lease_until >= now())`;
    const lastServed = `(SELECT max(s.started_at) FROM jobs s WHERE s.project = j.project AND s.kind IN (:kinds))`;
    return inTransaction(this.sequelize, async (t) => {
      await this.sequelize.query(`SELECT pg_advisory_xact_lock(hashtextextended('jobs.claim:' || :lock, 0))`, { replacements: { lock: [...kinds].sort().join(',') }, transaction: t });
      const [row] = await this.sequelize.query<JobRow>(
        `UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ${lease}, started_at = now(), updated_at = now()
         WHERE id = (SELECT j.id FROM jobs j WHERE j.kind IN (:kinds) AND (j.state = 'queued' OR (j.state = 'running' AND j.lease_until < now()))
                       ${perProject !== undefined ? `AND ${running('j')} < :perProject` : ''}
                     ORDER BY ${running('j')}, ${lastServed} NULLS FIRST, j.created_at FOR UPDATE OF j SKIP LOCKED LIMIT 1)
         RETURNING ${COLUMNS}`,
        { replacements: { lease: leaseSeconds, kinds, perProject: perProject ?? null }, type: QueryTypes.SELECT, transaction: t },
      );
      return row;
    });
  }

  async renewLease(id: string, leaseSeconds: number): Promise<void> {
    await this.sequelize.query(`UPDATE jobs SET lease_until = ${lease} WHERE id = :id AND state = 'running'`, { replacements: { id, lease: leaseSeconds } });
  }

  /** Ends a job. Its payload is wiped: secrets (upload_from_uri credentials) live only as long as the job runs. */
  async finish(id: string, state: 'done' | 'failed', error: string | null): Promise<void> {
    await this.sequelize.query(`UPDATE jobs SET state = :state, last_error = :error, payload = '{}', lease_until = NULL, updated_at = now() WHERE id = :id`, {
      replacements: { id, state, error },
    });
  }

  async find(id: string): Promise<JobRow | undefined> {
    const [row] = await this.sequelize.query<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE id = :id`, {
      replacements: { id }, type: QueryTypes.SELECT,
    });
    return row;
  }
}
