/**
 * Algorithm identifiers and the algorithm policy of SOL004 signature checks: no MD5 or SHA-1 digests or
 * signatures, no RSA key below 2048 bits, no EC key below 256 bits. Old algorithms still verify in every
 * library, so refusing them is a policy of ours, kept in one place.
 */
import type { KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';

export type DigestName = 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

const DIGEST_OIDS: Record<string, DigestName> = {
  '1.2.840.113549.2.5': 'md5',
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

export const WEAK_DIGESTS: ReadonlySet<DigestName> = new Set(['md5', 'sha1']);

export function digestFromOid(oid: string): DigestName | undefined {
  return DIGEST_OIDS[oid];
}

export const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
export const OID_RSA_PSS = '1.2.840.113549.1.1.10';
export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_ED25519 = '1.3.101.112';

/** Signature algorithms whose OID names the hash: RSA PKCS#1 v1.5, ECDSA and DSA. */
const SIGNATURE_HASH_OIDS: Record<string, { kind: 'rsa' | 'ecdsa' | 'dsa'; hash: DigestName | 'md2' }> = {
  '1.2.840.113549.1.1.2': { kind: 'rsa', hash: 'md2' },
  '1.2.840.113549.1.1.4': { kind: 'rsa', hash: 'md5' },
  '1.2.840.113549.1.1.5': { kind: 'rsa', hash: 'sha1' },
  '1.3.14.3.2.29': { kind: 'rsa', hash: 'sha1' },
  '1.2.840.113549.1.1.14': { kind: 'rsa', hash: 'sha224' },
  '1.2.840.113549.1.1.11': { kind: 'rsa', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { kind: 'rsa', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { kind: 'rsa', hash: 'sha512' },
  '1.2.840.10045.4.1': { kind: 'ecdsa', hash: 'sha1' },
  '1.2.840.10045.4.3.1': { kind: 'ecdsa', hash: 'sha224' },
  '1.2.840.10045.4.3.2': { kind: 'ecdsa', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { kind: 'ecdsa', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { kind: 'ecdsa', hash: 'sha512' },
  '1.2.840.10040.4.3': { kind: 'dsa', hash: 'sha1' },
};

export interface SignatureScheme {
  kind: 'rsa' | 'rsa-pss' | 'ecdsa' | 'ed25519' | 'dsa';
  /** undefined for Ed25519, which hashes internally. */
  hash?: DigestName | 'md2';
  saltLength?: number;
}

/**
 * The scheme an AlgorithmIdentifier names. `defaultHash` is the CMS digestAlgorithm, used where the OID
 * names only the key type (rsaEncryption, id-ecPublicKey), as CMS allows.
 */
export function signatureScheme(alg: pkijs.AlgorithmIdentifier, defaultHash?: DigestName): SignatureScheme | undefined {
  const oid = alg.algorithmId;
  const named = SIGNATURE_HASH_OIDS[oid];
  if (named) return { kind: named.kind, hash: named.hash };
  if (oid === OID_RSA_ENCRYPTION) return defaultHash ? { kind: 'rsa', hash: defaultHash } : undefined;
  if (oid === OID_EC_PUBLIC_KEY) return defaultHash ? { kind: 'ecdsa', hash: defaultHash } : undefined;
  if (oid === OID_ED25519) return { kind: 'ed25519' };
  if (oid === OID_RSA_PSS) {
    // RFC 4055 defaults: SHA-1, salt 20, when the parameters leave them out.
    let hash: DigestName | undefined = 'sha1';
    let saltLength = 20;
    if (alg.algorithmParams) {
      const p = new pkijs.RSASSAPSSParams({ schema: alg.algorithmParams });
      hash = digestFromOid(p.hashAlgorithm.algorithmId);
      saltLength = p.saltLength;
    }
    return hash ? { kind: 'rsa-pss', hash, saltLength } : undefined;
  }
  return undefined;
}

export function isWeakScheme(s: SignatureScheme): boolean {
  return s.hash === 'md2' || (s.hash !== undefined && WEAK_DIGESTS.has(s.hash));
}

/** Why a public key is too weak, or undefined when it passes the policy. */
export function weakKeyReason(key: KeyObject): string | undefined {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
    case 'dsa':
      return (d.modulusLength ?? 0) < 2048 ? `${key.asymmetricKeyType.toUpperCase()} key of ${d.modulusLength} bits (at least 2048 required)` : undefined;
    case 'ec': {
      const bits = EC_CURVE_BITS[d.namedCurve ?? ''];
      return bits === undefined || bits < 256 ? `EC key on curve ${d.namedCurve} (at least 256 bits required)` : undefined;
    }
    default:
      return undefined;
  }
}

const EC_CURVE_BITS: Record<string, number> = {
  prime192v1: 192,
  secp192r1: 192,
  secp224r1: 224,
  prime256v1: 256,
  secp256r1: 256,
  secp256k1: 256,
  secp384r1: 384,
  secp521r1: 521,
  brainpoolP256r1: 256,
  brainpoolP384r1: 384,
  brainpoolP512r1: 512,
};
