import type { Finding } from '../common/findings';
import type { CsarArchive, CsarInspection } from '../csar';
import { checkPackageSignature, type PackageSignature, type SignaturePolicy } from './signatures';

/** A CSAR opened for its checks: the inspection, the archive it reads small files from, what only the stream saw. */
export interface OpenedCsar {
  inspection: CsarInspection;
  archive?: CsarArchive;
  streamFindings: Finding[];
}

export interface ExamineOptions<Facts> {
  signatures: SignaturePolicy;
  /** Prefix of the pipeline's rule ids (VNFPKG). */
  rulePrefix: string;
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
  if (inspection.signedPackage) {
    // Signature verification (SOL004 security option 2) plugs in here.
    findings.push({ rule: `${o.rulePrefix}-OPTION2-UNSUPPORTED`, severity: 'error', message: `security option 2 package (${inspection.signedPackage.csar} + ${inspection.signedPackage.signature}): signature verification is not available yet` });
  } else if (archive && !archive.fatal) {
    const signed = await checkPackageSignature(inspection, archive, o.signatures);
    findings.push(...signed.findings);
    signature = signed.signature;
    if (inspection.entryDefinitions) {
      const r = await o.examine({ inspection, archive, signature });
      findings.push(...r.findings);
      facts = r.facts;
    }
  }
  return { findings, inspection, facts, signature };
}
