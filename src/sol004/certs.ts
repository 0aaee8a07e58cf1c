/**
 * X.509 certificates for SOL004 signature checks: PEM/DER decoding, the operator's trust store, and the
 * few extension fields node:crypto does not expose (keyUsage bits, pathLenConstraint, subject key id).
 * Each certificate is held twice: node:crypto's X509Certificate (signature checks, key details, dates)
 * and pkijs' parsed form (extensions, issuer-and-serial matching); both come from the same DER bytes.
 */
import { X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { Finding } from '../common/findings';

export interface Cert {
  der: Buffer;
  x509: X509Certificate;
  pki: pkijs.Certificate;
  /** One-line subject, e.g. "C=FR, O=Vendor, CN=Signer". */
  subject: string;
}

export interface TrustStore {
  /** Every entry is an anchor: the operator put it there, intermediates included. */
  certs: Cert[];
}

export interface CertSummary {
  subject: string;
  issuer: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

const OID_KEY_USAGE = '2.5.29.15';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_SUBJECT_KEY_ID = '2.5.29.14';

export function oneLineName(name: string): string {
  return name.split('\n').filter((s) => s !== '').join(', ');
}

export function certFromDer(der: Buffer): Cert {
  const x509 = new X509Certificate(der);
  const pki = pkijs.Certificate.fromBER(new Uint8Array(der));
  return { der, x509, pki, subject: oneLineName(x509.subject) };
}

export function summarize(c: Cert): CertSummary {
  return {
    subject: c.subject,
    issuer: oneLineName(c.x509.issuer),
    serial: c.x509.serialNumber,
    notBefore: new Date(c.x509.validFrom),
    notAfter: new Date(c.x509.validTo),
  };
}

export interface PemBlock {
  label: string;
  der: Buffer;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/**
 * PEM blocks of a text, in order. Base64 is checked strictly (Buffer.from would silently skip garbage),
 * so a corrupted block is reported instead of decoding to different bytes.
 */
export function decodePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    if (m[1] !== m[3]) throw new Error(`PEM block BEGIN ${m[1]} ends with END ${m[3]}`);
    const body = m[2].replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) {
      throw new Error(`PEM block ${m[1]} is not valid base64`);
    }
    blocks.push({ label: m[1], der: Buffer.from(body, 'base64') });
  }
  return blocks;
}

export function looksLikePem(data: Buffer | string): boolean {
  const head = typeof data === 'string' ? data.slice(0, 64) : data.subarray(0, 64).toString('latin1');
  return head.trimStart().startsWith('-----BEGIN ');
}

/**
 * Certificates of a `.cert`/`.crt`/`.pem` file: one or more PEM CERTIFICATE blocks, or one DER
 * certificate. Throws with a message naming the problem; callers turn it into a finding.
 */
export function parseCertificates(data: Buffer | string): Cert[] {
  if (looksLikePem(data)) {
    const text = typeof data === 'string' ? data : data.toString('latin1');
    const blocks = decodePem(text).filter((b) => b.label === 'CERTIFICATE' || b.label === 'X509 CERTIFICATE');
    if (blocks.length === 0) throw new Error('no PEM CERTIFICATE block');
    return blocks.map((b, i) => {
      try {
        return certFromDer(b.der);
      } catch (e) {
        throw new Error(`certificate ${i + 1} is not a valid X.509 certificate: ${(e as Error).message}`);
      }
    });
  }
  const der = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  try {
    return [certFromDer(der)];
  } catch (e) {
    throw new Error(`neither PEM nor a DER X.509 certificate: ${(e as Error).message}`);
  }
}

/** A certificate file of the package (`.cert`, ETSI-Entry-Certificate, `Certificate:`), as findings. */
export function readCertificateFile(data: Buffer, file: string): { certs: Cert[]; findings: Finding[] } {
  try {
    return { certs: parseCertificates(data), findings: [] };
  } catch (e) {
    return { certs: [], findings: [{ rule: 'CERT-UNREADABLE', severity: 'error', file, message: `not a PEM or DER X.509 certificate file: ${(e as Error).message}` }] };
  }
}

/**
 * The operator's trust store: a PEM bundle of roots and optionally intermediates. An empty or unreadable
 * store is a configuration error (thrown), never an empty trust that would silently reject everything.
 */
export function parseTrustStore(pem: string): TrustStore {
  if (!looksLikePem(pem) && !/-----BEGIN /.test(pem)) throw new Error('trust store: no PEM CERTIFICATE block');
  try {
    return { certs: parseCertificates(pem.slice(pem.indexOf('-----BEGIN '))) };
  } catch (e) {
    throw new Error(`trust store: ${(e as Error).message}`);
  }
}

function extension(c: Cert, oid: string): pkijs.Extension | undefined {
  return c.pki.extensions?.find((e) => e.extnID === oid);
}

export function basicConstraints(c: Cert): { cA: boolean; pathLen?: number } | undefined {
  const e = extension(c, OID_BASIC_CONSTRAINTS);
  if (!e || !(e.parsedValue instanceof pkijs.BasicConstraints)) return undefined;
  const bc = e.parsedValue;
  const p = bc.pathLenConstraint;
  const pathLen = p === undefined ? undefined : typeof p === 'number' ? p : p.valueBlock.valueDec;
  return { cA: bc.cA === true, pathLen };
}

/** keyUsage bits as flags; undefined when the extension is absent (every usage allowed). */
export interface KeyUsage {
  digitalSignature: boolean;
  contentCommitment: boolean;
  keyCertSign: boolean;
}

export function keyUsage(c: Cert): KeyUsage | undefined {
  const e = extension(c, OID_KEY_USAGE);
  if (!e) return undefined;
  const bits = e.parsedValue instanceof asn1js.BitString ? e.parsedValue.valueBlock.valueHexView : new Uint8Array();
  const first = bits[0] ?? 0;
  return {
    digitalSignature: (first & 0x80) !== 0,
    contentCommitment: (first & 0x40) !== 0,
    keyCertSign: (first & 0x04) !== 0,
  };
}

export function subjectKeyId(c: Cert): Buffer | undefined {
  const e = extension(c, OID_SUBJECT_KEY_ID);
  if (!e || !(e.parsedValue instanceof asn1js.OctetString)) return undefined;
  return Buffer.from(e.parsedValue.valueBlock.valueHexView);
}

/**
 * Extensions this verifier understands or may safely ignore. RFC 5280 §4.2: a certificate with a critical
 * extension the verifier does not process must be rejected (nameConstraints and policy constraints are
 * not processed here, so a CA relying on them is refused rather than half-checked).
 */
const KNOWN_EXTENSIONS = new Set([
  OID_KEY_USAGE,
  OID_BASIC_CONSTRAINTS,
  OID_SUBJECT_KEY_ID,
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.37', // extendedKeyUsage (no EKU is required of a signer)
  '2.5.29.17', // subjectAltName
  '2.5.29.18', // issuerAltName
]);

export function unknownCriticalExtensions(c: Cert): string[] {
  return (c.pki.extensions ?? []).filter((e) => e.critical && !KNOWN_EXTENSIONS.has(e.extnID)).map((e) => e.extnID);
}

export function isSelfSigned(c: Cert): boolean {
  if (c.x509.subject !== c.x509.issuer) return false;
  try {
    return c.x509.verify(c.x509.publicKey);
  } catch {
    return false;
  }
}

/** Certificates as a PEM bundle (a DER certificate re-armoured, 64 columns): SOL005 signingCertificate, a `.cert` file. */
export function certificatesPem(certs: readonly Cert[]): string {
  return certs.map((c) => `-----BEGIN CERTIFICATE-----\n${c.der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`).join('');
}
