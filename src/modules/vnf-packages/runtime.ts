import { SubscriptionsRepository } from '../../db/repositories/subscriptions';
import { JobQueue } from '../../jobs/queue';
import { acquireDispatcher } from '../../packages/notifications';
import { PackageOnboarding } from '../../packages/onboarding';
import type { ModuleContext, ModuleRuntime } from '../module';
import { vnfPackageRoutes } from './api/routes';
import { pkgmSubscriptionRoutes } from './api/subscriptions';
import { VnfPackageProfile } from './profile';

/**
 * What the vnf-packages module runs (module.ts loads it in setup()): the SOL005 routers, the
 * package pipeline with the VNF profile and its durable jobs, the notification dispatcher and the
 * recovery of uploads interrupted by a crash.
 */
export function vnfPackagesRuntime({ engine, config, log, db }: ModuleContext): ModuleRuntime {
  const fair = config.fairness;
  const queue = new JobQueue(engine.sequelize, log, {
    workers: config.onboarding.workers,
    perProject: fair.onboardingsPerProject,
    leaseSeconds: config.onboarding.jobLeaseSeconds,
    maxAttempts: config.onboarding.maxAttempts,
    // A fetch waits on a remote server: it never holds an onboarding worker.
    lanes: { fetch: { workers: fair.fetchWorkers, perProject: fair.fetchesPerProject } },
  });
  const onboarding = new PackageOnboarding(engine, queue, config, log, new VnfPackageProfile(engine, log));
  onboarding.registerJobs();
  // Paging markers are signed with the engine's key, kept in the database (every process honours them).
  const secret = engine.markerKey();
  secret.catch((err) => log.error({ err }, 'cannot read the paging-marker key'));
  // SOL005 notifications: the outbox is filled by the state changes, delivered in the background
  // by the process's one dispatcher (shared with NSD management).
  const dispatcher = acquireDispatcher(engine.sequelize, log, config);
  let timer: NodeJS.Timeout | undefined;
  return {
    routers: [vnfPackageRoutes(engine, onboarding, secret), pkgmSubscriptionRoutes(config, log, secret, new SubscriptionsRepository(engine.sequelize, 'vnfpkgm'))],
    // SOL013: a client learns the served API versions before it has credentials.
    publicPaths: [/^\/vnfpkgm\/(v\d+\/)?api_versions\/?$/],
    start() {
      queue.start();
      dispatcher.start();
      const recover = (stale: number) => onboarding.recoverInterruptedUploads(stale).catch((err) => log.error({ err }, 'upload recovery failed'));
      // Embedded PGlite belongs to this process alone: an UPLOADING package at start is from a dead run.
      void recover(db.embedded ? 0 : config.uploadStaleSeconds);
      timer = setInterval(() => recover(config.uploadStaleSeconds), Math.max(config.uploadStaleSeconds * 1000, 1000));
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await queue.stop();
      await dispatcher.stop();
    },
  };
}
