import { SubscriptionsRepository } from '../../db/repositories/subscriptions';
import { sharedDispatcher } from '../../packages/notifications';
import { packageQueue } from '../../packages/shared-services';
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
  // The process's one package job queue and notification dispatcher (src/packages/shared-services.ts).
  const jobs = packageQueue(engine.sequelize, log, config);
  const queue = jobs.service;
  const nsd = new PackageOnboarding(engine, queue, config, log, new NsdProfile(engine, log));
  const pnfd = new PackageOnboarding(engine, queue, config, log, new PnfdProfile(engine, log));
  nsd.registerJobs();
  pnfd.registerJobs();
  const secret = engine.markerKey();
  secret.catch((err) => log.error({ err }, 'cannot read the paging-marker key'));
  const dispatcher = sharedDispatcher(engine.sequelize, log, config);
  return {
    routers: [nsdRoutes(engine, nsd, pnfd, secret), nsdmSubscriptionRoutes(config, log, secret, new SubscriptionsRepository(engine.sequelize, NSD_API))],
    publicPaths: [/^\/nsd\/(v\d+\/)?api_versions\/?$/],
    start() {
      jobs.start();
      dispatcher.start();
      nsd.startRecovery(db.embedded);
      pnfd.startRecovery(db.embedded);
    },
    async stop() {
      nsd.stopRecovery();
      pnfd.stopRecovery();
      await jobs.stop();
      await dispatcher.stop();
    },
  };
}
