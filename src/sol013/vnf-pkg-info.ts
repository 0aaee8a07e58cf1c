import type { AttributeDeclaration } from './schema';
import { filterSchemaFromDeclaration } from './schema';

/*
 * VnfPkgInfo (SOL005 9.5.2.5, API 2.x) as seen by filters and attribute selectors.
 * Source: /work/shared/reference/sol005.md §4.1–§4.4, §2.7.
 */

const checksum = { algorithm: 'string', hash: 'string' } as const;
const link = { href: 'string' } as const;

export const VNF_PKG_INFO_ATTRIBUTES: AttributeDeclaration = {
  id: 'string',
  vnfdId: 'string',
  vnfdExtInvariantId: 'string',
  vnfProvider: 'string',
  vnfProductName: 'string',
  vnfSoftwareVersion: 'string',
  vnfdVersion: 'string',
  compatibleSpecificationVersions: ['string'],
  checksum,
  packageSecurityOption: 'enum',
  signingCertificate: 'string',
  softwareImages: [
    {
      id: 'string',
      name: 'string',
      provider: 'string',
      version: 'string',
      checksum,
      isEncrypted: 'boolean',
      containerFormat: 'enum',
      diskFormat: 'enum',
      createdAt: 'date-time',
      minDisk: 'number',
      minRam: 'number',
      size: 'number',
      userMetadata: { '*': 'any' },
      imagePath: 'string',
      imageUri: 'string',
    },
  ],
  additionalArtifacts: [
    {
      artifactPath: 'string',
      artifactURI: 'string',
      checksum,
      isEncrypted: 'boolean',
      nonManoArtifactSetId: 'string',
      artifactClassification: 'enum',
      metadata: { '*': 'any' },
    },
  ],
  onboardingState: 'enum',
  operationalState: 'enum',
  usageState: 'enum',
  vnfmInfo: ['string'],
  userDefinedData: { '*': 'any' },
  onboardingFailureDetails: { type: 'string', title: 'string', status: 'number', detail: 'string', instance: 'string', '*': 'any' },
  _links: { self: link, vnfd: link, packageContent: link },
};

export const VNF_PKG_INFO_FILTER_SCHEMA = filterSchemaFromDeclaration(VNF_PKG_INFO_ATTRIBUTES);

/**
 * SOL005 9.4.2.3.2 default-exclude set (API 2.x). API 1.x (SOL005 v2.4.1) listed only the first
 * four; onboardingFailureDetails was added together with the attribute.
 */
export const VNF_PKG_INFO_DEFAULT_EXCLUDED: readonly string[][] = [
  ['softwareImages'],
  ['additionalArtifacts'],
  ['userDefinedData'],
  ['checksum'],
  ['onboardingFailureDetails'],
];

/**
 * Complex attributes of VnfPkgInfo that selectors can never remove: lower cardinality 1
 * (`_links`, `vnfmInfo`). Simple attributes are never removed anyway.
 */
export const VNF_PKG_INFO_MANDATORY: readonly string[][] = [['_links'], ['vnfmInfo']];
