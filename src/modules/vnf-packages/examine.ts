import { finished } from 'node:stream/promises';
import type { Finding } from '../../common/findings';
import { checkSoftwareImages, crossCheckManifest, CsarError, csarFiles, normaliseAlgorithm } from '../../csar';
import type { CsarArchive, CsarInspection, PackageFiles } from '../../csar';
import type { PackageSignature } from '../../packages/signatures';
import type { VnfdFacts } from '../../tosca';

export interface VnfExamineContext {
  inspection: CsarInspection;
  archive: CsarArchive;
  signature?: PackageSignature;
  /**
   * The post_upload hook chain: the built-in VNFD validation (which leaves its facts in
   * `results.vnfd`), then, in the service, the operator's hooks.
   */
  postUpload(files: PackageFiles, entry: string | undefined, results: Record<string, unknown>): Promise<Finding[]>;
}

/**
 * The VNF profile's checks of a package (VnfPackageProfile.examine; `depot validate` runs the same):
 * the VNFD through the post_upload hooks, image checksums against the archive's digests, the
 * manifest metadata against the VNFD, and the VNF identity VnfPkgInfo needs.
 */
export async function examineVnfPackage({ inspection, archive, signature, postUpload }: VnfExamineContext): Promise<{ findings: Finding[]; facts?: VnfdFacts }> {
  const findings: Finding[] = [];
  const results: Record<string, unknown> = signature ? { signature } : {};
  findings.push(...(await postUpload(csarFiles(archive), inspection.entryDefinitions, results)));
  const facts = results.vnfd as VnfdFacts | undefined;
  if (!facts) return { findings };
  findings.push(...(await imageDigests(facts, inspection, archive)));
  if (inspection.manifest) findings.push(...crossCheckManifest(inspection.manifest, facts));
  findings.push(...checkSoftwareImages(facts.softwareImages, inspection.digests, inspection.entries));
  for (const [k, v] of [['descriptor_id', facts.vnfdId], ['provider', facts.vnfProvider], ['product_name', facts.vnfProductName], ['software_version', facts.vnfSoftwareVersion], ['descriptor_version', facts.vnfdVersion]] as const) {
    if (!v && !findings.some((f) => f.rule.startsWith('SOL001-VNF'))) findings.push({ rule: 'VNFPKG-VNFD-IDENTITY', severity: 'error', message: `the VNF node has no ${k}`, file: inspection.entryDefinitions });
  }
  return { findings, facts };
}

/**
 * sw_image_data checksums in another algorithm than the digests at hand (SHA-256, and what the
 * manifest asked for): the image entry alone is read once more to compute it. This is the one
 * second read of image bytes a streamed onboarding can need (docs/benchmarks.md, Onboarding).
 */
async function imageDigests(facts: VnfdFacts, inspection: CsarInspection, archive: CsarArchive): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const img of facts.softwareImages) {
    const algorithm = img.checksum && normaliseAlgorithm(img.checksum.algorithm);
    const name = img.imagePath?.replace(/^\.\//, '');
    const have = name ? inspection.digests.get(name) : undefined;
    if (!algorithm || !name || !have || have[algorithm] || !archive.getEntry(name)) continue;
    try {
      const { stream, digests } = await archive.openDigestingEntry(name, [algorithm]);
      await finished(stream.resume());
      Object.assign(have, digests);
    } catch (err) {
      if (!(err instanceof CsarError)) throw err;
      findings.push({ rule: err.rule, severity: 'error', message: err.message, file: name });
    }
  }
  return findings;
}
