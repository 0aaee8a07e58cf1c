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

const DEFAULT_LANE = 'default';

/** A pool of its own for some kinds of job: its workers (per process) and its per-project limit (over every process). */
export interface LaneOptions {
  workers: number;
  /** jobs of one project running at once in this lane, over every process; unset: no limit */
  perProject?: number;
}

export interface JobQueueOptions extends LaneOptions {
  leaseSeconds: number;
  maxAttempts: number;
  pollMs?: number;
  /** lanes besides the default one (whose workers and perProject are the options above) */
  lanes?: Record<string, LaneOptions>;
}

/**
 * Kinds of job run in lanes: each lane is a worker pool of its own that claims only its kinds, so
 * slow work of one kind (fetching from a remote server) never occupies the workers of another
 * (onboarding). Within a lane, claims are fair across projects (JobsRepository.claimNext).
 */
export class JobQueue {
  private readonly handlers = new Map<string, JobHandler>();
  private readonly laneOf = new Map<string, string>();
  private readonly jobs: JobsRepository;
  private readonly pools = new Map<string, WorkerPool<JobRow>>();
  private started = false;

  constructor(
    sequelize: Sequelize,
    private readonly log: Logger,
    private readonly opts: JobQueueOptions,
  ) {
    this.jobs = new JobsRepository(sequelize);
  }

  private pool(lane: string): WorkerPool<JobRow> {
    let pool = this.pools.get(lane);
    if (pool) return pool;
    const { opts, jobs } = this;
    const options = lane === DEFAULT_LANE ? opts : opts.lanes?.[lane];
    if (!options) throw new Error(`job lane '${lane}' is not configured`);
    const kinds = () => [...this.laneOf].filter(([, l]) => l === lane).map(([k]) => k);
    pool = new WorkerPool<JobRow>(
      {
        claim: () => jobs.claimNext(kinds(), opts.leaseSeconds, options.perProject),
        renew: (job) => jobs.renewLease(job.id, opts.leaseSeconds),
        run: (job) => this.execute(job),
        describe: (job) => ({ job: job.id, kind: job.kind, project: job.project }),
      },
      this.log,
      { name: lane === DEFAULT_LANE ? 'jobs' : `jobs.${lane}`, workers: options.workers, leaseSeconds: opts.leaseSeconds, pollMs: opts.pollMs ?? 1000 },
    );
    this.pools.set(lane, pool);
    if (this.started) pool.start();
    return pool;
  }

  /** Jobs of `kind` run in `lane` (one of `opts.lanes`; by default the default lane). */
  register(kind: string, handler: JobHandler, lane = DEFAULT_LANE): void {
    this.handlers.set(kind, handler);
    this.laneOf.set(kind, lane);
    this.pool(lane);
  }

  enqueue(t: Transaction | undefined, kind: string, artifactId: string | null, payload: Record<string, unknown> = {}): Promise<string> {
    return this.jobs.enqueue(t, kind, artifactId, payload);
  }

  /** Wakes the workers now (after a commit that enqueued a job) instead of at the next poll. */
  kick(): void {
    for (const pool of this.pools.values()) pool.kick();
  }

  start(): void {
    this.started = true;
    for (const pool of this.pools.values()) pool.start();
  }

  /** Takes no new job and resolves when the jobs running in this process have ended. */
  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.pools.values()].map((pool) => pool.stop()));
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
