import type { Logger } from 'pino';
import type { DepotConfig } from '../../../config';
import { SubscriptionsRepository } from '../../../db/repositories/subscriptions';
import { badRequest } from '../../../http/problem';
import { subscriptionRoutes, type SubscriptionApi } from '../../../http/sol005-subscriptions';
import type { AttributeDeclaration } from '../../../sol013';
import { API_VERSIONS } from '../sol005';

/** PkgmSubscription as seen by the SOL013 filter of GET /subscriptions. */
export const PKGM_SUBSCRIPTION_ATTRIBUTES: AttributeDeclaration = {
  id: 'string',
  callbackUri: 'string',
  filter: {
    notificationTypes: ['enum'],
    vnfProductsFromProviders: [{ vnfProvider: 'string', vnfProducts: [{ vnfProductName: 'string', versions: [{ vnfSoftwareVersion: 'string', vnfdVersions: ['string'] }] }] }],
    vnfdId: ['string'],
    vnfPkgId: ['string'],
    operationalState: ['enum'],
    usageState: ['enum'],
    vnfmInfo: ['string'],
  },
  _links: { self: { href: 'string' } },
};

/** SOL005 rules JSON Schema states awkwardly; checked first so the 400 says what is wrong. */
export function checkFilterRules(filter: Record<string, unknown> | undefined): void {
  if (!filter || typeof filter !== 'object' || Array.isArray(filter)) return;
  const types = Array.isArray(filter.notificationTypes) ? filter.notificationTypes : undefined;
  for (const k of ['vnfPkgId', 'operationalState', 'usageState']) {
    if (filter[k] !== undefined && !types?.includes('VnfPackageChangeNotification')) {
      throw badRequest(`filter.${k} may only be given when filter.notificationTypes contains VnfPackageChangeNotification (SOL005 PkgmNotificationsFilter)`);
    }
  }
  const alternatives = ['vnfProductsFromProviders', 'vnfdId', 'vnfPkgId'].filter((k) => filter[k] !== undefined);
  if (alternatives.length > 1) throw badRequest(`filter.${alternatives.join(', filter.')} are alternatives (SOL005 PkgmNotificationsFilter): give at most one`);
}


/** SOL005 VNF package management subscriptions (/vnfpkgm/v1 and /vnfpkgm/v2). */
export const PKGM_SUBSCRIPTIONS: SubscriptionApi = {
  api: 'vnfpkgm', versions: API_VERSIONS, attributes: PKGM_SUBSCRIPTION_ATTRIBUTES, requestSchema: 'sol005/PkgmSubscriptionRequest.json', checkFilterRules,
};

export function pkgmSubscriptionRoutes(config: DepotConfig, log: Logger, markerKey: Promise<Buffer>, subscriptions: SubscriptionsRepository) {
  return subscriptionRoutes(PKGM_SUBSCRIPTIONS, subscriptions, config, log, markerKey);
}
