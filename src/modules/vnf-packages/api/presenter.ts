import type { ArtifactRecord } from '../../../artifacts/types';
import type { ApiMajor } from '../sol005';
import { withoutUndefined } from '../../../http/sol005';

/**
 * VnfPkgInfo from a package record: one store, two presenters. API 1.3.0 (SOL005 v2.6.1, what
 * python-tackerclient and Tacker speak) lacks the 2.x-only members (imageUri, artifactURI,
 * isEncrypted, nonManoArtifactSetId, artifactClassification, signingCertificate) and keeps imagePath/artifactPath.
 * operationalState is the generic status (active = ENABLED), so both APIs always agree.
 */
export function presentVnfPkgInfo(a: ArtifactRecord, major: ApiMajor, resource: 'package' | 'onboarded' = 'package'): Record<string, unknown> {
  const f = a.fields as Record<string, any>;
  const onboarded = f.onboardingState === 'ONBOARDED';
  // SOL003's onboarded_vnf_packages/{vnfdId} links to itself and its own vnfd and package_content.
  const base = resource === 'onboarded' ? `/vnfpkgm/v${major}/onboarded_vnf_packages/${encodeURIComponent(f.vnfdId)}` : `/vnfpkgm/v${major}/vnf_packages/${a.id}`;
  const software = (f.softwareImages ?? []) as Record<string, unknown>[];
  const artifacts = (f.additionalArtifacts ?? []) as Record<string, unknown>[];
  const info: Record<string, unknown> = {
    id: a.id,
    vnfdId: f.vnfdId,
    vnfProvider: f.vnfProvider,
    vnfProductName: f.vnfProductName,
    vnfSoftwareVersion: f.vnfSoftwareVersion,
    vnfdVersion: f.vnfdVersion,
    compatibleSpecificationVersions: onboarded && f.compatibleSpecificationVersions?.length ? f.compatibleSpecificationVersions : undefined,
    checksum: onboarded ? f.checksum : undefined,
    packageSecurityOption: f.packageSecurityOption ?? (major === 2 ? 'OPTION_1' : undefined),
    signingCertificate: major === 2 && onboarded ? f.signingCertificate : undefined,
    softwareImages: onboarded ? (major === 1 ? software.map(({ imageUri, isEncrypted, ...rest }) => (void imageUri, void isEncrypted, rest)) : software) : undefined,
    additionalArtifacts: onboarded && artifacts.length
      ? major === 1
        ? artifacts.filter((x) => x.artifactPath).map(({ artifactURI, isEncrypted, nonManoArtifactSetId, artifactClassification, ...rest }) => (void artifactURI, void isEncrypted, void nonManoArtifactSetId, void artifactClassification, rest))
        : artifacts
      : undefined,
    onboardingState: f.onboardingState,
    operationalState: onboarded && a.status === 'active' ? 'ENABLED' : 'DISABLED',
    usageState: onboarded ? (f.usageState ?? 'NOT_IN_USE') : 'NOT_IN_USE',
    vnfmInfo: major === 2 ? (f.vnfmInfo ?? []) : onboarded ? f.vnfmInfo : undefined,
    userDefinedData: f.userDefinedData ?? undefined,
    onboardingFailureDetails: f.onboardingState === 'ERROR' ? f.onboardingFailureDetails : undefined,
    _links: withoutUndefined({
      self: { href: base },
      vnfd: onboarded ? { href: `${base}/vnfd` } : undefined,
      packageContent: { href: `${base}/package_content` },
    }),
  };
  return withoutUndefined(info);
}
