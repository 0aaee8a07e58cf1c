import { randomUUID } from 'node:crypto';
import type { Sequelize, Transaction } from 'sequelize';
import type { Logger } from 'pino';
import type { DepotConfig } from '../config';
import { OutboxItem, OutboxRepository } from '../db/repositories/outbox';
import { PackageAudience, SubscriptionsRepository } from '../db/repositories/subscriptions';
import { WorkerPool } from '../jobs/pool';
import { FetchUriError, redactUri, requestUri } from '../net/fetch-uri';
import { sharedService, type SharedHandle } from './shared-services';

/*
 * SOL005 notifications of every API (VNF package management, NSD management) through one
 * transactional outbox. A state change calls `recordNotifications` inside its own transaction: the
 * API's subscriptions that may see the package and whose filter matches are selected there, and
 * one `pkgm_notifications` row per subscription is inserted (with the `Version` it is sent with),
 * so the event exists iff the state change committed. One `NotificationDispatcher` per process
 * delivers every API's rows in the background.
 */

export interface NotificationEvent {
  /** the API whose subscriptions hear about it (`vnfpkgm`, `nsd`) */
  api: string;
  /** the package (artifact) it is about: its project, shares and visibility decide who may hear */
  packageId: string;
  /** who may see the package when its row is gone (a deletion) */
  audience: PackageAudience;
  matches(filter: object | null): boolean;
  /** the body for one subscription, in the data model of its major */
  body(notificationId: string, timeStamp: string, subscriptionId: string, major: number): Record<string, unknown>;
  /** the `Version` a notification to a subscription of this major is sent with */
  version(major: number): string;
}

type Wake = () => void;
const wakers = new Set<Wake>();

/**
 * Writes the notifications of one event into the outbox, inside the caller's transaction (the
 * transaction of the state change). Only subscriptions whose project may see the package hear
 * about it. The dispatchers of this process are woken after the commit.
 */
export async function recordNotifications(sequelize: Sequelize, t: Transaction, e: NotificationEvent): Promise<number> {
  const subs = await new SubscriptionsRepository(sequelize, e.api).listAudience(t, e.packageId, e.audience);
  const outbox = new OutboxRepository(sequelize);
  const id = randomUUID();
  const timeStamp = new Date().toISOString();
  let n = 0;
  for (const s of subs) {
    if (!e.matches(s.filter)) continue;
    await outbox.add(t, id, s.id, e.body(id, timeStamp, s.id, s.api_major), e.version(s.api_major));
    n++;
  }
  if (n) t.afterCommit(() => wakers.forEach((w) => w()));
  return n;
}

export interface DispatcherOptions {
  workers: number;
  maxAttempts: number;
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  timeoutSeconds: number;
  leaseSeconds: number;
  allow: readonly string[];
  /** deliveries to one project's subscribers at once, over every process; unset: no limit */
  perProject?: number;
  pollMs?: number;
}

/**
 * Delivers the outbox: POST {callbackUri} with the notification, `Version`, Basic auth if the
 * subscription has credentials. Any 2xx is success; otherwise the row goes back to `pending` with
 * an exponential backoff, and to `dead` after maxAttempts (kept, with the last error). Only the
 * oldest open row of a subscription is ever claimed, so a subscriber sees its notifications in
 * order. Rows are claimed under a lease: a process that dies mid-delivery leaves a row that is
 * claimed again once the lease runs out (at-least-once delivery; the notification id is stable).
 */
export class NotificationDispatcher {
  private sweeper?: NodeJS.Timeout;
  private readonly outbox: OutboxRepository;
  private readonly pool: WorkerPool<OutboxItem>;
  private readonly wake: Wake = () => this.kick();

  constructor(
    sequelize: Sequelize,
    private readonly log: Logger,
    private readonly opts: DispatcherOptions,
  ) {
    const outbox = (this.outbox = new OutboxRepository(sequelize));
    this.pool = new WorkerPool<OutboxItem>(
      {
        claim: () => outbox.claimNext(opts.leaseSeconds, opts.perProject),
        renew: (row) => outbox.renewLease(row.seq, opts.leaseSeconds),
        run: (row) => this.deliver(row),
        describe: (row) => ({ seq: row.seq, subscription: row.subscription_id }),
      },
      log,
      { name: 'notifications', workers: opts.workers, leaseSeconds: opts.leaseSeconds, pollMs: opts.pollMs ?? 500 },
    );
  }

  start(): void {
    wakers.add(this.wake);
    this.pool.start();
    if (!this.sweeper) {
      this.sweeper = setInterval(() => void this.sweep(), 10 * 60_000);
      this.sweeper.unref();
    }
  }

  /** Delivered notifications are kept a week (for inspection), then go; dead letters stay. */
  private async sweep(): Promise<void> {
    await this.outbox.sweepDelivered(7).catch((err) => this.log.warn({ err }, 'notification outbox sweep failed'));
  }

  /** Takes no new notification and resolves when the deliveries running in this process have ended. */
  async stop(): Promise<void> {
    wakers.delete(this.wake);
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    await this.pool.stop();
  }

  kick(): void {
    this.pool.kick();
  }

  private async deliver(row: OutboxItem): Promise<void> {
    let error: string | undefined;
    try {
      const basic = row.authentication?.paramsBasic;
      const res = await requestUri(row.callback_uri, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...(row.api_version && { Version: row.api_version }) },
        body: JSON.stringify(row.body),
        auth: basic ? { userName: basic.userName, password: basic.password } : undefined,
        allow: this.opts.allow,
        totalTimeoutMs: this.opts.timeoutSeconds * 1000,
        connectTimeoutMs: Math.min(this.opts.timeoutSeconds * 1000, 5000),
      });
      if (res.status < 200 || res.status > 299) error = `${redactUri(row.callback_uri)} answered HTTP ${res.status}`;
    } catch (e) {
      error = e instanceof FetchUriError ? e.message : `delivery failed: ${(e as Error)?.message ?? e}`;
    }
    if (error === undefined) return this.outbox.markDelivered(row.seq);
    if (row.attempts >= this.opts.maxAttempts) {
      this.log.warn({ seq: row.seq, subscription: row.subscription_id, attempts: row.attempts, error }, 'notification dead-lettered');
      return this.outbox.markDead(row.seq, error);
    }
    const delay = Math.min(this.opts.retryBaseSeconds * 2 ** (row.attempts - 1), this.opts.retryMaxSeconds);
    this.log.info({ seq: row.seq, subscription: row.subscription_id, attempts: row.attempts, retryInSeconds: delay, error }, 'notification delivery failed; will retry');
    await this.outbox.retryLater(row.seq, error, delay);
    // wake up for the retry without waiting for a poll far later than it
    setTimeout(() => this.kick(), delay * 1000 + 5).unref();
  }
}

const dispatchers = new WeakMap<Sequelize, { service: NotificationDispatcher; running: number }>();

/**
 * The one dispatcher of a process, shared by the modules that notify: two dispatchers would double
 * the workers (`notifications.workers`) for the same outbox.
 */
export function sharedDispatcher(sequelize: Sequelize, log: Logger, config: Pick<DepotConfig, 'notifications' | 'fairness'>): SharedHandle<NotificationDispatcher> {
  const n = config.notifications;
  return sharedService(dispatchers, sequelize, () => new NotificationDispatcher(sequelize, log, {
    workers: n.workers, maxAttempts: n.maxAttempts, retryBaseSeconds: n.retryBaseSeconds, retryMaxSeconds: n.retryMaxSeconds,
    timeoutSeconds: n.timeoutSeconds, leaseSeconds: Math.max(60, n.timeoutSeconds * 3), allow: n.allow,
    perProject: config.fairness.notificationsPerProject,
  }));
}
