import type { AttributeDeclaration } from './schema';
import { filterSchemaFromDeclaration } from './schema';

/*
 * NsdInfo and PnfdInfo (SOL005 v2.6.1 5.5.2.2 and 5.5.2.5, the `nsd` API 1.x) as seen by filters
 * and attribute selectors.
 */

const link = { href: 'string' } as const;
const problem = { type: 'string', title: 'string', status: 'number', detail: 'string', instance: 'string', '*': 'any' } as const;

export const NSD_INFO_ATTRIBUTES: AttributeDeclaration = {
  id: 'string',
  nsdId: 'string',
  nsdName: 'string',
  nsdVersion: 'string',
  nsdDesigner: 'string',
  nsdInvariantId: 'string',
  vnfPkgIds: ['string'],
  pnfdInfoIds: ['string'],
  nestedNsdInfoIds: ['string'],
  nsdOnboardingState: 'enum',
  onboardingFailureDetails: problem,
  nsdOperationalState: 'enum',
  nsdUsageState: 'enum',
  userDefinedData: { '*': 'any' },
  _links: { self: link, nsd_content: link },
};

export const PNFD_INFO_ATTRIBUTES: AttributeDeclaration = {
  id: 'string',
  pnfdId: 'string',
  pnfdName: 'string',
  pnfdVersion: 'string',
  pnfdProvider: 'string',
  pnfdInvariantId: 'string',
  pnfdOnboardingState: 'enum',
  onboardingFailureDetails: problem,
  pnfdUsageState: 'enum',
  userDefinedData: { '*': 'any' },
  _links: { self: link, pnfd_content: link },
};

export const NSD_INFO_FILTER_SCHEMA = filterSchemaFromDeclaration(NSD_INFO_ATTRIBUTES);
export const PNFD_INFO_FILTER_SCHEMA = filterSchemaFromDeclaration(PNFD_INFO_ATTRIBUTES);

/** SOL005 5.4.2.3.2 / 5.4.5.3.2: the complex attributes left out unless asked for. */
export const NSD_INFO_DEFAULT_EXCLUDED: readonly string[][] = [['userDefinedData'], ['onboardingFailureDetails']];
export const PNFD_INFO_DEFAULT_EXCLUDED: readonly string[][] = [['userDefinedData'], ['onboardingFailureDetails']];
/** Complex attributes of lower cardinality 1, which selectors never remove. */
export const NSD_INFO_MANDATORY: readonly string[][] = [['_links']];
