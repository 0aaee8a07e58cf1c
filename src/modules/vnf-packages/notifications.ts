import { randomUUID } from 'node:crypto';
import type { Sequelize, Transaction } from 'sequelize';
import type { Logger } from 'pino';
import type { ArtifactRecord } from '../../artifacts/types';
import { OutboxItem, OutboxRepository } from '../../db/repositories/outbox';
import { SubscriptionsRepository } from '../../db/repositories/subscriptions';
import { WorkerPool } from '../../jobs/pool';
import { FetchUriError, redactUri, requestUri } from '../../net/fetch-uri';
import { API_VERSIONS, ApiMajor } from './sol005';

/*
 * SOL005 notifications (sol005.md §4.8) through a transactional outbox. A package state change
 * calls `recordPackageEvent` inside its own transaction: the matching subscriptions are selected
 * there and one `pkgm_notifications` row per subscription is inserted, so the event exists iff the
 * state change committed. The `NotificationDispatcher` delivers rows in the background.
 */

export type NotificationType = 'VnfPackageOnboardingNotification' | 'VnfPackageChangeNotification';

/** PkgmNotificationsFilter (SOL005 9.5.3.2). */
export interface PkgmNotificationsFilter {
  notificationTypes?: NotificationType[];
  vnfProductsFromProviders?: {
    vnfProvider: string;
    vnfProducts?: { vnfProductName: string; versions?: { vnfSoftwareVersion: string; vnfdVersions?: string[] }[] }[];
  }[];
  vnfdId?: string[];
  vnfPkgId?: string[];
  operationalState?: ('ENABLED' | 'DISABLED')[];
  usageState?: ('IN_USE' | 'NOT_IN_USE')[];
  vnfmInfo?: string[];
}

/** What an event knows about the package (at event time; for PKG_DELETE the last known values). */
export interface PackageEvent {
  notificationType: NotificationType;
  changeType?: 'OP_STATE_CHANGE' | 'PKG_DELETE';
  vnfPkgId: string;
  vnfdId: string;
  vnfProvider?: string;
  vnfProductName?: string;
  vnfSoftwareVersion?: string;
  vnfdVersion?: string;
  vnfmInfo: string[];
  operationalState: 'ENABLED' | 'DISABLED';
  usageState: 'IN_USE' | 'NOT_IN_USE';
  /** who may see the package: its project, public, or the projects it is shared with */
  owner: string;
  visibility: string;
  sharedWith: string[];
}

const any = <T>(list: T[] | undefined, pred: (x: T) => boolean) => !list || list.length === 0 || list.some(pred);

/** AND between the filter's attributes, OR within each list; nested structures at their level. */
export function matchesFilter(f: PkgmNotificationsFilter | null | undefined, e: PackageEvent): boolean {
  if (!f) return true;
  return (
    any(f.notificationTypes, (t) => t === e.notificationType) &&
    any(f.vnfdId, (v) => v === e.vnfdId) &&
    any(f.vnfPkgId, (v) => v === e.vnfPkgId) &&
    any(f.operationalState, (v) => v === e.operationalState) &&
    any(f.usageState, (v) => v === e.usageState) &&
    any(f.vnfmInfo, (v) => e.vnfmInfo.includes(v)) &&
    any(f.vnfProductsFromProviders, (p) =>
      p.vnfProvider === e.vnfProvider &&
      any(p.vnfProducts, (prod) =>
        prod.vnfProductName === e.vnfProductName &&
        any(prod.versions, (v) => v.vnfSoftwareVersion === e.vnfSoftwareVersion && any(v.vnfdVersions, (dv) => dv === e.vnfdVersion)),
      ),
    )
  );
}

/** The event of a package record (fields as stored by onboarding; status = operationalState). */
export function packageEvent(a: Pick<ArtifactRecord, 'id' | 'owner' | 'visibility' | 'shared_with' | 'fields' | 'status'>, notificationType: NotificationType, changeType?: PackageEvent['changeType'], overrides: Partial<PackageEvent> = {}): PackageEvent {
  const f = a.fields as Record<string, any>;
  return {
    notificationType,
    changeType,
    vnfPkgId: a.id,
    vnfdId: f.vnfdId,
    vnfProvider: f.vnfProvider,
    vnfProductName: f.vnfProductName,
    vnfSoftwareVersion: f.vnfSoftwareVersion,
    vnfdVersion: f.vnfdVersion,
    vnfmInfo: Array.isArray(f.vnfmInfo) ? f.vnfmInfo : [],
    operationalState: a.status === 'active' ? 'ENABLED' : 'DISABLED',
    usageState: f.usageState === 'IN_USE' ? 'IN_USE' : 'NOT_IN_USE',
    owner: a.owner,
    visibility: a.visibility,
    sharedWith: a.shared_with ?? [],
    ...overrides,
  };
}

/** The notification body for one subscription (sol005.md §4.8); `_links` relative like VnfPkgInfo's. */
export function notificationBody(e: PackageEvent, id: string, timeStamp: string, subscriptionId: string, major: ApiMajor): Record<string, unknown> {
  const prefix = `/vnfpkgm/v${major}`;
  const body: Record<string, unknown> = { id, notificationType: e.notificationType, subscriptionId, timeStamp, vnfPkgId: e.vnfPkgId, vnfdId: e.vnfdId };
  if (e.notificationType === 'VnfPackageOnboardingNotification') {
    if (major === 2) body.vnfmInfo = e.vnfmInfo;
  } else {
    body.changeType = e.changeType;
    if (e.changeType === 'OP_STATE_CHANGE') body.operationalState = e.operationalState;
  }
  body._links = { vnfPackage: { href: `${prefix}/vnf_packages/${e.vnfPkgId}` }, subscription: { href: `${prefix}/subscriptions/${subscriptionId}` } };
  return body;
}

type Wake = () => void;
const wakers = new Set<Wake>();

/**
 * Writes the notifications of one event into the outbox, inside the caller's transaction (the
 * transaction of the state change). Only subscriptions whose project may see the package hear
 * about it. The dispatchers of this process are woken after the commit.
 */
export async function recordPackageEvent(sequelize: Sequelize, t: Transaction, e: PackageEvent): Promise<number> {
  const subs = await new SubscriptionsRepository(sequelize).listAudience(t, e.vnfPkgId, e);
  const outbox = new OutboxRepository(sequelize);
  const id = randomUUID();
  const timeStamp = new Date().toISOString();
  let n = 0;
  for (const s of subs) {
    if (!matchesFilter(s.filter as PkgmNotificationsFilter | null, e)) continue;
    await outbox.add(t, id, s.id, notificationBody(e, id, timeStamp, s.id, s.api_major as ApiMajor));
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
    const major = (row.api_major === 1 ? 1 : 2) as ApiMajor;
    let error: string | undefined;
    try {
      const basic = row.authentication?.paramsBasic;
      const res = await requestUri(row.callback_uri, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', Version: API_VERSIONS[major] },
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
