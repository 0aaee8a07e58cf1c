/**
 * Security option 1: the manifest closes with a PEM `-----BEGIN CMS-----` block, a detached signature over
 * exactly the manifest bytes before that line (its preceding newline included; checked against ONAP's
 * signed packages). The split works on raw bytes so CRLF manifests verify as their signer hashed them.
 * Block placement problems (no END, content after it) are the manifest parser's CSAR-MANIFEST-CMS-MALFORMED.
 */
const BEGIN = '-----BEGIN CMS-----';

export interface SignedManifest {
  /** The bytes the CMS signs. */
  signed: Buffer;
  /** From the BEGIN line to the end of the file: the input of `verifyDetachedCms`. */
  cms: Buffer;
}

export function splitSignedManifest(manifest: Buffer): SignedManifest | undefined {
  for (let start = 0; start < manifest.length; ) {
    const nl = manifest.indexOf(0x0a, start);
    const end = nl < 0 ? manifest.length : nl;
    if (manifest.toString('latin1', start, end).trim() === BEGIN) {
      return { signed: manifest.subarray(0, start), cms: manifest.subarray(start) };
    }
    start = end + 1;
  }
  return undefined;
}
