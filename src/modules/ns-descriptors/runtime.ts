import { JobQueue } from '../../jobs/queue';
import { PackageOnboarding } from '../../packages/onboarding';
import type { ModuleContext, ModuleRuntime } from '../module';
import { nsdRoutes } from './api/routes';
import { NsdProfile, PnfdProfile } from './profile';

/**
 * What the ns-descriptors module runs (module.ts loads it in setup()): the SOL005 NSD Management
 * routers, the package pipeline with the NSD and PNFD profiles and their durable jobs, and the
 * recovery of uploads interrupted by a crash.
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
  let timer: NodeJS.Timeout | undefined;
  const recover = (stale: number) => {
    for (const o of [nsd, pnfd]) o.recoverInterruptedUploads(stale).catch((err) => log.error({ err }, 'upload recovery failed'));
  };
  return {
    routers: [nsdRoutes(engine, nsd, pnfd, secret)],
    publicPaths: [/^\/nsd\/(v\d+\/)?api_versions\/?$/],
    start() {
      queue.start();
      recover(db.embedded ? 0 : config.uploadStaleSeconds);
      timer = setInterval(() => recover(config.uploadStaleSeconds), Math.max(config.uploadStaleSeconds * 1000, 1000));
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await queue.stop();
    },
  };
}
