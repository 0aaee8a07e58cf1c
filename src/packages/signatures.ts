import { createHash } from 'node:crypto';
import * as nodePath from 'node:path';
import type { Finding } from '../common/findings';
import { CsarError } from '../csar';
import type { CsarArchive, CsarInspection, PackageSecurityOption } from '../csar';
import type { Cert, CertSummary, TrustStore } from '../sol004';

/** What onboarding learnt about a package's signature: post_upload hooks see it as `results.signature`. */
export interface PackageSignature {
  option: PackageSecurityOption;
  /** The file holding the signature (option 1: the manifest). */
  file: string;
  /** True only with a trust store and no error finding. */
  verified: boolean;
  digestAlgorithm?: string;
  signer?: CertSummary;
  /** Subjects from the signer to the trust anchor (or as far as the path could be built). */
  chain?: string[];
}

export interface SignaturePolicy {
  trust?: TrustStore;
  /** An unsigned package is an error (SIG-REQUIRED). */
  require: boolean;
}

/** The manifest and certificate files are small; these caps keep a hostile package from making them big. */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
const MAX_CERT_BYTES = 1024 * 1024;

/**
 * SOL004 security option 1: the CMS block that closes the manifest is a detached signature over the
 * manifest bytes before it. The manifest's digests (checked by the inspection) then protect every
 * listed file, so only the manifest itself is hashed here, from its raw bytes (CRLF as signed).
 * For option 2 this is the inner CSAR's own signature, if any (the outer `.cms` is
 * checkOption2Signature's); an unsigned package is an error only under `require`.
 */
export async function checkPackageSignature(inspection: CsarInspection, archive: CsarArchive, policy: SignaturePolicy): Promise<{ findings: Finding[]; signature?: PackageSignature }> {
  const manifest = inspection.manifest;
  if (!manifest?.signed) {
    if (!policy.require) return { findings: [] };
    return {
      findings: [{
        rule: 'SIG-REQUIRED', severity: 'error', ...(manifest && { file: manifest.path }),
        message: 'the package is not signed (no CMS block closing the manifest, not a security option 2 package) and signatures.require is on',
      }],
    };
  }
  // A misplaced or unterminated block already has its finding (CSAR-MANIFEST-CMS-MALFORMED).
  if (inspection.findings.some((f) => f.rule === 'CSAR-MANIFEST-CMS-MALFORMED')) return { findings: [] };
  const raw = await readSmall(archive, manifest.path, MAX_MANIFEST_BYTES);
  // Loaded at the first signed package: pkijs and asn1js stay out of a server that never sees one.
  const sol004 = require('../sol004') as typeof import('../sol004');
  const split = raw && sol004.splitSignedManifest(raw);
  if (!split) return { findings: [] };
  const file = manifest.path;
  const findings: Finding[] = [];
  const algorithm = sol004.readCmsDigestAlgorithm(split.cms, file);
  findings.push(...algorithm.findings);
  if (!algorithm.digestAlgorithm) return { findings, signature: { option: 'OPTION_1', file, verified: false } };
  const digest = createHash(algorithm.digestAlgorithm).update(split.signed).digest();

  const extraCertificates: Cert[] = [];
  for (const name of certificateFiles(inspection, archive)) {
    const data = await readSmall(archive, name, MAX_CERT_BYTES, (message) => findings.push({ rule: 'CERT-UNREADABLE', severity: 'error', file: name, message }));
    if (!data) continue;
    const r = sol004.readCertificateFile(data, name);
    findings.push(...r.findings);
    extraCertificates.push(...r.certs);
  }
  const v = sol004.verifyDetachedCms({ cms: split.cms, digests: { [algorithm.digestAlgorithm]: digest }, extraCertificates, trust: policy.trust, file });
  findings.push(...v.findings);
  return { findings, signature: { option: 'OPTION_1', file, verified: v.verified, digestAlgorithm: v.digestAlgorithm, signer: v.signer, chain: v.chain } };
}

/**
 * Where the signer certificate may sit besides the CMS: the file TOSCA.meta `ETSI-Entry-Certificate`
 * names (the older `Entry-Certificate` is read as it), and a root `.cert` named like the manifest or,
 * without TOSCA-Metadata, like the entry definitions. A named file that is absent already has its
 * CSAR-FILE-MISSING finding.
 */
function certificateFiles(inspection: CsarInspection, archive: CsarArchive): string[] {
  const names = new Set<string>();
  const declared = inspection.meta?.keys['ETSI-Entry-Certificate']?.value;
  if (declared) names.add(declared);
  const like = [inspection.manifest?.path, inspection.structure === 'single-yaml' ? inspection.entryDefinitions : undefined];
  for (const p of like) if (p) names.add(`${nodePath.posix.basename(p).replace(/\.[^.]*$/, '')}.cert`);
  return [...names].filter((n) => archive.getEntry(n) !== undefined);
}

/**
 * A small file of the package, or undefined when the archive cannot give it: `failed` hears why
 * (without it, the inspection, which read the file before, has reported it already).
 */
export async function readSmall(archive: CsarArchive, name: string, max: number, failed?: (message: string) => void): Promise<Buffer | undefined> {
  try {
    return await archive.readEntry(name, max);
  } catch (err) {
    if (!(err instanceof CsarError)) throw err;
    failed?.(err.message);
    return undefined;
  }
}
