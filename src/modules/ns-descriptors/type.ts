import type { ArtifactTypeDef, Hook } from '../../artifacts/types';
import { pipelineFields } from '../package-fields';

// The validator and the notifications are loaded on first use: `depot gc` reads these types'
// definitions (their stores) and needs neither.
/* eslint-disable @typescript-eslint/no-require-imports */
const tosca = () => require('../../tosca') as typeof import('../../tosca');
const notifications = () => require('./notifications') as typeof import('./notifications');
/* eslint-enable @typescript-eslint/no-require-imports */

export const NS_DESCRIPTORS = 'ns_descriptors';
export const PNF_DESCRIPTORS = 'pnf_descriptors';

/** The built-in post_upload hook of NSD archives: the NSD validator (src/tosca); its facts fill NsdInfo. */
export const nsdValidationHook: Hook = async (ctx) => {
  if (!ctx.files || !ctx.entry) return [];
  const { findings, facts } = await tosca().validateNsd(ctx.files, ctx.entry);
  if (ctx.results) ctx.results.nsd = facts;
  return findings;
};

/** The built-in post_upload hook of PNFD archives: the PNFD validator (src/tosca); its facts fill PnfdInfo. */
export const pnfdValidationHook: Hook = async (ctx) => {
  if (!ctx.files || !ctx.entry) return [];
  const { findings, facts } = await tosca().validatePnfd(ctx.files, ctx.entry);
  if (ctx.results) ctx.results.pnfd = facts;
  return findings;
};

const system = { system: true, sortable: true } as const;

const blobs = (label: string) => ({
  package: `The ${label} archive as uploaded (a single YAML file is kept as a ZIP holding it)`,
  content: `The unpacked ${label} archive: every file individually downloadable`,
});

/**
 * An NS descriptor (SOL007 NSD archive) as a generic artifact, managed through SOL005 NSD
 * Management (/nsd/v1). The generic `status` doubles as nsdOperationalState once onboarded (active =
 * ENABLED). The VNF packages, PNFDs and nested NSDs it refers to are links (`vnfPackages`,
 * `pnfDescriptors`, `nestedNsds`): none of them can be deleted while the NSD is onboarded.
 *
 * Versions: `name` is "<designer>/<name>", `version` the NSD version read as SemVer with the
 * exact version string as build metadata (src/packages/versions.ts).
 */
export const nsDescriptorsType: ArtifactTypeDef = {
  name: NS_DESCRIPTORS,
  displayName: 'NS descriptors (ETSI SOL007 NSD archives)',
  schemaVersion: '1.0',
  defaultStore: 'fs',
  defaultMaxBlobSize: 1 * 2 ** 30,
  versionBuildSignificant: true,
  activation: { by: 'system', detail: 'an NS descriptor becomes active by onboarding (PUT .../nsd_content), not by PATCH' },
  creation: { by: 'system', detail: 'an NS descriptor is created through SOL005 (POST /nsd/v1/ns_descriptors), which sets its onboarding state; the generic API reads, shares and deletes it' },
  fields: {
    ...pipelineFields(blobs('NSD')),
    nsdId: { kind: 'string', ...system },
    nsdName: { kind: 'string', ...system, filterOps: ['eq', 'neq', 'in', 'like'] },
    nsdVersion: { kind: 'string', ...system },
    nsdDesigner: { kind: 'string', ...system, filterOps: ['eq', 'neq', 'in', 'like'] },
    nsdInvariantId: { kind: 'string', ...system },
    vnfPkgIds: { kind: 'list', element: 'string', system: true },
    pnfdInfoIds: { kind: 'list', element: 'string', system: true },
    nestedNsdInfoIds: { kind: 'list', element: 'string', system: true },
    vnfPackages: { kind: 'list', element: 'link', system: true, description: 'The VNF packages of the VNFDs the NSD refers to' },
    pnfDescriptors: { kind: 'list', element: 'link', system: true, description: 'The PNF descriptors the NSD refers to' },
    nestedNsds: { kind: 'list', element: 'link', system: true, description: 'The nested NS descriptors the NSD refers to' },
  },
  hooks: { post_upload: [nsdValidationHook] },
  inTransaction: {
    async updated(sequelize, t, before, after) {
      if (before.fields.onboardingState === 'ONBOARDED' && (before.status === 'active') !== (after.status === 'active')) {
        await notifications().recordNsdmEvent(sequelize, t, after, 'NsdChangeNotification');
      }
    },
    async deleting(sequelize, t, a) {
      if (a.fields.onboardingState === 'ONBOARDED') await notifications().recordNsdmEvent(sequelize, t, a, 'NsdDeletionNotification');
    },
  },
};

/**
 * A PNF descriptor (PNFD archive) as a generic artifact, managed through SOL005 NSD Management
 * (/nsd/v1/pnf_descriptors). A PNFD has no operational state; it is active once onboarded.
 */
export const pnfDescriptorsType: ArtifactTypeDef = {
  name: PNF_DESCRIPTORS,
  displayName: 'PNF descriptors (ETSI SOL001 PNFD archives)',
  schemaVersion: '1.0',
  defaultStore: 'fs',
  defaultMaxBlobSize: 1 * 2 ** 30,
  versionBuildSignificant: true,
  activation: { by: 'system', detail: 'a PNF descriptor becomes active by onboarding (PUT .../pnfd_content), not by PATCH' },
  creation: { by: 'system', detail: 'a PNF descriptor is created through SOL005 (POST /nsd/v1/pnf_descriptors); the generic API reads, shares and deletes it' },
  fields: {
    ...pipelineFields(blobs('PNFD')),
    pnfdId: { kind: 'string', ...system },
    pnfdName: { kind: 'string', ...system, filterOps: ['eq', 'neq', 'in', 'like'] },
    pnfdVersion: { kind: 'string', ...system },
    pnfdProvider: { kind: 'string', ...system, filterOps: ['eq', 'neq', 'in', 'like'] },
    pnfdInvariantId: { kind: 'string', ...system },
  },
  hooks: { post_upload: [pnfdValidationHook] },
  inTransaction: {
    async deleting(sequelize, t, a) {
      if (a.fields.onboardingState === 'ONBOARDED') await notifications().recordNsdmEvent(sequelize, t, a, 'PnfdDeletionNotification');
    },
  },
};
