import { randomUUID } from 'node:crypto';
import { QueryTypes, Sequelize, Transaction } from 'sequelize';
import type { Logger } from 'pino';

/**
 * Durable jobs in the database (ARCHITECTURE §5). A job row is committed in the same transaction
 * as the state change that needs it, claimed with FOR UPDATE SKIP LOCKED (two processes never take
 * the same job) under a lease that the running worker renews. A process that dies stops renewing:
 * its job is claimed again once the lease runs out, until `maxAttempts`, after which the kind's
 * `onGiveUp` ends it cleanly (e.g. the package goes to ERROR). No job stays "running" forever.
 */
export interface JobRow {
  id: string;
  kind: string;
  artifact_id: string | null;
  state: 'queued' | 'running' | 'done' | 'failed';
  attempts: number;
  payload: Record<string, unknown>;
  last_error: string | null;
}

export interface JobHandler {
  run(job: JobRow): Promise<void>;
  /** Called when the job failed `maxAttempts` times (crashes included) or threw a permanent error. */
  onGiveUp(job: JobRow, reason: string): Promise<void>;
}

export class JobQueue {
  private readonly handlers = new Map<string, JobHandler>();
  private timer?: NodeJS.Timeout;
  private running = 0;
  private stopped = false;
  private readonly idle = new Set<() => void>();

  constructor(
    private readonly sequelize: Sequelize,
    private readonly log: Logger,
    private readonly opts: { workers: number; leaseSeconds: number; maxAttempts: number; pollMs?: number },
  ) {}

  register(kind: string, handler: JobHandler): void {
    this.handlers.set(kind, handler);
  }

  async enqueue(t: Transaction | undefined, kind: string, artifactId: string | null, payload: Record<string, unknown> = {}): Promise<string> {
    const id = randomUUID();
    await this.sequelize.query('INSERT INTO jobs (id, kind, artifact_id, payload) VALUES (:id, :kind, :aid, :payload)', {
      replacements: { id, kind, aid: artifactId, payload: JSON.stringify(payload) }, transaction: t,
    });
    return id;
  }

  /** Wakes the workers now (after a commit that enqueued a job) instead of at the next poll. */
  kick(): void {
    if (!this.stopped) setImmediate(() => void this.pump());
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => void this.pump(), this.opts.pollMs ?? 1000);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.running) await new Promise<void>((resolve) => this.idle.add(resolve));
  }

  private async claim(): Promise<JobRow | undefined> {
    const kinds = [...this.handlers.keys()];
    if (!kinds.length) return undefined;
    const [row] = await this.sequelize.query<JobRow>(
      `UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = now() + (:lease * interval '1 second'), updated_at = now()
       WHERE id = (SELECT id FROM jobs WHERE kind IN (:kinds) AND (state = 'queued' OR (state = 'running' AND lease_until < now()))
                   ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
       RETURNING id, kind, artifact_id, state, attempts, payload, last_error`,
      { replacements: { lease: this.opts.leaseSeconds, kinds }, type: QueryTypes.SELECT },
    );
    return row;
  }

  private async pump(): Promise<void> {
    while (!this.stopped && this.running < this.opts.workers) {
      let job: JobRow | undefined;
      try {
        job = await this.claim();
      } catch (err) {
        this.log.error({ err }, 'job claim failed');
        return;
      }
      if (!job) return;
      this.running++;
      void this.execute(job).finally(() => {
        this.running--;
        if (!this.running) for (const f of this.idle) f();
        this.idle.clear();
        this.kick();
      });
    }
  }

  private async execute(job: JobRow): Promise<void> {
    const handler = this.handlers.get(job.kind)!;
    const renew = setInterval(() => {
      this.sequelize
        .query(`UPDATE jobs SET lease_until = now() + (:lease * interval '1 second') WHERE id = :id AND state = 'running'`, { replacements: { id: job.id, lease: this.opts.leaseSeconds } })
        .catch(() => undefined);
    }, Math.max((this.opts.leaseSeconds * 1000) / 3, 200));
    renew.unref();
    try {
      if (job.attempts > this.opts.maxAttempts) {
        await handler.onGiveUp(job, `the job was interrupted ${job.attempts - 1} times (process stopped or crashed); giving up`);
        await this.finish(job.id, 'failed', 'gave up after repeated interruptions');
        return;
      }
      await handler.run(job);
      await this.finish(job.id, 'done', null);
    } catch (err: any) {
      this.log.error({ err, job: job.id, kind: job.kind }, 'job failed');
      await handler.onGiveUp(job, err?.message ?? String(err)).catch((e) => this.log.error({ err: e }, 'job give-up handler failed'));
      await this.finish(job.id, 'failed', String(err?.message ?? err)).catch(() => undefined);
    } finally {
      clearInterval(renew);
    }
  }

  private async finish(id: string, state: 'done' | 'failed', error: string | null): Promise<void> {
    // Secrets (upload_from_uri credentials) live in the payload only as long as the job runs.
    await this.sequelize.query(`UPDATE jobs SET state = :state, last_error = :error, payload = '{}', lease_until = NULL, updated_at = now() WHERE id = :id`, {
      replacements: { id, state, error },
    });
  }
}
