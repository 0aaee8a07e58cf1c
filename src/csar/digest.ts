import type { ManifestAlgorithm } from './zip';

const HEX_LENGTH: Record<ManifestAlgorithm, number> = { sha224: 56, sha256: 64, sha384: 96, sha512: 128 };

/**
 * SOL004 writes `SHA-256`; Tacker accepts any case (`sha-256`), and hand-written manifests use
 * `SHA256` or `SHA_256`. All of them name the same node crypto algorithm.
 */
export function normaliseAlgorithm(text: string): ManifestAlgorithm | undefined {
  const key = text.trim().toLowerCase().replace(/[-_\s]/g, '');
  return key in HEX_LENGTH ? (key as ManifestAlgorithm) : undefined;
}

export type HashCheck = { ok: true; hash: string } | { ok: false; rule: 'CSAR-HASH-INVALID' | 'CSAR-HASH-MISMATCH'; reason: string };

/**
 * A non-hex value (a `<calculate here>` placeholder) is not a digest at all: CSAR-HASH-INVALID.
 * Hex of the wrong length (Tacker's truncated sample) can never equal the file's digest, so it is
 * reported like any other mismatch, with the length spelled out.
 */
export function checkHashSyntax(algorithm: ManifestAlgorithm, text: string): HashCheck {
  const hash = text.trim().toLowerCase();
  if (!/^[0-9a-f]+$/.test(hash)) return { ok: false, rule: 'CSAR-HASH-INVALID', reason: `${JSON.stringify(text)} is not a hexadecimal digest` };
  if (hash.length !== HEX_LENGTH[algorithm]) {
    return { ok: false, rule: 'CSAR-HASH-MISMATCH', reason: `${hash.length} hex digits given, ${algorithm.toUpperCase()} has ${HEX_LENGTH[algorithm]}` };
  }
  return { ok: true, hash };
}

/** `Source` values with a scheme are external artifacts; they are recorded, never fetched here. */
export function isExternalSource(source: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(source) || /^file:/i.test(source);
}
