import type { Logger } from 'pino';
import type { DepotConfig } from '../../../config';
import { SubscriptionsRepository } from '../../../db/repositories/subscriptions';
import { badRequest } from '../../../http/problem';
import { subscriptionRoutes, type SubscriptionApi } from '../../../http/sol005-subscriptions';
import type { AttributeDeclaration } from '../../../sol013';
import { normaliseNsdmFilter } from '../notifications';
import { NSD_API, NSD_API_VERSIONS } from '../sol005';

/** NsdmSubscription (SOL005 v2.6.1 5.5.2.8) as seen by the SOL013 filter of GET /subscriptions. */
export const NSDM_SUBSCRIPTION_ATTRIBUTES: AttributeDeclaration = {
  id: 'string',
  callbackUri: 'string',
  filter: {
    notificationTypes: ['enum'],
    nsdInfoId: ['string'], nsdId: ['string'], nsdName: ['string'], nsdVersion: ['string'], nsdDesigner: ['string'], nsdInvariantId: ['string'],
    vnfPkgIds: ['string'], pnfdInfoIds: ['string'], nestedNsdInfoIds: ['string'],
    nsdOnboardingState: ['enum'], nsdOperationalState: ['enum'], nsdUsageState: ['enum'],
    pnfdId: ['string'], pnfdName: ['string'], pnfdVersion: ['string'], pnfdProvider: ['string'], pnfdInvariantId: ['string'],
    pnfdOnboardingState: ['enum'], pnfdUsageState: ['enum'],
  },
  _links: { self: { href: 'string' } },
};

/** SOL005 5.5.3.2 NOTE: an NSD (a PNFD) is named by its NsdInfo id or by its nsdId, not both. */
function checkFilterRules(filter: Record<string, unknown> | undefined): void {
  if (!filter || typeof filter !== 'object' || Array.isArray(filter)) return;
  for (const pair of [['nsdInfoId', 'nsdId'], ['pnfdInfoIds', 'pnfdId']]) {
    if (pair.every((k) => filter[k] !== undefined)) throw badRequest(`filter.${pair[0]} and filter.${pair[1]} are alternatives (SOL005 NsdmNotificationsFilter): give at most one`);
  }
}

export const NSDM_SUBSCRIPTIONS: SubscriptionApi = {
  api: NSD_API, versions: NSD_API_VERSIONS, attributes: NSDM_SUBSCRIPTION_ATTRIBUTES, requestSchema: 'sol005/NsdmSubscriptionRequest.json',
  checkFilterRules, normaliseFilter: normaliseNsdmFilter,
};

/** SOL005 NSD management subscriptions (/nsd/v1/subscriptions). */
export function nsdmSubscriptionRoutes(config: DepotConfig, log: Logger, markerKey: Promise<Buffer>, subscriptions: SubscriptionsRepository) {
  return subscriptionRoutes(NSDM_SUBSCRIPTIONS, subscriptions, config, log, markerKey);
}
