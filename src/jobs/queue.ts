import type { Sequelize, Transaction } from 'sequelize';
import type { Logger } from 'pino';
import { JobRow, JobsRepository } from '../db/repositories/jobs';
import { WorkerPool } from './pool';

export type { JobRow } from '../db/repositories/jobs';

/**
 * Durable jobs in the database (ARCHITECTURE §5). A job row is committed in the same transaction
 * as the state change that needs it, claimed with FOR UPDATE SKIP LOCKED (two processes never take
 * the same job) under a lease that the running worker renews. A process that dies stops renewing:
 * its job is claimed again once the lease runs out, until `maxAttempts`, after which the kind's
 * `onGiveUp` ends it cleanly (e.g. the package goes to ERROR). No job stays "running" forever.
 */
export interface JobHandler {
  run(job: JobRow): Promise<void>;
  /** Called when the job failed `maxAttempts` times (crashes included) or threw a permanent error. */
  onGiveUp(job: JobRow, reason: string): Promise<void>;
}

export class JobQueue {
  private readonly handlers = new Map<string, JobHandler>();
  private readonly jobs: JobsRepository;
  private readonly pool: WorkerPool<JobRow>;

  constructor(
    sequelize: Sequelize,
    private readonly log: Logger,
    private readonly opts: { workers: number; leaseSeconds: number; maxAttempts: number; pollMs?: number },
  ) {
    const jobs = (this.jobs = new JobsRepository(sequelize));
    this.pool = new WorkerPool<JobRow>(
      {
        claim: () => jobs.claimNext([...this.handlers.keys()], opts.leaseSeconds),
        renew: (job) => jobs.renewLease(job.id, opts.leaseSeconds),
        run: (job) => this.execute(job),
        describe: (job) => ({ job: job.id, kind: job.kind }),
      },
      log,
      { name: 'jobs', workers: opts.workers, leaseSeconds: opts.leaseSeconds, pollMs: opts.pollMs ?? 1000 },
    );
  }

  register(kind: string, handler: JobHandler): void {
    this.handlers.set(kind, handler);
  }

  enqueue(t: Transaction | undefined, kind: string, artifactId: string | null, payload: Record<string, unknown> = {}): Promise<string> {
    return this.jobs.enqueue(t, kind, artifactId, payload);
  }

  /** Wakes the workers now (after a commit that enqueued a job) instead of at the next poll. */
  kick(): void {
    this.pool.kick();
  }

  start(): void {
    this.pool.start();
  }

  /** Takes no new job and resolves when the jobs running in this process have ended. */
  stop(): Promise<void> {
    return this.pool.stop();
  }

  private async execute(job: JobRow): Promise<void> {
    const handler = this.handlers.get(job.kind)!;
    try {
      if (job.attempts > this.opts.maxAttempts) {
        await handler.onGiveUp(job, `the job was interrupted ${job.attempts - 1} times (process stopped or crashed); giving up`);
        await this.jobs.finish(job.id, 'failed', 'gave up after repeated interruptions');
        return;
      }
      await handler.run(job);
      await this.jobs.finish(job.id, 'done', null);
    } catch (err: any) {
      this.log.error({ err, job: job.id, kind: job.kind }, 'job failed');
      await handler.onGiveUp(job, err?.message ?? String(err)).catch((e) => this.log.error({ err: e }, 'job give-up handler failed'));
      await this.jobs.finish(job.id, 'failed', String(err?.message ?? err)).catch(() => undefined);
    }
  }
}
