import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { Database } from '../../src/db/database';
import { JobsRepository } from '../../src/db/repositories/jobs';
import { JobQueue, type JobHandler, type JobQueueOptions, type JobRow } from '../../src/jobs/queue';
import { openTestDatabase } from '../helpers/depot';

/** Job handlers and waits shared by the job queue tests. */

export interface Gate { p: Promise<void>; open(): void }
export const gate = (): Gate => {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
};
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

/** A handler whose every run waits for its own gate; it records what ran and how many at once. */
export class HeldJobs implements JobHandler {
  readonly started: JobRow[] = [];
  readonly gates = new Map<string, Gate>();
  readonly gaveUp: { job: JobRow; reason: string }[] = [];
  running = 0;
  maxRunning = 0;
  async run(job: JobRow): Promise<void> {
    const g = gate();
    this.gates.set(job.id, g);
    this.started.push(job);
    this.maxRunning = Math.max(this.maxRunning, ++this.running);
    await g.p.finally(() => this.running--);
  }
  async onGiveUp(job: JobRow, reason: string): Promise<void> {
    this.gaveUp.push({ job, reason });
  }
  release(id: string): void {
    this.gates.get(id)!.open();
  }
  releaseAll(): void {
    for (const g of this.gates.values()) g.open();
  }
}

/**
 * The setup of a job queue suite (mocha hooks): a test database, job kinds of this suite alone (a
 * shared test database may hold other runs' jobs, deleted at the end), and queues stopped after
 * each test. Hooks registered before this call run before the queues stop (e.g. releasing held jobs).
 */
export function jobQueueBed(defaults: Partial<JobQueueOptions>) {
  const kinds: string[] = [];
  const queues: JobQueue[] = [];
  const bed = {
    db: undefined as unknown as Database,
    jobs: undefined as unknown as JobsRepository,
    newKind(): string {
      const k = `test.${randomUUID()}`;
      kinds.push(k);
      return k;
    },
    newQueue(opts: Partial<JobQueueOptions> = {}): JobQueue {
      const q = new JobQueue(bed.db.sequelize, pino({ level: 'silent' }), { workers: 1, leaseSeconds: 30, maxAttempts: 3, pollMs: 50, ...defaults, ...opts });
      queues.push(q);
      return q;
    },
  };
  before(async () => {
    bed.db = await openTestDatabase();
    bed.jobs = new JobsRepository(bed.db.sequelize);
  });
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((q) => q.stop()));
  });
  after(async () => {
    if (kinds.length) await bed.db?.sequelize.query(`DELETE FROM jobs WHERE kind IN (:kinds)`, { replacements: { kinds } }).catch(() => undefined);
    await bed.db?.close();
  });
  return bed;
}
