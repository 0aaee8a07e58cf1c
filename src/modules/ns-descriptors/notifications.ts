import type { Sequelize, Transaction } from 'sequelize';
import type { ArtifactRecord } from '../../artifacts/types';
import { recordNotifications } from '../../packages/notifications';
import { presentNsdInfo, presentPnfdInfo } from './api/presenter';
import { NSD_API, NSD_API_VERSIONS, type NsdApiMajor } from './sol005';

/*
 * SOL005 NSD management notifications (SOL005 v2.6.1 5.5.2.9–5.5.2.15) through the one outbox
 * (src/packages/notifications.ts): the NSD and PNFD state changes record them in their own
 * transaction; this module says which NsdmSubscription filters match and what is sent.
 */

export type NsdmNotificationType =
  | 'NsdOnboardingNotification' | 'NsdOnboardingFailureNotification' | 'NsdChangeNotification' | 'NsdDeletionNotification'
  | 'PnfdOnboardingNotification' | 'PnfdOnboardingFailureNotification' | 'PnfdDeletionNotification';

/**
 * SOL005 v2.6.1 lists the permitted `notificationTypes` as "NsdOnBoardingNotification",
 * "PnfdOnBoardingNotification" and "PnfdOnBoardingFailureNotification" (so do the TST010 schemas),
 * while the notifications themselves are named with "Onboarding": both spellings are accepted (a
 * subscription shows its filter as sent; duplicates and matching read the notifications' names).
 */
const SPELLINGS: Record<string, NsdmNotificationType> = {
  NsdOnBoardingNotification: 'NsdOnboardingNotification',
  PnfdOnBoardingNotification: 'PnfdOnboardingNotification',
  PnfdOnBoardingFailureNotification: 'PnfdOnboardingFailureNotification',
};

export function normaliseNsdmFilter(filter: Record<string, unknown>): Record<string, unknown> {
  if (!Array.isArray(filter.notificationTypes)) return filter;
  return { ...filter, notificationTypes: [...new Set(filter.notificationTypes.map((t) => SPELLINGS[t as string] ?? t))] };
}

/** The values of an event that NsdmNotificationsFilter attributes match, by filter attribute. */
type Attributes = Record<string, string[]>;

/**
 * AND between the filter's attributes, OR within each list. An attribute the event does not have
 * (an NSD attribute for a PNFD event) does not match: such a filter asks for other events.
 */
export function matchesNsdmFilter(filter: Record<string, unknown> | null, type: NsdmNotificationType, attrs: Attributes): boolean {
  if (!filter) return true;
  for (const [k, wanted] of Object.entries(filter)) {
    if (!Array.isArray(wanted) || wanted.length === 0) continue;
    const asked = k === 'notificationTypes' ? wanted.map((t) => SPELLINGS[t as string] ?? t) : wanted;
    const have = k === 'notificationTypes' ? [type] : attrs[k];
    if (!have || !have.some((v) => asked.includes(v))) return false;
  }
  return true;
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined || v === null ? [] : [String(v)]);

/** The event's values, read from the representation the API shows (NsdInfo / PnfdInfo). */
function attributesOf(info: Record<string, unknown>, nsd: boolean): Attributes {
  if (nsd) {
    return {
      nsdInfoId: list(info.id), nsdId: list(info.nsdId), nsdName: list(info.nsdName), nsdVersion: list(info.nsdVersion), nsdDesigner: list(info.nsdDesigner),
      nsdInvariantId: list(info.nsdInvariantId), vnfPkgIds: list(info.vnfPkgIds), pnfdInfoIds: list(info.pnfdInfoIds), nestedNsdInfoIds: list(info.nestedNsdInfoIds),
      nsdOnboardingState: list(info.nsdOnboardingState), nsdOperationalState: list(info.nsdOperationalState), nsdUsageState: list(info.nsdUsageState),
    };
  }
  return {
    pnfdInfoIds: list(info.id), pnfdId: list(info.pnfdId), pnfdName: list(info.pnfdName), pnfdVersion: list(info.pnfdVersion), pnfdProvider: list(info.pnfdProvider),
    pnfdInvariantId: list(info.pnfdInvariantId), pnfdOnboardingState: list(info.pnfdOnboardingState), pnfdUsageState: list(info.pnfdUsageState),
  };
}

/** The notification for one subscription; `_links` relative like NsdInfo's. */
function notificationBody(type: NsdmNotificationType, info: Record<string, any>, id: string, timeStamp: string, subscriptionId: string, major: number): Record<string, unknown> {
  const nsd = type.startsWith('Nsd');
  const prefix = `/nsd/v${major}`;
  const body: Record<string, unknown> = { id, notificationType: type, subscriptionId, timeStamp };
  if (nsd) {
    body.nsdInfoId = info.id;
    if (info.nsdId !== undefined) body.nsdId = info.nsdId;
    if (type === 'NsdChangeNotification') body.nsdOperationalState = info.nsdOperationalState;
  } else {
    body.pnfdInfoId = info.id;
    if (info.pnfdId !== undefined) body.pnfdId = info.pnfdId;
  }
  if (type.endsWith('FailureNotification')) body.onboardingFailureDetails = info.onboardingFailureDetails;
  body._links = {
    [nsd ? 'nsdInfo' : 'pnfdInfo']: { href: `${prefix}/${nsd ? 'ns_descriptors' : 'pnf_descriptors'}/${info.id}` },
    subscription: { href: `${prefix}/subscriptions/${subscriptionId}` },
  };
  return body;
}

/**
 * Writes the notifications of an NSD or PNFD event into the outbox, inside the transaction of the
 * state change; `a` is the descriptor as the change leaves it (as it was, for a deletion).
 */
export function recordNsdmEvent(sequelize: Sequelize, t: Transaction, a: ArtifactRecord, type: NsdmNotificationType): Promise<number> {
  const nsd = type.startsWith('Nsd');
  const info = nsd ? presentNsdInfo(a) : presentPnfdInfo(a);
  const attrs = attributesOf(info, nsd);
  return recordNotifications(sequelize, t, {
    api: NSD_API, packageId: a.id, audience: { owner: a.owner, visibility: a.visibility, sharedWith: a.shared_with ?? [] },
    matches: (filter) => matchesNsdmFilter(filter as Record<string, unknown> | null, type, attrs),
    body: (id, timeStamp, subscriptionId, major) => notificationBody(type, info, id, timeStamp, subscriptionId, major),
    version: (major) => NSD_API_VERSIONS[major as NsdApiMajor],
  });
}
