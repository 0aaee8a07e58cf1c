import type { ArtifactTypeDef, Hook } from '../../artifacts/types';
import type { Finding } from '../../common/findings';
import type { PackageFiles } from '../../tosca';
import { pipelineFields } from '../package-fields';

// The validator and the notifications are loaded on first use: `depot gc` reads this type's
// definition (its store) and needs neither.
/* eslint-disable @typescript-eslint/no-require-imports */
const tosca = () => require('../../tosca') as typeof import('../../tosca');
const notifications = () => require('./notifications') as typeof import('./notifications');
/* eslint-enable @typescript-eslint/no-require-imports */

export const VNF_PACKAGES = 'vnf_packages';

/**
 * The built-in post_upload hook: the VNFD validator (src/tosca). Its findings join the package's
 * onboarding findings; its facts fill VnfPkgInfo. Operator hooks from the config file run after it.
 */
export const vnfdValidationHook: Hook = async (ctx) => (ctx.files && ctx.entry ? validateVnfdInto(ctx.files, ctx.entry, ctx.results) : []);

/** The built-in hook's work without a service around it (`depot validate` runs it alone): facts go to `results.vnfd`. */
export async function validateVnfdInto(files: PackageFiles, entry: string, results?: Record<string, unknown>): Promise<Finding[]> {
  const { findings, facts } = await tosca().validateVnfd(files, entry);
  if (results) results.vnfd = facts;
  return findings;
}

const system = { system: true, sortable: true } as const;

/**
 * A VNF package (SOL004 CSAR) as a generic artifact. Everything SOL005 shows is derived from these
 * fields; the generic `status` doubles as operationalState once onboarded (active = ENABLED,
 * deactivated = DISABLED), so both APIs always agree.
 *
 * Versions: `name` is "<vnfProvider>/<vnfProductName>", `version` is vnfSoftwareVersion read as
 * SemVer with the descriptor version as build metadata ("1.2.0+vnfd.3.1"); for this type the build
 * part counts (versionBuildSignificant), so two packages that differ only in vnfdVersion coexist and
 * sort by it. Before onboarding a package is named "vnf-package-<id>" at version 0.0.0.
 */
export const vnfPackagesType: ArtifactTypeDef = {
  name: VNF_PACKAGES,
  displayName: 'VNF packages (ETSI SOL004 CSAR)',
  schemaVersion: '1.0',
  defaultStore: 'fs',
  defaultMaxBlobSize: 64 * 2 ** 30,
  versionBuildSignificant: true,
  // A package is activated by onboarding alone: a client's activation would bypass SOL005's state machine.
  activation: { by: 'system', detail: 'a VNF package becomes active by onboarding (PUT .../package_content), not by PATCH' },
  // Created by SOL005 alone, which initialises the state onboarding needs (CREATED, NOT_IN_USE, the
  // placeholder name): a generic create made a package without onboardingState that SOL005 listed
  // and then refused to upload to.
  creation: { by: 'system', detail: 'a VNF package is created through SOL005 (POST /vnfpkgm/v2/vnf_packages or /vnfpkgm/v1/vnf_packages), which sets its onboardingState and usageState; the generic API reads, shares and deletes it' },
  fields: {
    ...pipelineFields({ package: 'The CSAR as uploaded', content: 'The unpacked CSAR: every file individually downloadable' }),
    vnfdId: { kind: 'string', ...system },
    vnfProvider: { kind: 'string', ...system, filterOps: ['eq', 'neq', 'in', 'like'] },
    vnfProductName: { kind: 'string', ...system, filterOps: ['eq', 'neq', 'in', 'like'] },
    vnfSoftwareVersion: { kind: 'string', ...system },
    vnfdVersion: { kind: 'string', ...system },
    vnfmInfo: { kind: 'list', element: 'string', system: true },
    compatibleSpecificationVersions: { kind: 'list', element: 'string', system: true },
    packageSecurityOption: { kind: 'string', ...system, enum: ['OPTION_1', 'OPTION_2'] },
    /** The package's singleton signing certificate file, PEM (SOL005 v2 VnfPkgInfo.signingCertificate). */
    signingCertificate: { kind: 'string', system: true },
    checksum: { kind: 'json', system: true },
    softwareImages: { kind: 'json', system: true },
    additionalArtifacts: { kind: 'json', system: true },
  },
  hooks: { post_upload: [vnfdValidationHook] },
  // SOL005 change notifications also when the generic API (/artifacts/vnf_packages) changes the
  // status (= operationalState) of an onboarded package or deletes one (SOL005's DELETE too).
  inTransaction: {
    async updated(sequelize, t, before, after) {
      if (before.fields.onboardingState === 'ONBOARDED' && (before.status === 'active') !== (after.status === 'active')) {
        const { packageEvent, recordPackageEvent } = notifications();
        await recordPackageEvent(sequelize, t, packageEvent(after, 'VnfPackageChangeNotification', 'OP_STATE_CHANGE'));
      }
    },
    async deleting(sequelize, t, a) {
      if (a.fields.onboardingState !== 'ONBOARDED') return;
      const { packageEvent, recordPackageEvent } = notifications();
      await recordPackageEvent(sequelize, t, packageEvent(a, 'VnfPackageChangeNotification', 'PKG_DELETE'));
    },
  },
};
