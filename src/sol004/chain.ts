/**
 * Certification path from a signer certificate to an operator trust anchor, and the checks pkijs'
 * chain engine leaves out or gets wrong for us: pathLenConstraint, signer keyUsage, the algorithm policy.
 * An issuer is accepted only when the certificate's signature verifies with its key, so a rogue root that
 * copies a trusted root's name cannot stand in for it.
 */
import type { Finding } from '../common/findings';
import { isWeakScheme, signatureScheme, weakKeyReason } from './algorithms';
import { basicConstraints, isSelfSigned, keyUsage, unknownCriticalExtensions, type Cert, type TrustStore } from './certs';

/** Longer paths than this are refused: no real VNF vendor PKI is that deep, and it bounds the search. */
const MAX_PATH = 8;

export interface ChainResult {
  /** Signer first; the trust anchor last when `trusted`. */
  path: Cert[];
  trusted: boolean;
  findings: Finding[];
}

function signedBy(child: Cert, issuer: Cert): boolean {
  if (child.x509.issuer !== issuer.x509.subject) return false;
  try {
    return child.x509.verify(issuer.x509.publicKey);
  } catch {
    return false;
  }
}

/**
 * Builds the path and checks every certificate on it. Without a trust store (`trust` undefined) the path
 * is built from `pool` only and no CERT-UNTRUSTED is reported: the caller reports that nothing could be
 * verified, and the other problems still show.
 */
export function validateChain(signer: Cert, pool: readonly Cert[], trust: TrustStore | undefined, now: Date, file: string): ChainResult {
  const findings: Finding[] = [];
  const err = (rule: string, c: Cert, message: string): void => {
    findings.push({ rule, severity: 'error', file, message: `${message} (certificate "${c.subject}")` });
  };
  const anchors = trust?.certs ?? [];
  const path: Cert[] = [signer];
  let trusted = false;

  if (anchors.some((a) => a.der.equals(signer.der))) {
    // The operator pinned this very certificate: it is its own anchor, whatever its CA flags.
    trusted = true;
  } else {
    for (let cur = signer; ; ) {
      const anchor = anchors.find((a) => signedBy(cur, a));
      if (anchor) {
        if (!anchor.der.equals(cur.der)) path.push(anchor);
        trusted = true;
        break;
      }
      if (isSelfSigned(cur)) {
        if (trust) err('CERT-UNTRUSTED', cur, 'the chain ends at a self-signed certificate that is not in the trust store');
        break;
      }
      if (path.length >= MAX_PATH) {
        err('CERT-UNTRUSTED', cur, `no trust anchor within ${MAX_PATH} certificates`);
        break;
      }
      const next = pool.find((c) => !path.includes(c) && signedBy(cur, c));
      if (next) {
        path.push(next);
        cur = next;
        continue;
      }
      const issuer = cur.x509.issuer;
      const sameName = [...anchors, ...pool].some((c) => c.x509.subject === issuer);
      if (sameName) {
        err('CERT-SIGNATURE-INVALID', cur, `the signature does not verify with the key of its issuer "${issuer.split('\n').join(', ')}"`);
      } else if (trust) {
        err('CERT-UNTRUSTED', cur, `its issuer "${issuer.split('\n').join(', ')}" is neither in the trust store nor among the package's certificates`);
      }
      break;
    }
  }

  path.forEach((c, i) => checkCertificate(c, i, path, trusted, now, err));
  return { path, trusted, findings };
}

function checkCertificate(
  c: Cert,
  i: number,
  path: readonly Cert[],
  trusted: boolean,
  now: Date,
  err: (rule: string, c: Cert, message: string) => void,
): void {
  const notBefore = new Date(c.x509.validFrom);
  const notAfter = new Date(c.x509.validTo);
  if (now < notBefore) err('CERT-NOT-YET-VALID', c, `not valid before ${notBefore.toISOString()}`);
  if (now > notAfter) err('CERT-EXPIRED', c, `expired on ${notAfter.toISOString()}`);

  const ku = keyUsage(c);
  const isAnchor = trusted && i === path.length - 1;
  if (i === 0) {
    if (ku && !ku.digitalSignature && !ku.contentCommitment) {
      err('CERT-KEY-USAGE', c, 'the signer certificate has a keyUsage without digitalSignature (or contentCommitment)');
    }
  } else {
    const bc = basicConstraints(c);
    if (!bc?.cA) err('CERT-NOT-CA', c, 'issues certificates but basicConstraints does not say cA');
    if (ku && !ku.keyCertSign) err('CERT-KEY-USAGE', c, 'issues certificates but its keyUsage lacks keyCertSign');
    // CA certificates below this one on the path (the signer is not counted).
    const below = i - 1;
    if (bc?.pathLen !== undefined && below > bc.pathLen) {
      err('CERT-PATHLEN', c, `pathLenConstraint ${bc.pathLen} allows ${bc.pathLen} CA certificate(s) below it, the path has ${below}`);
    }
  }

  for (const oid of unknownCriticalExtensions(c)) err('CERT-CRITICAL-EXTENSION', c, `critical extension ${oid} is not supported`);

  const weakKey = weakKeyReason(c.x509.publicKey);
  if (weakKey) err('CERT-WEAK-KEY', c, weakKey);
  // The anchor's self-signature is not relied upon (trust comes from the store), so its algorithm is not judged.
  if (!(isAnchor && isSelfSigned(c))) {
    const scheme = signatureScheme(c.pki.signatureAlgorithm);
    if (!scheme) err('SIG-UNSUPPORTED-ALGORITHM', c, `certificate signature algorithm ${c.pki.signatureAlgorithm.algorithmId} is not supported`);
    else if (isWeakScheme(scheme)) err('SIG-WEAK-ALGORITHM', c, `the certificate is signed with ${scheme.hash?.toUpperCase()}`);
  }
}
