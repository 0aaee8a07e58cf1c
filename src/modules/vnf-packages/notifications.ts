import type { Sequelize, Transaction } from 'sequelize';
import type { ArtifactRecord } from '../../artifacts/types';
import { recordNotifications } from '../../packages/notifications';
import { API_VERSIONS, ApiMajor } from './sol005';

/*
 * SOL005 VNF package notifications (sol005.md §4.8) through the transactional outbox
 * (src/packages/notifications.ts): a package state change calls `recordPackageEvent` inside its
 * own transaction; this module says which subscriptions' filters match and what they receive.
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

/**
 * Writes the notifications of one event into the outbox, inside the caller's transaction (the
 * transaction of the state change). Only subscriptions whose project may see the package hear
 * about it. The dispatchers of this process are woken after the commit.
 */
export function recordPackageEvent(sequelize: Sequelize, t: Transaction, e: PackageEvent): Promise<number> {
  return recordNotifications(sequelize, t, {
    api: 'vnfpkgm', packageId: e.vnfPkgId, audience: e,
    matches: (filter) => matchesFilter(filter as PkgmNotificationsFilter | null, e),
    body: (id, timeStamp, subscriptionId, major) => notificationBody(e, id, timeStamp, subscriptionId, major as ApiMajor),
    version: (major) => API_VERSIONS[major as ApiMajor],
  });
}

