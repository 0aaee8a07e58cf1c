import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildConfig, ConfigError, loadConfig } from '../../src/config';
import { buildZip, DEFAULT_METADATA, manifestText, sha256 } from '../helpers/csar-builder';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { basePkiOrSkip, issueSignerVariants, type TestPki } from '../sol004/pki';
import { assertError, assertOnboarded, bytes, DEFAULT_META_BLOCK, errorRules, fmt, IMAGE_PATH, imageBytes, META, onboard, packageFiles, problem, unzip, V1, V2 } from './helpers';

/**
 * SOL004 security option 1 at onboarding (src/packages/signatures.ts): the manifest's CMS block is
 * verified against the configured trust store, over HTTP. The PKI is made by openssl at test time.
 */
describe('VNF package signatures (SOL004 security option 1)', function () {
  this.timeout(120_000);
  let pki: TestPki;
  let tmp: string;
  const depots: TestDepot[] = [];

  before(function () {
    pki = basePkiOrSkip(this);
    pki.root('other', 'Unrelated Root');
    pki.issue('otherleaf', 'Signer Under Unrelated Root', 'other', 'leaf');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-sig-'));
  });

  after(async () => {
    for (const d of depots) await d.close();
    pki?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function depot(signatures: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<TestDepot> {
    // One service at a time (each block is done when the next starts one): on one database, services
    // with other signature settings and stores would take each other's onboarding jobs.
    for (const old of depots.splice(0)) await old.close();
    const d = await startTestDepot({ signatures, ...extra });
    depots.push(d);
    return d;
  }

  let signed = 0;
  /** The manifest text of `files` with a detached CMS over it appended (`openssl cms -sign` options in `extra`). */
  function signManifest(files: Record<string, string | Buffer>, signer: string, extra: string[] = []): { text: string; cms: string } {
    const text = `${manifestText(files, { metadata: DEFAULT_META_BLOCK })}\n`;
    const name = `mf-${++signed}.txt`;
    pki.write(name, text);
    return { text, cms: pki.sign(name, signer, extra).toString('latin1') };
  }

  /** A valid VNF package whose manifest is signed by `signer`; `files` adds (or replaces) package files first. */
  async function signedPackage(o: { signer?: string; cmsOptions?: string[]; files?: Record<string, string | Buffer>; tamper?: (manifest: string) => string; tamperCms?: (cms: string) => string } = {}): Promise<Buffer> {
    const { files } = packageFiles({});
    Object.assign(files, o.files ?? {});
    const { text, cms } = signManifest(files, o.signer ?? 'leaf', o.cmsOptions ?? ['-certfile', 'inter.pem']);
    const same = (t: string) => t;
    const manifest = (o.tamper ?? same)(text) + (o.tamperCms ?? same)(cms);
    return buildZip({ ...files, 'manifest.mf': manifest });
  }

  async function onboardingFindings(d: TestDepot, id: string): Promise<any[]> {
    const gen: any = await (await d.request('GET', `/artifacts/vnf_packages/${id}`)).json();
    return gen.onboardingFindings;
  }

  describe('with a trust store', () => {
    let d: TestDepot;
    before(async function () {
      if (!pki) this.skip();
      // A module hook reports what post_upload hooks see of the signature, as a warning finding.
      const hook = path.join(tmp, 'signature-hook.js');
      fs.writeFileSync(hook, `exports.default = async (ctx) => [{ rule: 'TEST-SIGNATURE', severity: 'warning', message: JSON.stringify(ctx.results.signature ?? null) }];\n`);
      d = await depot({ trustStore: pki.path('root.pem') }, { types: { vnf_packages: { hooks: [{ event: 'post_upload', module: hook }] } } });
    });

    it('option 1, signer and intermediate in the CMS → ONBOARDED, OPTION_1, the signer and chain in the hooks\' results', async () => {
      const info = await onboard(d, await signedPackage());
      assertOnboarded(info);
      assert.equal(info.packageSecurityOption, 'OPTION_1');
      const findings = await onboardingFindings(d, info.id);
      assert.ok(!findings.some((f) => f.rule.startsWith('SIG-') || f.rule.startsWith('CERT-')), fmt(findings));
      const seen = JSON.parse(findings.find((f) => f.rule === 'TEST-SIGNATURE').message);
      assert.equal(seen.option, 'OPTION_1');
      assert.equal(seen.file, 'manifest.mf');
      assert.equal(seen.verified, true);
      assert.equal(seen.signer.subject, 'CN=Vendor Signer RSA');
      assert.deepEqual(seen.chain, ['CN=Vendor Signer RSA', 'CN=Depot Test Intermediate', 'CN=Depot Test Root']);
    });

    it('certificates only in the ETSI-Entry-Certificate file (CMS without certificates) → ONBOARDED', async () => {
      const cert = Buffer.concat([pki.read('leaf.pem'), pki.read('inter.pem')]);
      const { entry } = packageFiles({});
      const zip = await signedPackage({
        cmsOptions: ['-nocerts'],
        files: { 'Files/Certificates/signer.cert': cert, 'TOSCA-Metadata/TOSCA.meta': META(entry, 'manifest.mf', 'ETSI-Entry-Certificate: Files/Certificates/signer.cert\n') },
      });
      const info = await onboard(d, zip);
      assertOnboarded(info);
      assert.equal(info.packageSecurityOption, 'OPTION_1');
      const seen = JSON.parse((await onboardingFindings(d, info.id)).find((f) => f.rule === 'TEST-SIGNATURE').message);
      assert.equal(seen.verified, true);
      assert.equal(seen.signer.subject, 'CN=Vendor Signer RSA');
    });

    it('the older Entry-Certificate key is read as ETSI-Entry-Certificate', async () => {
      const { entry } = packageFiles({});
      const zip = await signedPackage({
        cmsOptions: ['-nocerts'],
        files: { 'signer.cert': Buffer.concat([pki.read('leaf.pem'), pki.read('inter.pem')]), 'TOSCA-Metadata/TOSCA.meta': META(entry, 'manifest.mf', 'Entry-Certificate: signer.cert\n') },
      });
      assertOnboarded(await onboard(d, zip));
    });

    it('a root .cert named like the manifest holds the signer certificate → ONBOARDED', async () => {
      const zip = await signedPackage({ cmsOptions: ['-nocerts'], files: { 'manifest.cert': Buffer.concat([pki.read('leaf.pem'), pki.read('inter.pem')]) } });
      assertOnboarded(await onboard(d, zip));
    });

    it('no certificate anywhere → ERROR SIG-NO-SIGNER-CERT', async () => {
      const info = await onboard(d, await signedPackage({ cmsOptions: ['-nocerts'] }));
      assertError(info, 'SIG-NO-SIGNER-CERT');
    });

    it('the manifest changed after signing → ERROR SIG-DIGEST-MISMATCH on the manifest', async () => {
      const zip = await signedPackage({ tamper: (t) => t.replace(DEFAULT_METADATA.vnf_release_date_time, '2030-01-01T00:00:00+00:00') });
      const info = await onboard(d, zip);
      const findings = assertError(info, 'SIG-DIGEST-MISMATCH');
      assert.equal(findings.find((f) => f.rule === 'SIG-DIGEST-MISMATCH').file, 'manifest.mf');
      assert.deepEqual(errorRules(info), ['SIG-DIGEST-MISMATCH']);
    });

    it('garbage in the CMS block → ERROR SIG-CMS-MALFORMED on the manifest, nothing thrown', async () => {
      const info = await onboard(d, await signedPackage({ tamperCms: (cms) => cms.replace(/\n([A-Za-z0-9+/]{8})/, '\n!!!!$1') }));
      const findings = assertError(info, 'SIG-CMS-MALFORMED');
      assert.equal(findings.find((f) => f.rule === 'SIG-CMS-MALFORMED').file, 'manifest.mf');
    });

    it('a signer under a root the operator does not trust → ERROR CERT-UNTRUSTED', async () => {
      const info = await onboard(d, await signedPackage({ signer: 'otherleaf', cmsOptions: ['-certfile', 'other.pem'] }));
      const findings = assertError(info, 'CERT-UNTRUSTED');
      assert.ok(findings.some((f) => f.rule === 'CERT-UNTRUSTED' && f.file === 'manifest.mf'), fmt(findings));
    });

    it('an unsigned package onboards when signatures are not required', async () => {
      const { files } = packageFiles({});
      const info = await onboard(d, await buildZip({ ...files, 'manifest.mf': manifestText(files, { metadata: DEFAULT_META_BLOCK }) }));
      assertOnboarded(info);
      const findings = await onboardingFindings(d, info.id);
      assert.equal(JSON.parse(findings.find((f) => f.rule === 'TEST-SIGNATURE').message), null);
    });
  });

  describe('without a trust store', () => {
    let d: TestDepot;
    before(async function () {
      if (!pki) this.skip();
      d = await depot({});
    });

    it('a valid signature → ONBOARDED with the SIG-NOT-VERIFIED warning in onboardingFindings', async () => {
      const info = await onboard(d, await signedPackage());
      assertOnboarded(info);
      assert.equal(info.packageSecurityOption, 'OPTION_1');
      const findings = await onboardingFindings(d, info.id);
      assert.ok(findings.some((f) => f.rule === 'SIG-NOT-VERIFIED' && f.severity === 'warning' && f.file === 'manifest.mf'), fmt(findings));
    });

    it('a manifest changed after signing is still an error', async () => {
      const zip = await signedPackage({ tamper: (t) => t.replace(DEFAULT_METADATA.vnf_release_date_time, '2030-01-01T00:00:00+00:00') });
      assertError(await onboard(d, zip), 'SIG-DIGEST-MISMATCH');
    });
  });

  describe('signatures.require: true', () => {
    let d: TestDepot;
    before(async function () {
      if (!pki) this.skip();
      d = await depot({ trustStore: pki.path('root.pem'), require: true });
    });

    it('an unsigned package → ERROR SIG-REQUIRED', async () => {
      const { files } = packageFiles({});
      const info = await onboard(d, await buildZip({ ...files, 'manifest.mf': manifestText(files, { metadata: DEFAULT_META_BLOCK }) }));
      assertError(info, 'SIG-REQUIRED');
      assert.deepEqual(errorRules(info), ['SIG-REQUIRED']);
    });

    it('a package without any manifest → ERROR SIG-REQUIRED', async () => {
      const { files } = packageFiles({ noManifest: true });
      assertError(await onboard(d, await buildZip(files)), 'SIG-REQUIRED');
    });

    it('a signed package → ONBOARDED', async () => {
      assertOnboarded(await onboard(d, await signedPackage()));
    });
  });
});

/** One signature of a package as the test made it: what openssl is asked to verify. */
interface MadeSignature {
  /** The signed bytes, the CMS (PEM or DER) and the certificate files given beside it in the package. */
  content: Buffer;
  cms: Buffer;
  certs: Buffer[];
}

interface PackageCase {
  name: string;
  /** The error rules the onboarding ends with, exactly; none: ONBOARDED. */
  errors: string[];
  build(): Promise<{ zip: Buffer; made: MadeSignature[] }>;
}

const SIGNED_IMAGE = IMAGE_PATH;
const IMAGE_SIGNATURE = 'Files/Signatures/test.img.sig.cms';
const IMAGE_CERTIFICATE = 'Files/Certificates/image-signer.cert';
const ENTRY_CERTIFICATE = 'Files/Certificates/vendor.cert';

/**
 * SOL004 option 1 at package level, over HTTP: the manifest's CMS and per-artifact signatures
 * (`Signature:`/`Certificate:` in the manifest) over a stored 2 MiB image that streams into its own
 * object, each case ending with its rule ids; then every verdict is checked against openssl.
 */
describe('VNF package signatures: per-artifact signatures and the package-level cases', function () {
  this.timeout(300_000);
  let pki: TestPki;
  let tmp: string;
  let d: TestDepot | undefined;
  const verdicts = new Map<string, { onboarded: boolean; made: MadeSignature[] }>();

  before(async function () {
    pki = basePkiOrSkip(this);
    issueSignerVariants(pki);
    pki.write('other-content.txt', 'content the vendor never shipped\n');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-sig-'));
    const hook = path.join(tmp, 'signature-hook.js');
    fs.writeFileSync(hook, `exports.default = async (ctx) => [{ rule: 'TEST-SIGNATURE', severity: 'warning', message: JSON.stringify(ctx.results.signature ?? null) }];\n`);
    d = await startTestDepot({ signatures: { trustStore: pki.path('root.pem') }, types: { vnf_packages: { hooks: [{ event: 'post_upload', module: hook }] } } });
  });

  after(async () => {
    await d?.close();
    pki?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  let n = 0;
  /** Signs `content` (written to the PKI dir) with `signer`; `over` signs other bytes instead. */
  function sign(content: Buffer, signer: string, cmsOptions: string[], over?: Buffer): Buffer {
    const name = `c-${++n}.bin`;
    pki.write(name, over ?? content);
    return pki.sign(name, signer, cmsOptions);
  }
  const certs = (...names: string[]) => Buffer.concat(names.map((c) => pki.read(`${c}.pem`)));

  interface Options {
    /** The manifest's CMS; false: the manifest is not signed. */
    manifest?: { signer?: string; cmsOptions?: string[]; over?: Buffer } | false;
    /** A Signature: (and Certificate:) for the image. */
    artifact?: { signer?: string; cmsOptions?: string[]; over?: Buffer; cert?: string[]; mangle?: (cms: Buffer) => Buffer };
    /** An ETSI-Entry-Certificate file holding these certificates. */
    entryCert?: string[];
  }

  async function build(o: Options): Promise<{ zip: Buffer; made: MadeSignature[] }> {
    const image = imageBytes(2 << 20, ++n);
    const { files, entry } = packageFiles({ image });
    assert.ok(files[SIGNED_IMAGE]);
    const made: MadeSignature[] = [];
    const entryCerts = o.entryCert ? [certs(...o.entryCert)] : [];
    if (o.entryCert) {
      files[ENTRY_CERTIFICATE] = entryCerts[0];
      files['TOSCA-Metadata/TOSCA.meta'] = META(entry, 'manifest.mf', `ETSI-Entry-Certificate: ${ENTRY_CERTIFICATE}\n`);
    }
    const security = new Set<string>([ENTRY_CERTIFICATE]);
    let text = `${manifestText(files, { metadata: DEFAULT_META_BLOCK, files: Object.keys(files).filter((f) => f !== 'TOSCA-Metadata/TOSCA.meta' && !security.has(f)) })}\n`;
    if (o.artifact) {
      const a = o.artifact;
      let cms = sign(image, a.signer ?? 'leaf', a.cmsOptions ?? ['-certfile', 'inter.pem', '-outform', 'DER'], a.over);
      if (a.mangle) cms = a.mangle(cms);
      files[IMAGE_SIGNATURE] = cms;
      const cert = a.cert ? certs(...a.cert) : undefined;
      if (cert) files[IMAGE_CERTIFICATE] = cert;
      made.push({ content: image, cms, certs: [...(cert ? [cert] : []), ...entryCerts] });
      text = text.replace(new RegExp(`(Source: ${SIGNED_IMAGE}\nAlgorithm: SHA-256\nHash: [0-9a-f]+)`), `$1\nSignature: ${IMAGE_SIGNATURE}${cert ? `\nCertificate: ${IMAGE_CERTIFICATE}` : ''}`);
      assert.ok(text.includes(`Signature: ${IMAGE_SIGNATURE}`));
    }
    if (o.manifest !== false) {
      const m = o.manifest ?? {};
      const cms = sign(Buffer.from(text), m.signer ?? 'leaf', m.cmsOptions ?? ['-certfile', 'inter.pem'], m.over);
      made.push({ content: Buffer.from(text), cms, certs: entryCerts });
      text += cms.toString('latin1');
    }
    files['manifest.mf'] = text;
    // The image is stored (not deflated): it streams into an object of its own, as real images do.
    return { zip: await buildZip(files, { entries: { [SIGNED_IMAGE]: { compress: false } } }), made };
  }

  const withChain = (signer: string, ...chain: string[]) => ({ signer, cmsOptions: ['-certfile', pki.write(`${signer}-chain.pem`, certs(...chain))] });
  const cases: PackageCase[] = [
    { name: 'option 1 with a valid per-artifact signature (DER, Certificate: file in another folder)', errors: [], build: () => build({ artifact: { cmsOptions: ['-nocerts', '-outform', 'DER'], cert: ['leaf', 'inter'] } }) },
    { name: 'a valid per-artifact signature with a SHA-512 digest (computed in the single pass)', errors: [], build: () => build({ artifact: { cmsOptions: ['-certfile', 'inter.pem', '-md', 'sha512'] } }) },
    { name: 'the signer certificate only in the ETSI-Entry-Certificate file, for both signatures', errors: [], build: () => build({ manifest: { cmsOptions: ['-nocerts'] }, artifact: { cmsOptions: ['-nocerts'] }, entryCert: ['leaf', 'inter'] }) },
    { name: 'an EC P-256 signer (manifest and artifact)', errors: [], build: () => build({ manifest: { signer: 'ecleaf', cmsOptions: ['-certfile', 'inter.pem'] }, artifact: { signer: 'ecleaf' } }) },
    { name: 'an artifact signature that does not verify (signature value altered)', errors: ['SIG-SIGNATURE-INVALID'], build: () => build({ artifact: { mangle: (c) => { const b = Buffer.from(c); b[b.length - 1] ^= 0x01; return b; } } }) },
    { name: 'an artifact signature over other content', errors: ['SIG-DIGEST-MISMATCH'], build: () => build({ artifact: { over: pki.read('other-content.txt') } }) },
    { name: 'garbage base64 in the artifact signature file', errors: ['SIG-CMS-MALFORMED'], build: () => build({ artifact: { cmsOptions: ['-certfile', 'inter.pem'], mangle: (c) => Buffer.from(c.toString('latin1').replace(/\n([A-Za-z0-9+/]{8})/, '\n!!!!$1')) } }) },
    { name: 'a manifest CMS over other content', errors: ['SIG-DIGEST-MISMATCH'], build: () => build({ manifest: { over: pki.read('other-content.txt') } }) },
    { name: "a rogue root with the trusted root's name signs the manifest signer", errors: ['CERT-UNTRUSTED'], build: () => build({ manifest: withChain('rogueleaf', 'rogue') }) },
    { name: "a rogue root's signer on the artifact, the rogue root not supplied", errors: ['CERT-SIGNATURE-INVALID'], build: () => build({ artifact: { signer: 'rogueleaf', cmsOptions: [] } }) },
    { name: 'an expired signer', errors: ['CERT-EXPIRED'], build: () => build({ manifest: { signer: 'expired' } }) },
    { name: 'a not-yet-valid signer (artifact)', errors: ['CERT-NOT-YET-VALID'], build: () => build({ artifact: { signer: 'future' } }) },
    { name: 'a signer without digitalSignature', errors: ['CERT-KEY-USAGE'], build: () => build({ manifest: { signer: 'nods' } }) },
    { name: 'SHA-1 digests (manifest)', errors: ['SIG-WEAK-ALGORITHM'], build: () => build({ manifest: { cmsOptions: ['-certfile', 'inter.pem', '-md', 'sha1'] } }) },
    { name: 'a SHA-1 digest on the artifact signature (the image is not hashed with SHA-1 for it)', errors: ['SIG-WEAK-ALGORITHM'], build: () => build({ artifact: { cmsOptions: ['-certfile', 'inter.pem', '-md', 'sha1'] } }) },
    { name: 'an RSA-1024 signer key', errors: ['CERT-WEAK-KEY'], build: () => build({ manifest: { signer: 'weak' } }) },
    { name: 'an intermediate that violates pathlen (a CA below the pathlen:0 intermediate)', errors: ['CERT-PATHLEN'], build: () => build({ manifest: withChain('deep', 'subca', 'inter'), artifact: { signer: 'deep', cmsOptions: ['-certfile', 'deep-chain.pem'] } }) },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.errors.length ? `ERROR ${c.errors.join(', ')}` : 'ONBOARDED'}`, async () => {
      const { zip, made } = await c.build();
      const info = await onboard(d!, zip);
      verdicts.set(c.name, { onboarded: info.onboardingState === 'ONBOARDED', made });
      if (!c.errors.length) return assertOnboarded(info);
      assertError(info, ...c.errors);
      assert.deepEqual(errorRules(info), [...c.errors].sort(), fmt(info.onboardingFailureDetails.findings));
      // An artifact's findings name it, the signature file and (past the CMS parsing) the signer.
      for (const f of info.onboardingFailureDetails.findings.filter((x: any) => x.file === IMAGE_SIGNATURE)) {
        assert.match(f.message, new RegExp(`^signature of ${SIGNED_IMAGE}: `), fmt([f]));
        if (f.rule !== 'SIG-CMS-MALFORMED') assert.match(f.message, /CN=Vendor Signer/, fmt([f]));
      }
    });
  }

  it('a valid per-artifact signature: hooks see it; SOL005 v2 signingCertificate, manifest and artifact with include_signatures; v1 keeps its shape', async () => {
    const { zip } = await build({ manifest: { cmsOptions: ['-nocerts'] }, artifact: { cmsOptions: ['-nocerts', '-outform', 'DER'], cert: ['leaf', 'inter'] }, entryCert: ['leaf', 'inter'] });
    const info = await onboard(d!, zip);
    assertOnboarded(info);
    const gen: any = await (await d!.request('GET', `/artifacts/vnf_packages/${info.id}`)).json();
    const seen = JSON.parse(gen.onboardingFindings.find((f: any) => f.rule === 'TEST-SIGNATURE').message);
    assert.equal(seen.verified, true);
    assert.equal(seen.certificate.file, ENTRY_CERTIFICATE);
    assert.deepEqual(seen.artifacts.map((a: any) => [a.artifact, a.file, a.certificate, a.verified, a.signer.subject, a.digestAlgorithm]), [[SIGNED_IMAGE, IMAGE_SIGNATURE, IMAGE_CERTIFICATE, true, 'CN=Vendor Signer RSA', 'sha256']]);
    assert.deepEqual(seen.artifacts[0].chain, ['CN=Vendor Signer RSA', 'CN=Depot Test Intermediate', 'CN=Depot Test Root']);

    // signingCertificate: the singleton certificate file, PEM, in v2 only.
    assert.equal(info.signingCertificate, certs('leaf', 'inter').toString());
    const v1: any = await (await d!.request('GET', `${V1}/vnf_packages/${info.id}`)).json();
    assert.equal(v1.signingCertificate, undefined);
    assert.equal(v1.packageSecurityOption, 'OPTION_1');

    const manifest = await d!.request('GET', `${V2}/vnf_packages/${info.id}/manifest?include_signatures`, { headers: { Accept: 'application/zip' } });
    assert.equal(manifest.status, 200);
    const mz = await unzip(await bytes(manifest));
    assert.deepEqual([...mz.keys()].sort(), [ENTRY_CERTIFICATE, 'manifest.mf']);
    assert.match(mz.get('manifest.mf')!.toString(), /-----BEGIN CMS-----/);

    const artifact = await d!.request('GET', `${V2}/vnf_packages/${info.id}/artifacts/${SIGNED_IMAGE}?include_signatures`, { headers: { Accept: 'application/zip' } });
    assert.equal(artifact.status, 200);
    assert.equal(artifact.headers.get('content-type'), 'application/zip');
    const az = await unzip(await bytes(artifact));
    assert.deepEqual([...az.keys()].sort(), [IMAGE_CERTIFICATE, SIGNED_IMAGE, IMAGE_SIGNATURE].sort());
    assert.equal(sha256(az.get(SIGNED_IMAGE)!), sha256(Buffer.from(zipEntry(zip, SIGNED_IMAGE))));
    await problem(await d!.request('GET', `${V2}/vnf_packages/${info.id}/artifacts/${SIGNED_IMAGE}?include_signatures`, { headers: { Accept: 'application/octet-stream' } }), 406);

    // v1 has no include_signatures: the artifact's bytes as they are.
    const plain = await d!.request('GET', `${V1}/vnf_packages/${info.id}/artifacts/${SIGNED_IMAGE}?include_signatures`);
    assert.equal(plain.status, 200);
    assert.equal(sha256(await bytes(plain)), sha256(Buffer.from(zipEntry(zip, SIGNED_IMAGE))));
    // The VNFD with signatures: TOSCA.meta, the VNFD, the manifest and its certificate.
    const vnfd = await d!.request('GET', `${V2}/vnf_packages/${info.id}/vnfd?include_signatures`, { headers: { Accept: 'application/zip' } });
    assert.deepEqual([...(await unzip(await bytes(vnfd))).keys()].sort(), ['Definitions/top.yaml', ENTRY_CERTIFICATE, 'TOSCA-Metadata/TOSCA.meta', 'manifest.mf']);
  });

  it('agrees with `openssl cms -verify -purpose any` plus the key-usage and algorithm policy on every package-level case', function () {
    if (verdicts.size !== cases.length) this.skip();
    const disagreements: string[] = [];
    for (const c of cases) {
      const v = verdicts.get(c.name)!;
      const theirs = v.made.every((m) => opensslAccepts(pki, m));
      if (theirs !== v.onboarded) disagreements.push(`${c.name}: openssl + policy ${theirs ? 'accept' : 'refuse'}, Depot ${v.onboarded ? 'onboards' : 'refuses'}`);
    }
    assert.deepEqual(disagreements, []);
  });
});

/** The stored bytes of a zip entry written by buildZip (stored entries only). */
function zipEntry(zip: Buffer, name: string): Buffer {
  const at = zip.indexOf(Buffer.from(name));
  const header = at - 30;
  assert.equal(zip.readUInt32LE(header), 0x04034b50);
  assert.equal(zip.readUInt16LE(header + 8), 0, 'stored');
  const size = zip.readUInt32LE(header + 18);
  const start = at + name.length + zip.readUInt16LE(header + 28);
  return zip.subarray(start, start + size);
}

/**
 * The oracle: openssl verifies the detached CMS over the bytes (`-purpose any`: SOL004 names no
 * extended key usage), and the policy is read from openssl's own printouts, not from Depot's code:
 * no MD5/SHA-1 digest, a signer with digitalSignature (when it has a keyUsage), RSA ≥ 2048 bits,
 * EC ≥ 256 bits. Certificate files beside the CMS help build the chain (openssl 3.0 takes
 * intermediates only from the CMS or the CAfile; self-signed ones are left out, so they are never
 * anchors).
 */
function opensslAccepts(pki: TestPki, m: MadeSignature): boolean {
  const der = m.cms[0] === 0x30;
  const sig = pki.write('oracle.sig', m.cms);
  pki.write('oracle.content', m.content);
  const extra = m.certs.flatMap((c) => c.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g) ?? [])
    .filter((pem) => {
      pki.write('oracle-one.pem', pem);
      const text = pki.openssl('x509', '-in', 'oracle-one.pem', '-noout', '-subject', '-issuer').toString();
      const [subject, issuer] = text.split('\n').map((l) => l.replace(/^(subject|issuer)=/, ''));
      return subject !== issuer;
    });
  pki.write('oracle-ca.pem', [pki.read('root.pem').toString(), ...extra].join(''));
  const args = ['cms', '-verify', '-binary', '-purpose', 'any', '-inform', der ? 'DER' : 'PEM', '-in', sig, '-content', pki.path('oracle.content'),
    '-CAfile', pki.path('oracle-ca.pem'), '-out', '/dev/null', '-signer', pki.path('oracle-signer.pem')];
  if (m.certs.length) args.push('-certfile', pki.write('oracle-certs.pem', Buffer.concat(m.certs)));
  if (spawnSync('openssl', args, { cwd: pki.dir }).status !== 0) return false;
  const printed = pki.openssl('cms', '-cmsout', '-print', '-inform', der ? 'DER' : 'PEM', '-in', sig).toString();
  if (/digestAlgorithm:\s*\n\s*algorithm: (sha1|md5)\b/.test(printed)) return false;
  const signer = pki.openssl('x509', '-in', 'oracle-signer.pem', '-noout', '-text').toString();
  const usage = /X509v3 Key Usage:[^\n]*\n\s*([^\n]*)/.exec(signer);
  if (usage && !usage[1].includes('Digital Signature')) return false;
  const bits = Number(/Public-Key: \((\d+) bit\)/.exec(signer)?.[1]);
  return /id-ecPublicKey/.test(signer) ? bits >= 256 : bits >= 2048;
}

describe('signatures configuration', () => {
  const base = { host: '127.0.0.1', port: 0, dataDir: '/tmp/d', auth: 'tokens' as const, tokensFile: '/tmp/d/tokens.yaml', logLevel: 'info' };

  it('a missing trust store file is a config error naming the key and the file', () => {
    const missing = path.join(os.tmpdir(), 'depot-no-such-trust.pem');
    assert.throws(() => buildConfig({ signatures: { trustStore: missing } }, base, '/etc/depot.yaml'), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, `/etc/depot.yaml: signatures.trustStore: cannot read ${missing}: no such file`);
      return true;
    });
  });

  it('a trust store without certificates is a config error', () => {
    const empty = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'depot-sig-')), 'empty.pem');
    fs.writeFileSync(empty, 'no certificates here\n');
    assert.throws(() => buildConfig({ signatures: { trustStore: empty } }, base, 'depot.yaml'), (e: unknown) => e instanceof ConfigError && e.message.startsWith(`depot.yaml: signatures.trustStore: ${empty}: `) && !e.message.includes('\n'));
  });

  it('a relative trustStore resolves from the configuration file\'s directory, not the working directory', function () {
    const pki = basePkiOrSkip(this);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-sig-conf-'));
    try {
      fs.mkdirSync(path.join(dir, 'pki'));
      fs.copyFileSync(pki.path('root.pem'), path.join(dir, 'pki', 'trust.pem'));
      const file = path.join(dir, 'depot.yaml');
      fs.writeFileSync(file, 'signatures:\n  trustStore: pki/trust.pem\n');
      assert.notEqual(process.cwd(), dir);
      const c = loadConfig({ DEPOT_CONFIG: file, DEPOT_DATA_DIR: path.join(dir, 'data') });
      assert.equal(c.signatures.trustStore, path.join(dir, 'pki', 'trust.pem'));
      assert.equal(c.signatures.trust?.certs[0].subject, 'CN=Depot Test Root');
      // Missing there: the error names the resolved path.
      fs.writeFileSync(file, 'signatures:\n  trustStore: elsewhere.pem\n');
      assert.throws(() => loadConfig({ DEPOT_CONFIG: file, DEPOT_DATA_DIR: path.join(dir, 'data') }), (e: unknown) => e instanceof ConfigError && e.message === `${file}: signatures.trustStore: cannot read ${path.join(dir, 'elsewhere.pem')}: no such file`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      pki.dispose();
    }
  });

  it('defaults: no trust store, not required', () => {
    const c = buildConfig({}, base);
    assert.deepEqual(c.signatures, { require: false });
  });
});
