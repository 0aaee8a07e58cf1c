import { randomUUID } from 'node:crypto';
import { QueryTypes, Sequelize, Transaction } from 'sequelize';

export interface JobRow {
  id: string;
  kind: string;
  artifact_id: string | null;
  state: 'queued' | 'running' | 'done' | 'failed';
  attempts: number;
  payload: Record<string, unknown>;
  last_error: string | null;
}

const lease = `now() + (:lease * interval '1 second')`;

/** The `jobs` table: durable jobs, claimed under a lease (see src/jobs/queue.ts). */
export class JobsRepository {
  constructor(private readonly sequelize: Sequelize) {}

  /** Inserts a queued job; inside the caller's transaction when the job belongs to a state change. */
  async enqueue(t: Transaction | undefined, kind: string, artifactId: string | null, payload: Record<string, unknown>): Promise<string> {
    const id = randomUUID();
    await this.sequelize.query('INSERT INTO jobs (id, kind, artifact_id, payload) VALUES (:id, :kind, :aid, :payload)', {
      replacements: { id, kind, aid: artifactId, payload: JSON.stringify(payload) }, transaction: t,
    });
    return id;
  }

  /**
   * Takes the oldest job of one of `kinds` that is queued, or running under a lease that ran out
   * (its process died), and marks it running under a new lease; SKIP LOCKED: concurrent claimers
   * take different jobs.
   */
  async claimNext(kinds: string[], leaseSeconds: number): Promise<JobRow | undefined> {
    if (!kinds.length) return undefined;
    const [row] = await this.sequelize.query<JobRow>(
      `UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ${lease}, updated_at = now()
       WHERE id = (SELECT id FROM jobs WHERE kind IN (:kinds) AND (state = 'queued' OR (state = 'running' AND lease_until < now()))
                   ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
       RETURNING id, kind, artifact_id, state, attempts, payload, last_error`,
      { replacements: { lease: leaseSeconds, kinds }, type: QueryTypes.SELECT },
    );
    return row;
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
    const [row] = await this.sequelize.query<JobRow>(`SELECT id, kind, artifact_id, state, attempts, payload, last_error FROM jobs WHERE id = :id`, {
      replacements: { id }, type: QueryTypes.SELECT,
    });
    return row;
  }
}
