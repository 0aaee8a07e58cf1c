import { randomUUID } from 'node:crypto';
import { QueryTypes, Sequelize, Transaction } from 'sequelize';
import type { Logger } from 'pino';
import type { ArtifactRecord } from '../../artifacts/types';
import { FetchUriError, redactUri, requestUri } from '../../net/fetch-uri';
import { API_VERSIONS, ApiMajor } from './presenter';

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
  // Who may see the package is read here, in the transaction (callers may hold a record without shares).
  const [seen] = await sequelize.query<{ owner: string; visibility: string; shared: string[] }>(
    `SELECT a.owner, a.visibility, COALESCE((SELECT json_agg(s.project) FROM artifact_shares s WHERE s.artifact_id = a.id), '[]') AS shared FROM artifacts a WHERE a.id = :id`,
    { replacements: { id: e.vnfPkgId }, type: QueryTypes.SELECT, transaction: t },
  );
  if (seen) e = { ...e, owner: seen.owner, visibility: seen.visibility, sharedWith: typeof seen.shared === 'string' ? JSON.parse(seen.shared) : seen.shared };
  const subs = await sequelize.query<{ id: string; api_major: number; filter: PkgmNotificationsFilter | null }>(
    `SELECT id, api_major, filter FROM pkgm_subscriptions
      WHERE all_projects OR project = :owner OR :public OR project IN (:shared) ORDER BY created_at, id`,
    { replacements: { owner: e.owner, public: e.visibility === 'public', shared: e.sharedWith.length ? e.sharedWith : [''] }, type: QueryTypes.SELECT, transaction: t },
  );
  const id = randomUUID();
  const timeStamp = new Date().toISOString();
  let n = 0;
  for (const s of subs) {
    if (!matchesFilter(s.filter, e)) continue;
    const body = notificationBody(e, id, timeStamp, s.id, s.api_major as ApiMajor);
    await sequelize.query(`INSERT INTO pkgm_notifications (notification_id, subscription_id, body) VALUES (:id, :sub, :body)`, {
      replacements: { id, sub: s.id, body: JSON.stringify(body) }, transaction: t,
    });
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
  pollMs?: number;
}

interface Claimed {
  seq: string;
  subscription_id: string;
  body: Record<string, unknown>;
  attempts: number;
  callback_uri: string;
  api_major: number;
  authentication: { paramsBasic?: { userName?: string; password?: string } } | null;
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
  private timer?: NodeJS.Timeout;
  private sweeper?: NodeJS.Timeout;
  private running = 0;
  private stopped = true;
  private readonly idle = new Set<() => void>();
  private readonly wake: Wake = () => this.kick();

  constructor(
    private readonly sequelize: Sequelize,
    private readonly log: Logger,
    private readonly opts: DispatcherOptions,
  ) {}

  start(): void {
    this.stopped = false;
    wakers.add(this.wake);
    this.timer = setInterval(() => void this.pump(), this.opts.pollMs ?? 500);
    this.timer.unref();
    this.sweeper = setInterval(() => void this.sweep(), 10 * 60_000);
    this.sweeper.unref();
    this.kick();
  }

  /** Delivered notifications are kept a week (for inspection), then go; dead letters stay. */
  private async sweep(): Promise<void> {
    await this.sequelize
      .query(`DELETE FROM pkgm_notifications WHERE state = 'delivered' AND delivered_at < now() - interval '7 days'`)
      .catch((err) => this.log.warn({ err }, 'notification outbox sweep failed'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    wakers.delete(this.wake);
    if (this.timer) clearInterval(this.timer);
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.running) await new Promise<void>((resolve) => this.idle.add(resolve));
  }

  kick(): void {
    if (!this.stopped) setImmediate(() => void this.pump());
  }

  private async claim(): Promise<Claimed | undefined> {
    const [row] = await this.sequelize.query<Claimed>(
      `WITH c AS (
         UPDATE pkgm_notifications SET state = 'sending', attempts = attempts + 1, lease_until = now() + (:lease * interval '1 second')
          WHERE seq = (
            SELECT n.seq FROM pkgm_notifications n
             WHERE n.next_attempt_at <= now() AND (n.state = 'pending' OR (n.state = 'sending' AND n.lease_until < now()))
               AND NOT EXISTS (SELECT 1 FROM pkgm_notifications o WHERE o.subscription_id = n.subscription_id AND o.seq < n.seq AND o.state IN ('pending', 'sending'))
             ORDER BY n.next_attempt_at, n.seq FOR UPDATE SKIP LOCKED LIMIT 1)
          RETURNING seq, subscription_id, body, attempts)
       SELECT c.seq, c.subscription_id, c.body, c.attempts, s.callback_uri, s.api_major, s.authentication
         FROM c JOIN pkgm_subscriptions s ON s.id = c.subscription_id`,
      { replacements: { lease: this.opts.leaseSeconds }, type: QueryTypes.SELECT },
    );
    return row;
  }

  private async pump(): Promise<void> {
    while (!this.stopped && this.running < this.opts.workers) {
      let row: Claimed | undefined;
      try {
        row = await this.claim();
      } catch (err) {
        this.log.error({ err }, 'notification claim failed');
        return;
      }
      if (!row) return;
      this.running++;
      void this.deliver(row)
        .catch((err) => this.log.error({ err, seq: row!.seq }, 'notification delivery bookkeeping failed'))
        .finally(() => {
          this.running--;
          if (!this.running) for (const f of this.idle) f();
          if (!this.running) this.idle.clear();
          this.kick();
        });
    }
  }

  private async deliver(row: Claimed): Promise<void> {
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
    if (error === undefined) {
      await this.sequelize.query(`UPDATE pkgm_notifications SET state = 'delivered', delivered_at = now(), lease_until = NULL, last_error = NULL WHERE seq = :seq`, { replacements: { seq: row.seq } });
      return;
    }
    if (row.attempts >= this.opts.maxAttempts) {
      this.log.warn({ seq: row.seq, subscription: row.subscription_id, attempts: row.attempts, error }, 'notification dead-lettered');
      await this.sequelize.query(`UPDATE pkgm_notifications SET state = 'dead', lease_until = NULL, last_error = :error WHERE seq = :seq`, { replacements: { seq: row.seq, error } });
      return;
    }
    const delay = Math.min(this.opts.retryBaseSeconds * 2 ** (row.attempts - 1), this.opts.retryMaxSeconds);
    this.log.info({ seq: row.seq, subscription: row.subscription_id, attempts: row.attempts, retryInSeconds: delay, error }, 'notification delivery failed; will retry');
    await this.sequelize.query(
      `UPDATE pkgm_notifications SET state = 'pending', lease_until = NULL, last_error = :error, next_attempt_at = now() + (:delay * interval '1 second') WHERE seq = :seq`,
      { replacements: { seq: row.seq, error, delay } },
    );
    // wake up for the retry without waiting for a poll far later than it
    setTimeout(() => this.kick(), delay * 1000 + 5).unref();
  }
}
