import { finished } from 'node:stream/promises';
import type { Finding } from '../common/findings';
import { CsarError } from '../csar';
import type { CsarArchive, CsarEntry, HashAlgorithm, SignedPackage } from '../csar';
import type { Cert, DigestName } from '../sol004';
import { readSmall, type PackageSignature, type SignaturePolicy } from './signatures';

/** The `.cms` and `.cert` of an outer ZIP are small; a hostile package cannot make them big. */
const MAX_CMS_BYTES = 1024 * 1024;
const MAX_CERT_BYTES = 1024 * 1024;

/** An option 2 package's signature; the inner CSAR's own (option 1) signature, when it has one, beside it. */
export interface Option2Signature extends PackageSignature {
  inner?: PackageSignature;
}

/**
 * SOL004 security option 2: the outer ZIP holds exactly `<name>.csar`, `<name>.cms` (a detached CMS
 * over the inner CSAR's exact bytes) and optionally `<name>.cert`. The digest of the inner CSAR is the
 * one computed while the upload streamed (`streamedDigests`: its SHA-256 always, as for every entry);
 * another algorithm, or an outer ZIP whose record did not stream as indexed, costs one more read of
 * the inner CSAR (docs/onboarding.md, the fallbacks). The inner CSAR's own checks are the caller's.
 */
export async function checkOption2Signature(
  signed: SignedPackage,
  outer: CsarArchive,
  streamedDigests: (entry: CsarEntry) => Partial<Record<HashAlgorithm, string>> | undefined,
  policy: SignaturePolicy,
): Promise<{ findings: Finding[]; signature?: Option2Signature }> {
  const file = signed.signature;
  const findings: Finding[] = (signed.extraFiles ?? []).map((extra) => ({
    rule: 'SIG-OPTION2-EXTRA-FILE', severity: 'error', file: extra,
    message: `${extra} is in the outer ZIP of a security option 2 package, which may hold only ${signed.csar}, ${file} and ${file.replace(/\.cms$/i, '.cert')}`,
  }));
  if (!outer.getEntry(file)) {
    findings.push({ rule: 'SIG-OPTION2-CMS-MISSING', severity: 'error', file, message: `the outer ZIP holds ${signed.csar} but not its signature ${file}` });
    return { findings };
  }
  const unsigned: Option2Signature = { option: 'OPTION_2', file, verified: false };
  const cms = await readSmall(outer, file, MAX_CMS_BYTES, (message) => findings.push({ rule: 'SIG-CMS-MALFORMED', severity: 'error', file, message }));
  if (!cms) return { findings, signature: unsigned };
  // Loaded at the first signed package, as for option 1.
  const sol004 = require('../sol004') as typeof import('../sol004');
  const algorithm = sol004.readCmsDigestAlgorithm(cms, file);
  findings.push(...algorithm.findings);
  if (!algorithm.digestAlgorithm) return { findings, signature: unsigned };
  const digest = await innerCsarDigest(outer, signed.csar, algorithm.digestAlgorithm, streamedDigests);
  // An inner CSAR that cannot be read has its finding from the inspection already.
  if (digest === undefined) return { findings, signature: unsigned };

  const extraCertificates: Cert[] = [];
  let certificate: PackageSignature['certificate'];
  if (signed.certificate) {
    const name = signed.certificate;
    const data = await readSmall(outer, name, MAX_CERT_BYTES, (message) => findings.push({ rule: 'CERT-UNREADABLE', severity: 'error', file: name, message }));
    if (data) {
      const r = sol004.readCertificateFile(data, name);
      findings.push(...r.findings);
      extraCertificates.push(...r.certs);
      // The outer `.cert` is the package's certificate file (SOL005 v2 signingCertificate).
      if (r.certs.length) certificate = { file: name, pem: sol004.certificatesPem(r.certs) };
    }
  }
  const v = sol004.verifyDetachedCms({ cms, digests: { [algorithm.digestAlgorithm]: digest }, extraCertificates, trust: policy.trust, file });
  findings.push(...v.findings);
  return { findings, signature: { ...unsigned, verified: v.verified, digestAlgorithm: v.digestAlgorithm, signer: v.signer, chain: v.chain, ...(certificate && { certificate }) } };
}

/** The inner CSAR's digest: as it streamed by during the upload, else read once more from the stored package. */
async function innerCsarDigest(outer: CsarArchive, csar: string, algorithm: DigestName, streamedDigests: (entry: CsarEntry) => Partial<Record<HashAlgorithm, string>> | undefined): Promise<string | undefined> {
  const entry = outer.getEntry(csar);
  const known = entry && streamedDigests(entry)?.[algorithm as HashAlgorithm];
  if (known) return known;
  try {
    // MD5 and SHA-1 are refused by the verifier, which still wants the digest to say so.
    const { stream, digests } = await outer.openDigestingEntry(csar, [algorithm as HashAlgorithm]);
    await finished(stream.resume());
    return digests[algorithm as HashAlgorithm];
  } catch (err) {
    if (!(err instanceof CsarError)) throw err;
    return undefined;
  }
}
