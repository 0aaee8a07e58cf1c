import type { Logger } from 'pino';

/**
 * Where a worker pool takes its work from: a table of durable items (jobs, outbox rows) that any
 * number of processes share. `claim` takes one due item under a lease, atomically (FOR UPDATE SKIP
 * LOCKED), so two processes never hold the same item; an item whose holder died is due again once
 * its lease ran out. `run` does the work and records how it ended (done, retry later, given up):
 * after `run` the item is no longer held. It should not throw; if it does, the pool logs it and
 * the item is claimed again when its lease runs out.
 */
export interface WorkSource<T> {
  claim(): Promise<T | undefined>;
  /** Extends the lease of an item that is still running (called every third of the lease). */
  renew(item: T): Promise<void>;
  run(item: T): Promise<void>;
  /** Identifies an item in the logs. */
  describe(item: T): Record<string, unknown>;
}

export interface WorkerPoolOptions {
  /** in the logs: what the pool serves */
  name: string;
  /** items run at the same time by this process */
  workers: number;
  leaseSeconds: number;
  /** how often the source is polled when nothing woke the pool */
  pollMs: number;
}

/**
 * Runs the items of one source with at most `workers` at a time, renewing each item's lease while
 * it runs. It polls, and `kick()` wakes it at once (after a commit that made work due). `stop()`
 * claims nothing more and resolves when every item this process holds has ended, including one
 * whose claim was in flight when stop() was called.
 */
export class WorkerPool<T> {
  private timer?: NodeJS.Timeout;
  private stopped = true;
  /** claims in flight plus items running: a slot is taken before the claim, so claims never overshoot */
  private busy = 0;
  /** every pump and every run not yet settled: what stop() waits for */
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly source: WorkSource<T>,
    private readonly log: Logger,
    private readonly opts: WorkerPoolOptions,
  ) {}

  /** items claimed or running in this process now */
  get active(): number {
    return this.busy;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.opts.pollMs);
    this.timer.unref();
    this.kick();
  }

  kick(): void {
    if (this.stopped || this.busy >= this.opts.workers) return;
    this.track(new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.pump()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // A settling pump may add the run of the item it just claimed: wait until nothing is left.
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async pump(): Promise<void> {
    while (!this.stopped && this.busy < this.opts.workers) {
      this.busy++;
      let item: T | undefined;
      try {
        item = await this.source.claim();
      } catch (err) {
        this.log.error({ err, pool: this.opts.name }, 'claim failed');
      }
      if (item === undefined) {
        this.busy--;
        return;
      }
      this.track(this.execute(item));
    }
  }

  private async execute(item: T): Promise<void> {
    const renew = setInterval(() => {
      this.source.renew(item).catch((err) => this.log.warn({ err, pool: this.opts.name, ...this.source.describe(item) }, 'lease renewal failed'));
    }, Math.max((this.opts.leaseSeconds * 1000) / 3, 200));
    renew.unref();
    try {
      await this.source.run(item);
    } catch (err) {
      this.log.error({ err, pool: this.opts.name, ...this.source.describe(item) }, 'work item failed; it is due again when its lease runs out');
    } finally {
      clearInterval(renew);
      this.busy--;
      this.kick();
    }
  }
}
