import { SubscriptionsRepository } from '../../db/repositories/subscriptions';
import { JobQueue } from '../../jobs/queue';
import { PackageOnboarding } from '../../packages/onboarding';
import type { ModuleContext, ModuleRuntime } from '../module';
import { vnfPackageRoutes } from './api/routes';
import { vnfPackageDiffRoutes } from './api/diff';
import { subscriptionRoutes } from './api/subscriptions';
import { NotificationDispatcher } from './notifications';
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
  // SOL005 notifications: the outbox is filled by the state changes, delivered in the background.
  const n = config.notifications;
  const dispatcher = new NotificationDispatcher(engine.sequelize, log, {
    workers: n.workers, maxAttempts: n.maxAttempts, retryBaseSeconds: n.retryBaseSeconds, retryMaxSeconds: n.retryMaxSeconds,
    timeoutSeconds: n.timeoutSeconds, leaseSeconds: Math.max(60, n.timeoutSeconds * 3), allow: n.allow,
    perProject: fair.notificationsPerProject,
  });
  let timer: NodeJS.Timeout | undefined;
  return {
    routers: [vnfPackageRoutes(engine, onboarding, secret), vnfPackageDiffRoutes(engine, onboarding), subscriptionRoutes(new SubscriptionsRepository(engine.sequelize), config, log, secret)],
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
