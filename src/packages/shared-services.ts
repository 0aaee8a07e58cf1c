import type { Sequelize } from 'sequelize';
import type { Logger } from 'pino';
import type { DepotConfig } from '../config';
import { JobQueue } from '../jobs/queue';

/** Background work that several modules of one process use: started by the first, stopped by the last. */
export interface Service {
  start(): void;
  stop(): Promise<void>;
}

/** A module's hold on a shared service: its `start` and `stop` count, the service runs while anyone holds it. */
export interface SharedHandle<T extends Service> {
  service: T;
  start(): void;
  stop(): Promise<void>;
}

type Entry<T> = { service: T; running: number };

/**
 * The one `T` of a database (a process may host several Depots in tests: one each), created by the
 * first module that asks. Its start/stop are counted, so modules start and stop in any order.
 */
export function sharedService<T extends Service>(registry: WeakMap<Sequelize, Entry<T>>, sequelize: Sequelize, create: () => T): SharedHandle<T> {
  let entry = registry.get(sequelize);
  if (!entry) {
    entry = { service: create(), running: 0 };
    registry.set(sequelize, entry);
  }
  const e = entry;
  let started = false;
  return {
    service: e.service,
    start() {
      if (started) return;
      started = true;
      if (e.running++ === 0) e.service.start();
    },
    async stop() {
      if (!started) return;
      started = false;
      if (--e.running > 0) return;
      if (registry.get(sequelize) === e) registry.delete(sequelize);
      await e.service.stop();
    },
  };
}

const queues = new WeakMap<Sequelize, Entry<JobQueue>>();

/**
 * The durable job queue of every package type (VNF packages, NSD and PNFD archives): one worker
 * pool per lane for all of them, so `onboarding.workers` and the per-project limits hold over
 * every package type. Each type's pipeline registers its job kinds on it.
 */
export function packageQueue(sequelize: Sequelize, log: Logger, config: Pick<DepotConfig, 'onboarding' | 'fairness'>): SharedHandle<JobQueue> {
  return sharedService(queues, sequelize, () => {
    const fair = config.fairness;
    return new JobQueue(sequelize, log, {
      workers: config.onboarding.workers,
      perProject: fair.onboardingsPerProject,
      leaseSeconds: config.onboarding.jobLeaseSeconds,
      maxAttempts: config.onboarding.maxAttempts,
      // A fetch waits on a remote server: it never holds an onboarding worker. Nor do the checksums
      // of packages' images (one worker: reading images back is background work).
      lanes: { fetch: { workers: fair.fetchWorkers, perProject: fair.fetchesPerProject }, images: { workers: 1 } },
    });
  });
}
