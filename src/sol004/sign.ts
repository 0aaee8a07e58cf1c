import { createPrivateKey, createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { parseCertificates, type Cert } from './certs';

const OID_DATA = '1.2.840.113549.1.7.1';
const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
const OID_SHA256_RSA = '1.2.840.113549.1.1.11';
const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';

export interface CmsSigner {
  key: KeyObject;
  /** The signer's certificate first, then any intermediates to carry in the CMS. */
  certs: Cert[];
}

/**
 * A signer from a PEM private key and a PEM (or DER) certificate file: the certificate whose public
 * key is the key's goes first, the others (intermediates) follow. Throws with a one-line reason.
 */
export function loadSigner(keyPem: Buffer, certData: Buffer): CmsSigner {
  const key = createPrivateKey(keyPem);
  const type = key.asymmetricKeyType;
  if (type !== 'rsa' && type !== 'ec') throw new Error(`the key is ${type}; SOL004 signatures here use RSA or EC keys`);
  const certs = parseCertificates(certData);
  const publicDer = (k: KeyObject) => k.export({ type: 'spki', format: 'der' }) as Buffer;
  const mine = publicDer(createPublicKey(key));
  const i = certs.findIndex((c) => publicDer(c.x509.publicKey).equals(mine));
  if (i < 0) throw new Error('no certificate in the certificate file is for this key');
  return { key, certs: [certs[i], ...certs.filter((_, j) => j !== i)] };
}

/**
 * A detached CMS SignedData (RFC 5652) over content whose SHA-256 is `digest`: signed attributes
 * content-type and message-digest, SHA-256 with RSA (PKCS #1 v1.5) or ECDSA, the certificates
 * embedded. No signing time: the same input and key give the same bytes (RSA). Returns DER.
 */
export function signDetachedCms(digest: Buffer, signer: CmsSigner): Buffer {
  const cert = signer.certs[0];
  const attributes = [
    new pkijs.Attribute({ type: OID_CONTENT_TYPE, values: [new asn1js.ObjectIdentifier({ value: OID_DATA })] }),
    new pkijs.Attribute({ type: OID_MESSAGE_DIGEST, values: [new asn1js.OctetString({ valueHex: new Uint8Array(digest) })] }),
  ];
  // What is signed is the DER of the attributes as a SET OF (RFC 5652 §5.4), not their [0] form.
  const signedAttrsDer = Buffer.from(new asn1js.Set({ value: attributes.map((a) => a.toSchema()) }).toBER(false));
  const ec = signer.key.asymmetricKeyType === 'ec';
  const signature = cryptoSign('sha256', signedAttrsDer, signer.key);
  const signerInfo = new pkijs.SignerInfo({
    version: 1,
    sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.pki.issuer, serialNumber: cert.pki.serialNumber }),
    digestAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA256, algorithmParams: new asn1js.Null() }),
    signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes }),
    signatureAlgorithm: ec
      ? new pkijs.AlgorithmIdentifier({ algorithmId: OID_ECDSA_SHA256 })
      : new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA256_RSA, algorithmParams: new asn1js.Null() }),
    signature: new asn1js.OctetString({ valueHex: new Uint8Array(signature) }),
  });
  const signedData = new pkijs.SignedData({
    version: 1,
    digestAlgorithms: [new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA256, algorithmParams: new asn1js.Null() })],
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID_DATA }),
    certificates: signer.certs.map((c) => c.pki),
    signerInfos: [signerInfo],
  });
  const info = new pkijs.ContentInfo({ contentType: OID_SIGNED_DATA, content: signedData.toSchema(true) });
  return Buffer.from(info.toSchema().toBER(false));
}

/** DER as a PEM CMS block (what closes a security option 1 manifest). */
export function cmsPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CMS-----\n${b64}-----END CMS-----\n`;
}
