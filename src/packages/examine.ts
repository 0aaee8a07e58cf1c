import type { Finding } from '../common/findings';
import type { CsarArchive, CsarEntry, CsarInspection, HashAlgorithm } from '../csar';
import { checkPackageSignature, type PackageSignature, type SignaturePolicy } from './signatures';
import { checkOption2Signature } from './signatures-option2';

/** A CSAR opened for its checks: the inspection, the archive it reads small files from, what only the stream saw. */
export interface OpenedCsar {
  inspection: CsarInspection;
  archive?: CsarArchive;
  streamFindings: Finding[];
  /** The digests the single pass computed for an entry of the uploaded (outer) ZIP, when it streamed whole. */
  streamedDigests(entry: CsarEntry): Partial<Record<HashAlgorithm, string>> | undefined;
}

export interface ExamineOptions<Facts> {
  signatures: SignaturePolicy;
  /** The type's descriptor checks (PackageProfile.examine without what only the service has). */
  examine(ctx: { inspection: CsarInspection; archive: CsarArchive; signature?: PackageSignature }): Promise<{ findings: Finding[]; facts?: Facts }>;
}

/**
 * Every check of a package that needs nothing but its bytes, in onboarding's order: the archive's
 * findings and what the stream saw, the signature, then the type's descriptor checks. Onboarding
 * (src/packages/onboarding.ts) and `depot validate` (src/cli/validate.ts) both call this, so the
 * command line says exactly what the catalogue would.
 */
export async function examinePackage<Facts>(opened: OpenedCsar, o: ExamineOptions<Facts>): Promise<{ findings: Finding[]; inspection: CsarInspection; facts?: Facts; signature?: PackageSignature }> {
  const { inspection, archive } = opened;
  const findings = [...inspection.findings, ...opened.streamFindings];
  let facts: Facts | undefined;
  let signature: PackageSignature | undefined;
  let option2: Awaited<ReturnType<typeof checkOption2Signature>> | undefined;
  if (inspection.signedPackage && inspection.outer) {
    option2 = await checkOption2Signature(inspection.signedPackage, inspection.outer, (e) => opened.streamedDigests(e), o.signatures);
    findings.push(...option2.findings);
  }
  if (archive && !archive.fatal) {
    // An option 2 package is signed by its `.cms`: its inner CSAR need not be signed as well.
    const policy = option2 ? { ...o.signatures, require: false } : o.signatures;
    const signed = await checkPackageSignature(inspection, archive, policy);
    findings.push(...signed.findings);
    signature = option2?.signature ? { ...option2.signature, ...(signed.signature && { inner: signed.signature }) } : signed.signature;
    if (inspection.entryDefinitions) {
      const r = await o.examine({ inspection, archive, signature });
      findings.push(...r.findings);
      facts = r.facts;
    }
  }
  return { findings, inspection, facts, signature };
}
