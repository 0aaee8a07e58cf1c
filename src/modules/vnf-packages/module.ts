import { randomBytes } from 'node:crypto';
import { SettingsRepository } from '../../db/repositories/settings';
import { SubscriptionsRepository } from '../../db/repositories/subscriptions';
import { JobQueue } from '../../jobs/queue';
import { warmUp } from '../../tosca';
import { OnboardingService } from '../../types/vnf-package/onboarding';
import type { DepotModule } from '../module';
import { vnfPackageRoutes } from './api/routes';
import { subscriptionRoutes } from './api/subscriptions';
import { NotificationDispatcher } from './notifications';
import { vnfPackagesType } from './type';

/**
 * VNF packages: the artifact type, the SOL005 routers, the durable onboarding jobs, the
 * notification dispatcher and the recovery of uploads interrupted by a crash.
 */
export const vnfPackagesModule: DepotModule = {
  name: 'vnf-packages',
  types: [vnfPackagesType],
  setup({ engine, config, log, db }) {
    const fair = config.fairness;
    const queue = new JobQueue(engine.sequelize, log, {
      workers: config.onboarding.workers,
      perProject: fair.onboardingsPerProject,
      leaseSeconds: config.onboarding.jobLeaseSeconds,
      maxAttempts: config.onboarding.maxAttempts,
      // A fetch waits on a remote server: it never holds an onboarding worker.
      lanes: { fetch: { workers: fair.fetchWorkers, perProject: fair.fetchesPerProject } },
    });
    const onboarding = new OnboardingService(engine, queue, config, log);
    queue.register('vnf_package.onboard', { run: (job) => onboarding.process(job), onGiveUp: (job, reason) => onboarding.giveUp(job, reason) });
    queue.register('vnf_package.fetch', { run: (job) => onboarding.runFetch(job), onGiveUp: (job, reason) => onboarding.giveUp(job, reason) }, 'fetch');
    // Paging markers are signed with a key kept in the database, so that a marker issued by one
    // Depot process is honoured by every other one (and after a restart).
    const secret = new SettingsRepository(engine.sequelize)
      .getOrInit('sol013.marker_key', () => randomBytes(32).toString('base64'))
      .then((v) => Buffer.from(v, 'base64'));
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
      routers: [vnfPackageRoutes(engine, onboarding, secret), subscriptionRoutes(new SubscriptionsRepository(engine.sequelize), config, log, secret)],
      // SOL013: a client learns the served API versions before it has credentials.
      publicPaths: [/^\/vnfpkgm\/(v\d+\/)?api_versions\/?$/],
      start() {
        queue.start();
        dispatcher.start();
        // The first onboarding should not pay for parsing the TOSCA catalog (docs/onboarding.md).
        setTimeout(() => void warmUp().catch((err) => log.warn({ err }, 'TOSCA validator warm-up failed')), 100).unref();
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
  },
};
