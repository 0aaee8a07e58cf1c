import type { ArtifactRecord } from '../../../artifacts/types';
import { withoutUndefined } from '../../../http/sol005';

/**
 * NsdInfo (SOL005 v2.6.1 5.5.2.2) from an NS descriptor record. nsdOperationalState is the generic
 * status (active = ENABLED), so the generic API and SOL005 always agree.
 */
export function presentNsdInfo(a: ArtifactRecord): Record<string, unknown> {
  const f = a.fields as Record<string, any>;
  const onboarded = f.onboardingState === 'ONBOARDED';
  const base = `/nsd/v1/ns_descriptors/${a.id}`;
  return withoutUndefined({
    id: a.id,
    nsdId: f.nsdId,
    nsdName: f.nsdName,
    nsdVersion: f.nsdVersion,
    nsdDesigner: f.nsdDesigner,
    nsdInvariantId: f.nsdInvariantId,
    vnfPkgIds: onboarded ? (f.vnfPkgIds ?? []) : undefined,
    pnfdInfoIds: onboarded ? (f.pnfdInfoIds ?? []) : undefined,
    nestedNsdInfoIds: onboarded ? (f.nestedNsdInfoIds ?? []) : undefined,
    nsdOnboardingState: f.onboardingState,
    onboardingFailureDetails: f.onboardingState === 'ERROR' ? f.onboardingFailureDetails : undefined,
    nsdOperationalState: onboarded && a.status === 'active' ? 'ENABLED' : 'DISABLED',
    nsdUsageState: f.usageState === 'IN_USE' ? 'IN_USE' : 'NOT_IN_USE',
    userDefinedData: f.userDefinedData ?? undefined,
    _links: { self: { href: base }, nsd_content: { href: `${base}/nsd_content` } },
  });
}

/**
 * PnfdInfo (SOL005 v2.6.1 5.5.2.5) from a PNF descriptor record. v2.6.1 spells the version
 * attribute "pnfdersion" (a typo, fixed later): Depot answers `pnfdVersion` (docs/conformance.md).
 */
export function presentPnfdInfo(a: ArtifactRecord): Record<string, unknown> {
  const f = a.fields as Record<string, any>;
  const base = `/nsd/v1/pnf_descriptors/${a.id}`;
  return withoutUndefined({
    id: a.id,
    pnfdId: f.pnfdId,
    pnfdName: f.pnfdName,
    pnfdVersion: f.pnfdVersion,
    pnfdProvider: f.pnfdProvider,
    pnfdInvariantId: f.pnfdInvariantId,
    pnfdOnboardingState: f.onboardingState,
    onboardingFailureDetails: f.onboardingState === 'ERROR' ? f.onboardingFailureDetails : undefined,
    pnfdUsageState: f.usageState === 'IN_USE' ? 'IN_USE' : 'NOT_IN_USE',
    userDefinedData: f.userDefinedData ?? undefined,
    _links: { self: { href: base }, pnfd_content: { href: `${base}/pnfd_content` } },
  });
}
