import type { BlobRow } from '../artifacts/engine';
import type { ArtifactRecord } from '../artifacts/types';
import type { Finding } from '../common/findings';
import type { CsarArchive, CsarInspection } from '../csar';

/**
 * What a CSAR-based package type adds to the generic pipeline (src/packages/): its descriptor,
 * validated once per onboarding, and how the descriptor's facts become the artifact's fields.
 * VNF packages are the first profile (src/types/vnf-package/onboarding.ts); NSD and PNFD archives
 * would be the next.
 */
export interface PackageProfile<Facts> {
  /**
   * Validates the descriptor (post_upload hooks included) and checks it against the package (the
   * manifest, image checksums against the digests at hand); `archive` reads the small files.
   */
  examine(ctx: { artifact: ArtifactRecord; inspection: CsarInspection; archive: CsarArchive; dir?: string }): Promise<{ findings: Finding[]; facts?: Facts }>;
  /** The artifact's type fields once onboarded. */
  fields(ctx: { facts: Facts; inspection: CsarInspection; pkg: BlobRow; findings: Finding[] }): Record<string, unknown>;
}
