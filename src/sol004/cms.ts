/**
 * Detached CMS SignedData verification for SOL004 (manifest CMS block, option-2 `.cms`, per-artifact
 * signatures). The signed content is never passed in: the caller streams it through node:crypto with the
 * digest algorithm `readCmsDigestAlgorithm` names and hands over the digest, so a 1 GiB CSAR costs one
 * streamed hash and no memory (pkijs' own verify wants the whole content as one buffer).
 *
 * Findings: one per problem, rule ids SIG-* (the signature container) and CERT-* (the certificates).
 */
import { constants, createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { Finding } from '../common/findings';
import { digestFromOid, isWeakScheme, signatureScheme, WEAK_DIGESTS, type DigestName, type SignatureScheme } from './algorithms';
import { certFromDer, decodePem, looksLikePem, subjectKeyId, summarize, type Cert, type CertSummary, type TrustStore } from './certs';
import { validateChain } from './chain';

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_DATA = '1.2.840.113549.1.7.1';
const OID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';

export type { DigestName } from './algorithms';

export interface VerifyDetachedCmsInput {
  /** The signature: PEM (label CMS or PKCS7) or DER. */
  cms: Buffer;
  /** Digest of the signed bytes, computed by the caller while streaming them; hex string or bytes. */
  digests: Partial<Record<DigestName, Buffer | string>>;
  /** Certificates from outside the CMS (`.cert` file, ETSI-Entry-Certificate): signer and intermediates. */
  extraCertificates?: readonly Cert[];
  /** Without a trust store the signature math is checked and SIG-NOT-VERIFIED (warning) is reported. */
  trust?: TrustStore;
  /** Path of the signature's file in the package; every finding names it. */
  file: string;
  now?: Date;
}

export interface CmsVerification {
  findings: Finding[];
  /** True only with a trust store and no error finding. */
  verified: boolean;
  digestAlgorithm?: DigestName;
  signer?: CertSummary;
  /** Subjects from the signer to the trust anchor (or as far as the path could be built). */
  chain?: string[];
}

interface DecodedCms {
  signedData: pkijs.SignedData;
  signerInfo: pkijs.SignerInfo;
  /** The certificates exactly as received (pkijs would re-encode them). */
  certificateDers: Buffer[];
  digestAlgorithm?: DigestName;
  digestOid: string;
}

class CmsError extends Error {}

function toDer(cms: Buffer): Buffer {
  if (!looksLikePem(cms)) return cms;
  let blocks;
  try {
    blocks = decodePem(cms.toString('latin1'));
  } catch (e) {
    throw new CmsError((e as Error).message);
  }
  const cmsBlocks = blocks.filter((b) => b.label === 'CMS' || b.label === 'PKCS7');
  if (cmsBlocks.length !== 1) throw new CmsError(`expected one PEM block labelled CMS or PKCS7, found ${cmsBlocks.length}`);
  return cmsBlocks[0].der;
}

function decodeCms(cms: Buffer): DecodedCms {
  try {
    return decodeCmsStructure(toDer(cms));
  } catch (e) {
    // asn1js and pkijs throw plain errors on some malformed encodings (e.g. a bad GeneralizedTime).
    throw e instanceof CmsError ? e : new CmsError(`not a CMS SignedData: ${(e as Error).message}`);
  }
}

function decodeCmsStructure(der: Buffer): DecodedCms {
  const asn = asn1js.fromBER(new Uint8Array(der));
  if (asn.offset === -1) throw new CmsError(`not DER: ${asn.result.error}`);
  if (asn.offset !== der.length) throw new CmsError(`${der.length - asn.offset} bytes after the CMS structure`);
  let signedData: pkijs.SignedData;
  let content: asn1js.Sequence;
  try {
    const ci = new pkijs.ContentInfo({ schema: asn.result });
    if (ci.contentType !== OID_SIGNED_DATA) throw new CmsError(`content type ${ci.contentType} is not SignedData`);
    content = ci.content as asn1js.Sequence;
    signedData = new pkijs.SignedData({ schema: content });
  } catch (e) {
    throw e instanceof CmsError ? e : new CmsError(`not a CMS SignedData: ${(e as Error).message}`);
  }
  if (signedData.signerInfos.length !== 1) throw new CmsError(`${signedData.signerInfos.length} signers, exactly one expected`);
  const certsField = content.valueBlock.value.find((b) => b.idBlock.tagClass === 3 && b.idBlock.tagNumber === 0);
  const certificateDers = certsField instanceof asn1js.Constructed
    ? certsField.valueBlock.value
        .filter((b) => b.idBlock.tagClass === 1 && b.idBlock.tagNumber === 16)
        .map((b) => Buffer.from(b.valueBeforeDecodeView))
    : [];
  const signerInfo = signedData.signerInfos[0];
  const digestOid = signerInfo.digestAlgorithm.algorithmId;
  return { signedData, signerInfo, certificateDers, digestOid, digestAlgorithm: digestFromOid(digestOid) };
}

/**
 * The digest algorithm the caller must stream the signed bytes through, read before any content is
 * touched. Undefined with a finding when the CMS cannot be read or names an unknown algorithm.
 */
export function readCmsDigestAlgorithm(cms: Buffer, file: string): { digestAlgorithm?: DigestName; findings: Finding[] } {
  try {
    const d = decodeCms(cms);
    if (!d.digestAlgorithm) return { findings: [unsupportedDigest(d.digestOid, file)] };
    return { digestAlgorithm: d.digestAlgorithm, findings: [] };
  } catch (e) {
    return { findings: [malformed(e, file)] };
  }
}

function malformed(e: unknown, file: string): Finding {
  if (!(e instanceof CmsError)) throw e;
  return { rule: 'SIG-CMS-MALFORMED', severity: 'error', file, message: `the signature is not a readable CMS: ${e.message}` };
}

function unsupportedDigest(oid: string, file: string): Finding {
  return { rule: 'SIG-UNSUPPORTED-ALGORITHM', severity: 'error', file, message: `digest algorithm ${oid} is not supported` };
}

function octets(block: asn1js.BaseBlock): Buffer {
  // A BER-encoded attached content may be a constructed OCTET STRING: its value is the concatenation.
  if (block instanceof asn1js.Constructed || (block.idBlock.isConstructed && 'value' in block.valueBlock)) {
    return Buffer.concat((block.valueBlock as unknown as { value: asn1js.BaseBlock[] }).value.map(octets));
  }
  return Buffer.from((block.valueBlock as unknown as { valueHexView: Uint8Array }).valueHexView);
}

function matchesSid(c: Cert, sid: unknown): boolean {
  if (sid instanceof pkijs.IssuerAndSerialNumber) {
    return c.pki.issuer.isEqual(sid.issuer) && c.pki.serialNumber.isEqual(sid.serialNumber);
  }
  if (sid instanceof asn1js.BaseBlock) {
    const ski = subjectKeyId(c);
    const want = octets(sid);
    return ski !== undefined && ski.equals(want);
  }
  return false;
}

function verifySignature(scheme: SignatureScheme, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  if (scheme.kind === 'ed25519') return cryptoVerify(null, data, key, signature);
  // MD2 is not in OpenSSL 3; such a signature is already refused as weak.
  if (scheme.hash === 'md2') return false;
  const hash = scheme.hash;
  if (scheme.kind === 'rsa-pss') {
    return cryptoVerify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength }, signature);
  }
  if (scheme.kind === 'rsa') return cryptoVerify(hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  return cryptoVerify(hash, data, key, signature);
}

function attributeValues(attrs: pkijs.SignedAndUnsignedAttributes, oid: string): unknown[][] {
  return attrs.attributes.filter((a) => a.type === oid).map((a) => a.values as unknown[]);
}

/**
 * Checks a detached CMS signature against the digest of the bytes it signs, and its signer against the
 * trust store. Every problem is a finding; nothing the CMS or the certificates contain makes it throw.
 * It throws (TypeError) only when `digests` lacks the (not weak) algorithm the CMS names: a caller bug, since the
 * caller asks `readCmsDigestAlgorithm` first (or, when the content streams before the signature, as
 * in an option-2 zip whose `.cms` follows the `.csar`, digests with every algorithm it accepts).
 */
export function verifyDetachedCms(input: VerifyDetachedCmsInput): CmsVerification {
  const { file } = input;
  const now = input.now ?? new Date();
  const findings: Finding[] = [];
  const error = (rule: string, message: string): void => {
    findings.push({ rule, severity: 'error', file, message });
  };
  const done = (extra: Partial<CmsVerification> = {}): CmsVerification => ({
    findings,
    verified: input.trust !== undefined && !findings.some((f) => f.severity === 'error'),
    ...extra,
  });

  let d: DecodedCms;
  try {
    d = decodeCms(input.cms);
  } catch (e) {
    findings.push(malformed(e, file));
    return done();
  }
  const digestAlgorithm = d.digestAlgorithm;
  if (!digestAlgorithm) {
    findings.push(unsupportedDigest(d.digestOid, file));
    return done();
  }
  if (WEAK_DIGESTS.has(digestAlgorithm)) error('SIG-WEAK-ALGORITHM', `the signature uses the ${digestAlgorithm.toUpperCase()} digest`);
  const given = input.digests[digestAlgorithm];
  // A weak algorithm's digest may be left out (a caller need not hash a 1 GiB image with SHA-1 to
  // refuse it): the signature is refused for the algorithm, and the signer and chain still checked.
  if (given === undefined && !WEAK_DIGESTS.has(digestAlgorithm)) throw new TypeError(`verifyDetachedCms: no ${digestAlgorithm} digest of the signed content was given`);
  const contentDigest = given === undefined ? undefined : typeof given === 'string' ? Buffer.from(given, 'hex') : given;

  try {
    return done(checkDecoded(d, input, digestAlgorithm, contentDigest, now, error, findings));
  } catch (e) {
    // A structure pkijs accepted but whose parts do not hold together (e.g. malformed RSA-PSS
    // parameters, an unusable key): reported, never thrown at the caller.
    error('SIG-CMS-MALFORMED', `the CMS could not be processed: ${(e as Error).message}`);
    return done({ digestAlgorithm });
  }
}

function checkDecoded(
  d: DecodedCms,
  input: VerifyDetachedCmsInput,
  digestAlgorithm: DigestName,
  contentDigest: Buffer | undefined,
  now: Date,
  error: (rule: string, message: string) => void,
  findings: Finding[],
): Partial<CmsVerification> {
  const { file } = input;
  const encap = d.signedData.encapContentInfo;
  if (encap.eContent && contentDigest) {
    // pkijs would verify the embedded copy and ignore ours; an attached CMS must embed exactly our bytes.
    const embedded = createHash(digestAlgorithm).update(octets(encap.eContent)).digest();
    if (!embedded.equals(contentDigest)) error('SIG-CMS-ATTACHED-MISMATCH', 'the CMS embeds content that differs from the file it signs');
  }

  const si = d.signerInfo;
  const signedAttrs = si.signedAttrs;
  if (!signedAttrs) {
    error('SIG-SIGNED-ATTRIBUTES', 'the signer has no signed attributes (messageDigest, contentType), which SOL004 signatures carry');
  } else {
    const contentTypes = attributeValues(signedAttrs, OID_CONTENT_TYPE);
    const ct = contentTypes.length === 1 && contentTypes[0].length === 1 ? contentTypes[0][0] : undefined;
    if (!(ct instanceof asn1js.ObjectIdentifier) || ct.getValue() !== encap.eContentType) {
      error('SIG-SIGNED-ATTRIBUTES', 'the contentType signed attribute is missing, repeated or differs from the encapsulated content type');
    }
    if (encap.eContentType !== OID_DATA) error('SIG-SIGNED-ATTRIBUTES', `the signed content type is ${encap.eContentType}, not id-data`);
    const digests = attributeValues(signedAttrs, OID_MESSAGE_DIGEST);
    const md = digests.length === 1 && digests[0].length === 1 ? digests[0][0] : undefined;
    if (!(md instanceof asn1js.OctetString)) {
      error('SIG-SIGNED-ATTRIBUTES', 'the messageDigest signed attribute is missing or repeated');
    } else if (contentDigest && !Buffer.from(md.valueBlock.valueHexView).equals(contentDigest)) {
      error('SIG-DIGEST-MISMATCH', 'the signed content digest differs from the file: the content changed after signing, or the CMS signs other content');
    }
  }

  const pool: Cert[] = [];
  const addCert = (c: Cert): void => {
    if (!pool.some((p) => p.der.equals(c.der))) pool.push(c);
  };
  for (const der of d.certificateDers) {
    try {
      addCert(certFromDer(der));
    } catch (e) {
      error('CERT-UNREADABLE', `a certificate inside the CMS is not valid X.509: ${(e as Error).message}`);
    }
  }
  for (const c of input.extraCertificates ?? []) addCert(c);

  const signer = pool.find((c) => matchesSid(c, si.sid));
  if (!signer) {
    error('SIG-NO-SIGNER-CERT', 'the signer certificate is neither in the CMS nor in the certificate files given');
    return { digestAlgorithm };
  }

  const scheme = signatureScheme(si.signatureAlgorithm, digestAlgorithm);
  if (!scheme) {
    error('SIG-UNSUPPORTED-ALGORITHM', `signature algorithm ${si.signatureAlgorithm.algorithmId} is not supported`);
  } else {
    if (isWeakScheme(scheme) && scheme.hash !== digestAlgorithm) {
      error('SIG-WEAK-ALGORITHM', `the signature algorithm uses ${scheme.hash?.toUpperCase()}`);
    }
    if (signedAttrs) {
      let ok = false;
      try {
        ok = verifySignature(scheme, signer.x509.publicKey, Buffer.from(signedAttrs.encodedValue), Buffer.from(si.signature.valueBlock.valueHexView));
      } catch {
        ok = false;
      }
      if (!ok) error('SIG-SIGNATURE-INVALID', `the signature does not verify with the key of "${signer.subject}"`);
    }
  }

  const chain = validateChain(signer, pool, input.trust, now, file);
  findings.push(...chain.findings);
  if (!input.trust) {
    findings.push({
      rule: 'SIG-NOT-VERIFIED',
      severity: 'warning',
      file,
      message: `no trust store is configured: the signature of "${signer.subject}" was checked but its certificate could not be verified`,
    });
  }
  return { digestAlgorithm, signer: summarize(signer), chain: chain.path.map((c) => c.subject) };
}
