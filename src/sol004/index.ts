/**
 * SOL004 package signatures: detached CMS verification against the operator's trust store. Pure: no
 * HTTP, no database, no file system; callers stream the signed bytes through node:crypto themselves.
 */
export { readCmsDigestAlgorithm, verifyDetachedCms, type CmsVerification, type VerifyDetachedCmsInput } from './cms';
export { certificatesPem, parseCertificates, parseTrustStore, readCertificateFile, type Cert, type CertSummary, type TrustStore } from './certs';
export type { DigestName } from './algorithms';
export { splitSignedManifest, type SignedManifest } from './manifest';
export { cmsPem, loadSigner, signDetachedCms, type CmsSigner } from './sign';
