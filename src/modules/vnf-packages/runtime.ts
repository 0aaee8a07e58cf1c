import { SubscriptionsRepository } from '../../db/repositories/subscriptions';
import { sharedDispatcher } from '../../packages/notifications';
import { packageQueue } from '../../packages/shared-services';
import { PackageOnboarding } from '../../packages/onboarding';
import type { ModuleContext, ModuleRuntime } from '../module';
import { vnfPackageRoutes } from './api/routes';
import { pkgmSubscriptionRoutes } from './api/subscriptions';
import { vnfPackageDiffRoutes } from './api/diff';
import { registerImageChecksums } from './images';
import { VnfPackageProfile } from './profile';

/**
 * What the vnf-packages module runs (module.ts loads it in setup()): the SOL005 routers, the
 * package pipeline with the VNF profile and its durable jobs, the notification dispatcher and the
 * recovery of uploads interrupted by a crash.
 */
export function vnfPackagesRuntime({ engine, config, log, db }: ModuleContext): ModuleRuntime {
  // One queue and one dispatcher for every package type of the process (src/packages/shared-services.ts).
  const jobs = packageQueue(engine.sequelize, log, config);
  const queue = jobs.service;
  const onboarding = new PackageOnboarding(engine, queue, config, log, new VnfPackageProfile(engine, log, queue));
  onboarding.registerJobs();
  registerImageChecksums(engine, queue, log);
  // Paging markers are signed with the engine's key, kept in the database (every process honours them).
  const secret = engine.markerKey();
  secret.catch((err) => log.error({ err }, 'cannot read the paging-marker key'));
  // SOL005 notifications: the outbox is filled by the state changes, delivered in the background.
  const dispatcher = sharedDispatcher(engine.sequelize, log, config);
  return {
    routers: [vnfPackageRoutes(engine, onboarding, secret), vnfPackageDiffRoutes(engine, onboarding), pkgmSubscriptionRoutes(config, log, secret, new SubscriptionsRepository(engine.sequelize, 'vnfpkgm'))],
    // SOL013: a client learns the served API versions before it has credentials.
    publicPaths: [/^\/vnfpkgm\/(v\d+\/)?api_versions\/?$/],
    start() {
      jobs.start();
      dispatcher.start();
      onboarding.startRecovery(db.embedded);
    },
    async stop() {
      onboarding.stopRecovery();
      await jobs.stop();
      await dispatcher.stop();
    },
  };
}
