import { createHash } from 'node:crypto';
import * as nodePath from 'node:path';
import { finished } from 'node:stream/promises';
import type { Finding } from '../common/findings';
import { CsarError, isExternalSource } from '../csar';
import type { CsarArchive, CsarInspection, HashAlgorithm, Manifest, PackageSecurityOption } from '../csar';
import type { Cert, CertSummary, CmsVerification, TrustStore } from '../sol004';

/** A per-artifact signature (the manifest's `Signature:` key) and what its verification found. */
export interface ArtifactSignature {
  /** The signed file, its signature file and its `Certificate:` file. */
  artifact: string;
  file: string;
  certificate?: string;
  /** True only with a trust store and no error finding. */
  verified: boolean;
  digestAlgorithm?: string;
  signer?: CertSummary;
  chain?: string[];
}

/** What onboarding learnt about a package's signature: post_upload hooks see it as `results.signature`. */
export interface PackageSignature {
  option: PackageSecurityOption;
  /** The file holding the signature (option 1: the manifest). */
  file: string;
  /** True only with a trust store and no error finding (false for a manifest without a CMS block). */
  verified: boolean;
  digestAlgorithm?: string;
  signer?: CertSummary;
  /** Subjects from the signer to the trust anchor (or as far as the path could be built). */
  chain?: string[];
  /**
   * The package's singleton certificate file (TOSCA.meta ETSI-Entry-Certificate, or a root `.cert`
   * named like the manifest), PEM (a DER file is re-armoured): SOL005 VnfPkgInfo.signingCertificate.
   */
  certificate?: { file: string; pem: string };
  /** Per-artifact signatures, each verified on its own. */
  artifacts?: ArtifactSignature[];
}

export interface SignaturePolicy {
  trust?: TrustStore;
  /** An unsigned package is an error (SIG-REQUIRED). */
  require: boolean;
}

/** The manifest, signature and certificate files are small; these caps keep a hostile package from making them big. */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
const MAX_CERT_BYTES = 1024 * 1024;
const MAX_SIGNATURE_BYTES = 1024 * 1024;

type Sol004 = typeof import('../sol004');
/** Loaded at the first signed package: pkijs and asn1js stay out of a server that never sees one. */
const sol004 = (): Sol004 => require('../sol004') as Sol004;

const HASH_ALGORITHMS: ReadonlySet<string> = new Set<HashAlgorithm>(['sha224', 'sha256', 'sha384', 'sha512']);

/** The manifest's per-artifact signatures on package files (an external artifact's is not checked here). */
function signedArtifacts(manifest: Manifest): { artifact: string; file: string; certificate?: string }[] {
  return manifest.entries
    .filter((e) => e.signature !== undefined && !isExternalSource(e.source))
    .map((e) => ({ artifact: e.source.replace(/^\.\//, ''), file: e.signature as string, certificate: e.certificate }));
}

/**
 * `InspectOptions.neededDigests` for per-artifact signatures: each signature names its digest
 * algorithm, which is added to its artifact's digests in the single hashing pass (SHA-256, what
 * signers use, is computed anyway: then nothing is read again). Unreadable signatures are reported
 * by checkPackageSignature.
 */
export async function artifactSignatureDigests(manifest: Manifest, archive: CsarArchive): Promise<Map<string, HashAlgorithm[]>> {
  const needed = new Map<string, HashAlgorithm[]>();
  for (const s of signedArtifacts(manifest)) {
    if (!archive.getEntry(s.file) || !archive.getEntry(s.artifact)) continue;
    const cms = await readSmall(archive, s.file, MAX_SIGNATURE_BYTES);
    const algorithm = cms && sol004().readCmsDigestAlgorithm(cms, s.file).digestAlgorithm;
    if (algorithm && HASH_ALGORITHMS.has(algorithm)) needed.set(s.artifact, [...(needed.get(s.artifact) ?? []), algorithm as HashAlgorithm]);
  }
  return needed;
}

/**
 * SOL004 security option 1: the CMS block that closes the manifest is a detached signature over the
 * manifest bytes before it. The manifest's digests (checked by the inspection) then protect every
 * listed file, so only the manifest itself is hashed here, from its raw bytes (CRLF as signed).
 * Artifacts the manifest gives a `Signature:` are verified too, over the digests the single pass
 * computed. For option 2 this is the inner CSAR's own signature, if any (the outer `.cms` is
 * checkOption2Signature's); an unsigned package is an error only under `require`.
 */
export async function checkPackageSignature(inspection: CsarInspection, archive: CsarArchive, policy: SignaturePolicy): Promise<{ findings: Finding[]; signature?: PackageSignature }> {
  const manifest = inspection.manifest;
  const findings: Finding[] = [];
  if (!manifest?.signed && policy.require) {
    findings.push({
      rule: 'SIG-REQUIRED', severity: 'error', ...(manifest && { file: manifest.path }),
      message: 'the package is not signed (no CMS block closing the manifest, not a security option 2 package) and signatures.require is on',
    });
  }
  if (!manifest) return { findings };
  const artifacts = signedArtifacts(manifest);
  if (!manifest.signed && !artifacts.length) return { findings };

  const certificate = await packageCertificates(inspection, archive, findings);
  const signature: PackageSignature = { option: 'OPTION_1', file: manifest.path, verified: false, ...(certificate.file && { certificate: { file: certificate.file, pem: certificate.pem! } }) };
  // A misplaced or unterminated block already has its finding (CSAR-MANIFEST-CMS-MALFORMED).
  if (manifest.signed && !inspection.findings.some((f) => f.rule === 'CSAR-MANIFEST-CMS-MALFORMED')) {
    const raw = await readSmall(archive, manifest.path, MAX_MANIFEST_BYTES);
    const split = raw && sol004().splitSignedManifest(raw);
    if (split) {
      const v = verifyCms(split.cms, manifest.path, certificate.certs, policy, findings, (algorithm) => createHash(algorithm).update(split.signed).digest());
      Object.assign(signature, { verified: v.verified, digestAlgorithm: v.digestAlgorithm, signer: v.signer, chain: v.chain });
    }
  }
  if (artifacts.length) signature.artifacts = await checkArtifactSignatures(artifacts, inspection, archive, certificate.certs, policy, findings);
  return { findings, signature };
}

/**
 * Each per-artifact signature over its artifact's bytes, as digested by the single pass (an
 * algorithm the pass did not compute, when the caller did not ask for it through
 * artifactSignatureDigests, is computed here by reading that entry). Certificates: the CMS's, the
 * `Certificate:` file's and the package's singleton certificate file's. Every finding names the
 * artifact, and the signer's subject when one was found.
 */
async function checkArtifactSignatures(
  artifacts: ReturnType<typeof signedArtifacts>,
  inspection: CsarInspection,
  archive: CsarArchive,
  packageCerts: readonly Cert[],
  policy: SignaturePolicy,
  findings: Finding[],
): Promise<ArtifactSignature[]> {
  const out: ArtifactSignature[] = [];
  for (const s of artifacts) {
    const digests = inspection.digests.get(s.artifact);
    // A missing artifact or signature file, or an artifact that did not stream cleanly, has its finding.
    if (!digests || !archive.getEntry(s.file)) continue;
    const cms = await readSmall(archive, s.file, MAX_SIGNATURE_BYTES, (message) => findings.push({ rule: 'SIG-CMS-MALFORMED', severity: 'error', file: s.file, message: `signature of ${s.artifact}: ${message}` }));
    if (!cms) continue;
    const certs = [...packageCerts];
    if (s.certificate && archive.getEntry(s.certificate)) certs.push(...(await certificateFile(archive, s.certificate, findings)));
    const mine: Finding[] = [];
    const algorithm = sol004().readCmsDigestAlgorithm(cms, s.file).digestAlgorithm;
    if (algorithm && HASH_ALGORITHMS.has(algorithm) && !digests[algorithm as HashAlgorithm]) {
      const more = await digestEntry(archive, s.artifact, algorithm as HashAlgorithm, mine);
      if (more) Object.assign(digests, more);
    }
    const v = verifyCms(cms, s.file, certs, policy, mine, () => digests[algorithm as HashAlgorithm]);
    for (const f of mine) {
      const subject = v.signer && !f.message.includes(v.signer.subject) ? ` (signer "${v.signer.subject}")` : '';
      findings.push({ ...f, message: `signature of ${s.artifact}: ${f.message}${subject}` });
    }
    out.push({ artifact: s.artifact, file: s.file, ...(s.certificate && { certificate: s.certificate }), verified: v.verified, digestAlgorithm: v.digestAlgorithm, signer: v.signer, chain: v.chain });
  }
  return out;
}

/**
 * One detached CMS: its digest algorithm is read first, then `digest` gives the signed bytes' digest
 * in it (undefined for a weak algorithm nobody computed: the verifier refuses it for the algorithm).
 */
function verifyCms(cms: Buffer, file: string, extraCertificates: Cert[], policy: SignaturePolicy, findings: Finding[], digest: (algorithm: HashAlgorithm | 'md5' | 'sha1') => Buffer | string | undefined): Pick<CmsVerification, 'verified' | 'digestAlgorithm' | 'signer' | 'chain'> {
  const lib = sol004();
  const first = lib.readCmsDigestAlgorithm(cms, file);
  findings.push(...first.findings);
  if (!first.digestAlgorithm) return { verified: false };
  const d = digest(first.digestAlgorithm as HashAlgorithm);
  const v = lib.verifyDetachedCms({ cms, digests: d === undefined ? {} : { [first.digestAlgorithm]: d }, extraCertificates, trust: policy.trust, file });
  findings.push(...v.findings);
  return v;
}

/** A digest the single pass did not compute: that entry alone is read once more. */
async function digestEntry(archive: CsarArchive, name: string, algorithm: HashAlgorithm, findings: Finding[]): Promise<Partial<Record<HashAlgorithm, string>> | undefined> {
  try {
    const { stream, digests } = await archive.openDigestingEntry(name, [algorithm]);
    await finished(stream.resume());
    return digests;
  } catch (err) {
    if (!(err instanceof CsarError)) throw err;
    findings.push({ rule: err.rule, severity: 'error', message: err.message, file: name });
    return undefined;
  }
}

/**
 * Where the signer certificate may sit besides the CMS: the file TOSCA.meta `ETSI-Entry-Certificate`
 * names (the older `Entry-Certificate` is read as it), and a root `.cert` named like the manifest or,
 * without TOSCA-Metadata, like the entry definitions. A named file that is absent already has its
 * CSAR-FILE-MISSING finding. The first of them is the package's singleton certificate file.
 */
function certificateFileNames(inspection: CsarInspection): string[] {
  const names = new Set<string>();
  const declared = inspection.meta?.keys['ETSI-Entry-Certificate']?.value;
  if (declared) names.add(declared);
  const like = [inspection.manifest?.path, inspection.structure === 'single-yaml' ? inspection.entryDefinitions : undefined];
  for (const p of like) if (p) names.add(`${nodePath.posix.basename(p).replace(/\.[^.]*$/, '')}.cert`);
  return [...names].filter((n) => inspection.entries.some((e) => e.name === n));
}

/**
 * The package's security files, wherever they sit (SOL005 `include_signatures`): its certificate
 * files (as above) and, per artifact, the signature and certificate files the manifest names.
 */
export function securityFiles(inspection: CsarInspection): { certificates: string[]; artifacts: Record<string, string[]> } {
  const present = new Set(inspection.entries.map((e) => e.name));
  const artifacts: Record<string, string[]> = {};
  for (const s of inspection.manifest ? signedArtifacts(inspection.manifest) : []) {
    artifacts[s.artifact] = [s.file, ...(s.certificate ? [s.certificate] : [])].filter((f) => present.has(f));
  }
  for (const e of inspection.manifest?.entries ?? []) {
    const artifact = e.source.replace(/^\.\//, '');
    if (e.signature === undefined && e.certificate !== undefined && present.has(e.certificate)) artifacts[artifact] = [e.certificate];
  }
  return { certificates: certificateFileNames(inspection), artifacts };
}

async function packageCertificates(inspection: CsarInspection, archive: CsarArchive, findings: Finding[]): Promise<{ certs: Cert[]; file?: string; pem?: string }> {
  const out: { certs: Cert[]; file?: string; pem?: string } = { certs: [] };
  for (const name of certificateFileNames(inspection)) {
    const certs = await certificateFile(archive, name, findings);
    if (certs.length && !out.file) {
      out.file = name;
      out.pem = sol004().certificatesPem(certs);
    }
    out.certs.push(...certs);
  }
  return out;
}

async function certificateFile(archive: CsarArchive, name: string, findings: Finding[]): Promise<Cert[]> {
  const data = await readSmall(archive, name, MAX_CERT_BYTES, (message) => findings.push({ rule: 'CERT-UNREADABLE', severity: 'error', file: name, message }));
  if (!data) return [];
  const r = sol004().readCertificateFile(data, name);
  findings.push(...r.findings);
  return r.certs;
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
