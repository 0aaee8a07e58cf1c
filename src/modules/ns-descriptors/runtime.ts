import { SubscriptionsRepository } from '../../db/repositories/subscriptions';
import { JobQueue } from '../../jobs/queue';
import { acquireDispatcher } from '../../packages/notifications';
import { PackageOnboarding } from '../../packages/onboarding';
import type { ModuleContext, ModuleRuntime } from '../module';
import { nsdRoutes } from './api/routes';
import { nsdmSubscriptionRoutes } from './api/subscriptions';
import { NsdProfile, PnfdProfile } from './profile';
import { NSD_API } from './sol005';

/**
 * What the ns-descriptors module runs (module.ts loads it in setup()): the SOL005 NSD Management
 * routers and subscriptions, the package pipeline with the NSD and PNFD profiles and their
 * durable jobs, the shared notification dispatcher and the recovery of interrupted uploads.
 */
export function nsDescriptorsRuntime({ engine, config, log, db }: ModuleContext): ModuleRuntime {
  const fair = config.fairness;
  const queue = new JobQueue(engine.sequelize, log, {
    workers: config.onboarding.workers,
    perProject: fair.onboardingsPerProject,
    leaseSeconds: config.onboarding.jobLeaseSeconds,
    maxAttempts: config.onboarding.maxAttempts,
    lanes: { fetch: { workers: fair.fetchWorkers, perProject: fair.fetchesPerProject } },
  });
  const nsd = new PackageOnboarding(engine, queue, config, log, new NsdProfile(engine, log));
  const pnfd = new PackageOnboarding(engine, queue, config, log, new PnfdProfile(engine, log));
  nsd.registerJobs();
  pnfd.registerJobs();
  const secret = engine.markerKey();
  secret.catch((err) => log.error({ err }, 'cannot read the paging-marker key'));
  // Notifications go through the process's one dispatcher (shared with VNF package management).
  const dispatcher = acquireDispatcher(engine.sequelize, log, config);
  let timer: NodeJS.Timeout | undefined;
  const recover = (stale: number) => {
    for (const o of [nsd, pnfd]) o.recoverInterruptedUploads(stale).catch((err) => log.error({ err }, 'upload recovery failed'));
  };
  return {
    routers: [nsdRoutes(engine, nsd, pnfd, secret), nsdmSubscriptionRoutes(config, log, secret, new SubscriptionsRepository(engine.sequelize, NSD_API))],
    publicPaths: [/^\/nsd\/(v\d+\/)?api_versions\/?$/],
    start() {
      queue.start();
      dispatcher.start();
      recover(db.embedded ? 0 : config.uploadStaleSeconds);
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
