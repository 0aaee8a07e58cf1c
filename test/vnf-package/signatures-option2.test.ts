import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { QueryTypes } from 'sequelize';
import { csarIngest, type StreamIndex } from '../../src/packages/ingest';
import { buildZip, DEFAULT_METADATA, manifestText, patchField, sha256, type BuildOptions } from '../helpers/csar-builder';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { startTestS3, type TestS3 } from '../helpers/s3';
import { basePkiOrSkip, type TestPki } from '../sol004/pki';
import { assertError, assertOnboarded, bytes, DEFAULT_META_BLOCK, errorRules, fmt, IMAGE_PATH, imageBytes, onboard, packageFiles, V1, V2 } from './helpers';

/**
 * SOL004 security option 2 at onboarding (src/packages/signatures-option2.ts): an outer ZIP of
 * `<name>.csar` + `<name>.cms` [+ `<name>.cert`], the CMS a detached signature over the inner CSAR's
 * bytes, verified against the trust store; the inner CSAR is then onboarded with every usual check.
 * The inner CSAR is stored in the outer ZIP and holds a stored 2 MiB image, so the upload reads it as
 * a ZIP while it streams (src/packages/ingest.ts) as a 1 GiB package would be read.
 */
describe('VNF package signatures (SOL004 security option 2)', function () {
  this.timeout(120_000);
  let pki: TestPki;
  let tmp: string;
  let d: TestDepot | undefined;
  const IMAGE_SIZE = 2 * 1024 * 1024;

  before(function () {
    pki = basePkiOrSkip(this);
    pki.root('other', 'Unrelated Root');
    pki.issue('otherleaf', 'Signer Under Unrelated Root', 'other', 'leaf');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-sig2-'));
  });

  after(async () => {
    await d?.close();
    pki?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** One service at a time: on one database, services with other settings take each other's jobs. */
  async function depot(signatures: Record<string, unknown>, store?: { name: string; options: Record<string, unknown> }): Promise<TestDepot> {
    await d?.close();
    // A module hook reports what post_upload hooks see of the signature, as a warning finding.
    const hook = path.join(tmp, 'signature-hook.js');
    fs.writeFileSync(hook, `exports.default = async (ctx) => [{ rule: 'TEST-SIGNATURE', severity: 'warning', message: JSON.stringify(ctx.results.signature ?? null) }];\n`);
    d = await startTestDepot({
      signatures,
      ...(store && { stores: { [store.name]: store.options } }),
      types: { vnf_packages: { hooks: [{ event: 'post_upload', module: hook }], ...(store && { store: store.name }) } },
    });
    return d;
  }

  /** A valid inner CSAR with a stored image; `lie` makes its manifest list another image's digest. */
  async function innerCsar(o: { seed?: number; lie?: boolean; signManifest?: boolean; tamperManifest?: boolean } = {}): Promise<{ zip: Buffer; image: Buffer; files: Record<string, string | Buffer> }> {
    const { files, image } = packageFiles({ imageSize: IMAGE_SIZE, imageSeed: o.seed ?? 1 });
    const listed = o.lie ? { ...files, [IMAGE_PATH]: imageBytes(IMAGE_SIZE, 99) } : files;
    let manifest = manifestText(listed, { metadata: DEFAULT_META_BLOCK });
    if (o.signManifest) {
      // Security option 1 inside: the manifest closes with a CMS block over the bytes before it.
      const text = `${manifest}\n`;
      manifest = (o.tamperManifest ? text.replace(DEFAULT_METADATA.vnf_release_date_time, '2030-01-01T00:00:00+00:00') : text) + cmsOver(Buffer.from(text)).toString('latin1');
    }
    const zip = await buildZip({ ...files, 'manifest.mf': manifest }, { entries: { [IMAGE_PATH]: { compress: false } } });
    return { zip, image: image!, files };
  }

  let signedCount = 0;
  /** Detached CMS over `content` (openssl cms -sign; `-certfile inter.pem` unless other options are given). */
  function cmsOver(content: Buffer, signer = 'leaf', options = ['-certfile', 'inter.pem']): Buffer {
    const name = `inner-${++signedCount}.csar`;
    pki.write(name, content);
    return pki.sign(name, signer, options);
  }

  /** The outer ZIP: `vnf.csar` (stored unless `build` says otherwise) first, then `vnf.cms`, then `files`. */
  function outerZip(csar: Buffer, cms: Buffer, files: Record<string, string | Buffer> = {}, build: BuildOptions = { entries: { 'vnf.csar': { compress: false } } }): Promise<Buffer> {
    return buildZip({ 'vnf.csar': csar, 'vnf.cms': cms, ...files }, build);
  }

  async function findingsOf(id: string): Promise<any[]> {
    const gen: any = await (await d!.request('GET', `/artifacts/vnf_packages/${id}`)).json();
    return gen.onboardingFindings;
  }

  /** What the upload path (csarIngest) records of `zip` for processing: the outer ZIP's files and the inner CSAR's. */
  async function streamIndex(zip: Buffer): Promise<StreamIndex> {
    const { engine } = d!.depot;
    let index: StreamIndex | undefined;
    const staged = await csarIngest(engine.storeOf(engine.type('vnf_packages')), { hashWorker: true, onIndex: (i) => (index = i) })(Readable.from([zip]), { limit: zip.length });
    await staged.commit();
    return index!;
  }

  async function seenByHooks(id: string): Promise<any> {
    const findings = await findingsOf(id);
    return JSON.parse(findings.find((f) => f.rule === 'TEST-SIGNATURE').message);
  }

  describe('with a trust store', () => {
    before(async function () {
      if (!pki) this.skip();
      await depot({ trustStore: pki.path('root.pem') });
    });

    it('valid → ONBOARDED, OPTION_2; the signer and chain in the hooks\' results; package_content is the outer ZIP, vnfd/manifest/artifacts the inner CSAR\'s', async () => {
      const inner = await innerCsar();
      const outer = await outerZip(inner.zip, cmsOver(inner.zip));
      const info = await onboard(d!, outer);
      assertOnboarded(info);
      assert.equal(info.packageSecurityOption, 'OPTION_2');
      const findings = await findingsOf(info.id);
      assert.ok(!findings.some((f) => f.rule.startsWith('SIG-') || f.rule.startsWith('CERT-')), fmt(findings));
      const seen = await seenByHooks(info.id);
      assert.equal(seen.option, 'OPTION_2');
      assert.equal(seen.file, 'vnf.cms');
      assert.equal(seen.verified, true);
      assert.equal(seen.digestAlgorithm, 'sha256');
      assert.equal(seen.signer.subject, 'CN=Vendor Signer RSA');
      assert.deepEqual(seen.chain, ['CN=Vendor Signer RSA', 'CN=Depot Test Intermediate', 'CN=Depot Test Root']);

      const content = await d!.request('GET', `${V1}/vnf_packages/${info.id}/package_content`);
      assert.equal(content.status, 200);
      assert.ok((await bytes(content)).equals(outer), 'package_content serves the uploaded outer ZIP byte for byte');
      assert.equal(info.checksum.hash, sha256(outer));
      const at = Math.max(0, outer.indexOf(inner.image.subarray(0, 64)) - 500);
      const range = await d!.request('GET', `${V1}/vnf_packages/${info.id}/package_content`, { headers: { Range: `bytes=${at}-${at + 10000}` } });
      assert.equal(range.status, 206);
      assert.ok((await bytes(range)).equals(outer.subarray(at, at + 10001)), 'a range across the inner CSAR\'s segments');
      // The inner CSAR was read as a ZIP while it streamed: its image is an object of its own (the
      // content folder's), between the outer and inner skeletons; no object holds either CSAR.
      const [pkg] = await d!.depot.db.sequelize.query<{ segments: { key: string; offset: number; length: number }[] | null }>(
        `SELECT segments FROM blobs WHERE artifact_id = :id AND field = 'package'`, { replacements: { id: info.id }, type: QueryTypes.SELECT });
      assert.equal(pkg.segments?.length, 5, JSON.stringify(pkg.segments));
      assert.deepEqual(pkg.segments![2], { key: sha256(inner.image), offset: 0, length: inner.image.length });
      assert.ok(!pkg.segments!.some((s) => s.key === sha256(inner.zip) || s.key === sha256(outer)));
      const index = await streamIndex(outer);
      assert.equal(index.files.find((f) => f.name === 'vnf.csar')?.digests.sha256, sha256(inner.zip), 'the .cms digest is computed while streaming');
      assert.equal(index.inner?.name, 'vnf.csar');
      assert.deepEqual(index.inner?.index.files.map((f) => f.name).sort(), ['Definitions/top.yaml', IMAGE_PATH, 'TOSCA-Metadata/TOSCA.meta', 'manifest.mf']);
      const vnfd = await d!.request('GET', `${V1}/vnf_packages/${info.id}/vnfd`, { headers: { Accept: 'text/plain' } });
      assert.equal(vnfd.status, 200);
      assert.equal(await vnfd.text(), inner.files['Definitions/top.yaml']);
      const manifest = await d!.request('GET', `${V2}/vnf_packages/${info.id}/manifest`, { headers: { Accept: 'text/plain' } });
      assert.equal(manifest.status, 200);
      assert.match(await manifest.text(), /Source: Files\/images\/test\.img/);
      const image = await d!.request('GET', `${V1}/vnf_packages/${info.id}/artifacts/${IMAGE_PATH}`);
      assert.equal(image.status, 200);
      assert.ok((await bytes(image)).equals(inner.image), 'the image artifact comes from the inner CSAR');
    });

    it('the signer certificate only in vnf.cert (CMS without certificates) → ONBOARDED', async () => {
      const inner = await innerCsar();
      const cert = Buffer.concat([pki.read('leaf.pem'), pki.read('inter.pem')]);
      const info = await onboard(d!, await outerZip(inner.zip, cmsOver(inner.zip, 'leaf', ['-nocerts']), { 'vnf.cert': cert }));
      assertOnboarded(info);
      assert.equal((await seenByHooks(info.id)).signer.subject, 'CN=Vendor Signer RSA');
      // The outer .cert is the package's certificate file: SOL005 v2 signingCertificate.
      assert.equal(info.signingCertificate, cert.toString());
    });

    it('a SHA-512 CMS after the CSAR (the upload hashed SHA-256 only: read once more) → ONBOARDED', async () => {
      const inner = await innerCsar();
      const outer = await outerZip(inner.zip, cmsOver(inner.zip, 'leaf', ['-certfile', 'inter.pem', '-md', 'sha512']));
      const info = await onboard(d!, outer);
      assertOnboarded(info);
      assert.equal((await seenByHooks(info.id)).digestAlgorithm, 'sha512');
      assert.equal((await streamIndex(outer)).files.find((f) => f.name === 'vnf.csar')?.digests.sha512, undefined);
    });

    it('a SHA-512 CMS before the CSAR (hashed with SHA-512 while streaming) → ONBOARDED', async () => {
      const inner = await innerCsar();
      const cms = cmsOver(inner.zip, 'leaf', ['-certfile', 'inter.pem', '-md', 'sha512']);
      const outer = await buildZip({ 'vnf.cms': cms, 'vnf.csar': inner.zip }, { entries: { 'vnf.csar': { compress: false } } });
      const info = await onboard(d!, outer);
      assertOnboarded(info);
      assert.equal((await seenByHooks(info.id)).digestAlgorithm, 'sha512');
      const streamed = (await streamIndex(outer)).files.find((f) => f.name === 'vnf.csar')?.digests;
      assert.equal(streamed?.sha512, createHash('sha512').update(inner.zip).digest('hex'));
    });

    it('an upload cut inside the inner CSAR → ERROR CSAR-ZIP-CORRUPT, nothing thrown', async () => {
      const inner = await innerCsar();
      const outer = await outerZip(inner.zip, cmsOver(inner.zip));
      const info = await onboard(d!, outer.subarray(0, Math.floor(outer.length / 2)));
      assertError(info, 'CSAR-ZIP-CORRUPT');
    });

    it('a signed .csar that is not a ZIP → ERROR CSAR-ZIP-CORRUPT on the inner CSAR (the signature itself verifies)', async () => {
      const notZip = imageBytes(IMAGE_SIZE, 7);
      const info = await onboard(d!, await outerZip(notZip, cmsOver(notZip)));
      const findings = assertError(info, 'CSAR-ZIP-CORRUPT');
      assert.ok(!findings.some((f) => f.severity === 'error' && (f.rule.startsWith('SIG-') || f.rule.startsWith('CERT-'))), fmt(findings));
    });

    it('a deflated inner CSAR → ONBOARDED', async () => {
      const inner = await innerCsar();
      assertOnboarded(await onboard(d!, await outerZip(inner.zip, cmsOver(inner.zip), {}, { compress: true })));
    });

    it('an inner CSAR signed with option 1 as well → ONBOARDED; the hooks see both signatures', async () => {
      const inner = await innerCsar({ signManifest: true });
      const info = await onboard(d!, await outerZip(inner.zip, cmsOver(inner.zip)));
      assertOnboarded(info);
      const seen = await seenByHooks(info.id);
      assert.equal(seen.option, 'OPTION_2');
      assert.equal(seen.verified, true);
      assert.equal(seen.inner.option, 'OPTION_1');
      assert.equal(seen.inner.file, 'manifest.mf');
      assert.equal(seen.inner.verified, true);
    });

    it('an inner CSAR whose own option 1 signature does not match its manifest → ERROR SIG-DIGEST-MISMATCH on manifest.mf (the .cms verifies)', async () => {
      const inner = await innerCsar({ signManifest: true, tamperManifest: true });
      const info = await onboard(d!, await outerZip(inner.zip, cmsOver(inner.zip)));
      const findings = assertError(info, 'SIG-DIGEST-MISMATCH');
      assert.deepEqual(findings.filter((f) => f.rule === 'SIG-DIGEST-MISMATCH').map((f) => f.file), ['manifest.mf']);
      assert.deepEqual(errorRules(info), ['SIG-DIGEST-MISMATCH']);
    });

    it('the inner CSAR changed after signing → ERROR SIG-DIGEST-MISMATCH on vnf.cms, and nothing else', async () => {
      const signedOne = await innerCsar();
      const other = await innerCsar({ seed: 2 });
      const info = await onboard(d!, await outerZip(other.zip, cmsOver(signedOne.zip)));
      const findings = assertError(info, 'SIG-DIGEST-MISMATCH');
      assert.equal(findings.find((f) => f.rule === 'SIG-DIGEST-MISMATCH').file, 'vnf.cms');
      assert.deepEqual(errorRules(info), ['SIG-DIGEST-MISMATCH']);
    });

    it('a signer under a root the operator does not trust → ERROR CERT-UNTRUSTED on vnf.cms', async () => {
      const inner = await innerCsar();
      const info = await onboard(d!, await outerZip(inner.zip, cmsOver(inner.zip, 'otherleaf', ['-certfile', 'other.pem'])));
      const findings = assertError(info, 'CERT-UNTRUSTED');
      assert.ok(findings.some((f) => f.rule === 'CERT-UNTRUSTED' && f.file === 'vnf.cms'), fmt(findings));
      assert.deepEqual(errorRules(info), ['CERT-UNTRUSTED']);
    });

    it('an extra file in the outer ZIP → ERROR SIG-OPTION2-EXTRA-FILE naming it', async () => {
      const inner = await innerCsar();
      const info = await onboard(d!, await outerZip(inner.zip, cmsOver(inner.zip), { 'README.txt': 'read me\n', 'docs/notes.txt': 'more\n' }));
      const findings = assertError(info, 'SIG-OPTION2-EXTRA-FILE');
      assert.deepEqual(findings.filter((f) => f.rule === 'SIG-OPTION2-EXTRA-FILE').map((f) => f.file).sort(), ['README.txt', 'docs/notes.txt']);
      assert.deepEqual(errorRules(info), ['SIG-OPTION2-EXTRA-FILE']);
    });

    it('a CSAR without its .cms (another signature beside it) → ERROR SIG-OPTION2-CMS-MISSING and SIG-OPTION2-EXTRA-FILE', async () => {
      const inner = await innerCsar();
      const info = await onboard(d!, await buildZip({ 'vnf.csar': inner.zip, 'other.cms': cmsOver(inner.zip) }, { entries: { 'vnf.csar': { compress: false } } }));
      const findings = assertError(info, 'SIG-OPTION2-CMS-MISSING', 'SIG-OPTION2-EXTRA-FILE');
      assert.equal(findings.find((f) => f.rule === 'SIG-OPTION2-CMS-MISSING').file, 'vnf.cms');
      assert.equal(findings.find((f) => f.rule === 'SIG-OPTION2-EXTRA-FILE').file, 'other.cms');
    });

    it('an inner CSAR whose own manifest lies (validly signed) → ERROR CSAR-HASH-MISMATCH on the image, no signature finding', async () => {
      const inner = await innerCsar({ lie: true });
      const info = await onboard(d!, await outerZip(inner.zip, cmsOver(inner.zip)));
      const findings = assertError(info, 'CSAR-HASH-MISMATCH');
      const mismatch = findings.find((f) => f.rule === 'CSAR-HASH-MISMATCH');
      assert.equal(mismatch.file, 'manifest.mf');
      assert.equal(mismatch.path, IMAGE_PATH);
      assert.ok(!findings.some((f) => f.severity === 'error' && (f.rule.startsWith('SIG-') || f.rule.startsWith('CERT-'))), fmt(findings));
    });
  });

  describe('without a trust store', () => {
    before(async function () {
      if (!pki) this.skip();
      await depot({});
    });

    it('a valid option 2 package → ONBOARDED with the SIG-NOT-VERIFIED warning on vnf.cms', async () => {
      const inner = await innerCsar();
      const info = await onboard(d!, await outerZip(inner.zip, cmsOver(inner.zip)));
      assertOnboarded(info);
      assert.equal(info.packageSecurityOption, 'OPTION_2');
      const findings = await findingsOf(info.id);
      assert.ok(findings.some((f) => f.rule === 'SIG-NOT-VERIFIED' && f.severity === 'warning' && f.file === 'vnf.cms'), fmt(findings));
      const seen = await seenByHooks(info.id);
      assert.equal(seen.option, 'OPTION_2');
      assert.equal(seen.verified, false);
    });

    // The inner level computes the outer entry's CRC-32 (from its skeleton and its images' CRC-32s):
    // it must be the CRC-32 of the inner CSAR's bytes, whatever the signature, and not what a header says.
    const signatures: [string, (csar: Buffer) => Record<string, Buffer>][] = [
      ['a valid .cms', (csar) => ({ 'vnf.cms': cmsOver(csar) })],
      ['a garbage .cms', () => ({ 'vnf.cms': Buffer.from('not a CMS signature\n') })],
      ['no .cms', () => ({})],
    ];
    for (const [what, sig] of signatures) {
      it(`with ${what}: the streamed vnf.csar record has the inner CSAR's CRC-32, also when both headers say another`, async () => {
        const inner = await innerCsar({ seed: 7 });
        const build = (patch: BuildOptions['patch'] = []) => buildZip({ 'vnf.csar': inner.zip, ...sig(inner.zip) }, { entries: { 'vnf.csar': { compress: false } }, patch });
        const index = await streamIndex(await build());
        assert.ok(index.inner, 'the inner CSAR was read as a level');
        assert.equal(index.files.find((f) => f.name === 'vnf.csar')?.crc32, zlib.crc32(inner.zip) >>> 0);
        const lying = await build([patchField('vnf.csar', 'crc32', (zlib.crc32(inner.zip) ^ 1) >>> 0)]);
        assert.equal((await streamIndex(lying)).files.find((f) => f.name === 'vnf.csar')?.crc32, zlib.crc32(inner.zip) >>> 0, 'what streamed, not what the header says');
      });
    }

    it('an upload that fails inside the inner CSAR rejects (no hang), and one cut short there is read to its end', async () => {
      const inner = await innerCsar({ seed: 8 });
      const outer = await outerZip(inner.zip, cmsOver(inner.zip));
      const { engine } = d!.depot;
      const ingest = csarIngest(engine.storeOf(engine.type('vnf_packages')), { hashWorker: true, onIndex: () => undefined });
      const half = outer.length >> 1;
      // Like a request whose client goes away: half the bytes, then the stream errors.
      const failing = new PassThrough({ highWaterMark: 65_536 });
      const rejected = assert.rejects(ingest(failing, { limit: outer.length }), /the client went away/);
      for (let i = 0; i < half; i += 65_536) if (!failing.write(outer.subarray(i, Math.min(half, i + 65_536)))) await once(failing, 'drain');
      failing.destroy(new Error('the client went away'));
      await rejected;
      let index: StreamIndex | undefined;
      const cut = await csarIngest(engine.storeOf(engine.type('vnf_packages')), { hashWorker: true, onIndex: (i) => (index = i) })(Readable.from([outer.subarray(0, half)]), { limit: outer.length });
      assert.equal(cut.size, half);
      assert.equal(cut.digests.sha256, sha256(outer.subarray(0, half)));
      await cut.commit();
      assert.equal(index!.inSync, false);
      assert.equal(index!.inner?.index.inSync, false);
    });
  });

  describe('on an s3 store (no local files: processing reads the stored package through a temporary copy)', () => {
    let s3: TestS3 | undefined;
    before(async function () {
      if (!pki) this.skip();
      s3 = await startTestS3();
      await depot({ trustStore: pki.path('root.pem') }, { name: 'objects', options: { ...s3.options, partSize: 5 * 2 ** 20 } });
    });
    after(async () => {
      await d?.close();
      d = undefined;
      await s3?.close();
    });

    it('a valid option 2 package → ONBOARDED, served byte for byte', async () => {
      const inner = await innerCsar();
      const outer = await outerZip(inner.zip, cmsOver(inner.zip));
      const info = await onboard(d!, outer);
      assertOnboarded(info);
      assert.equal((await seenByHooks(info.id)).verified, true);
      assert.ok((await bytes(await d!.request('GET', `${V1}/vnf_packages/${info.id}/package_content`))).equals(outer));
      assert.ok((await bytes(await d!.request('GET', `${V1}/vnf_packages/${info.id}/artifacts/${IMAGE_PATH}`))).equals(inner.image));
    });
  });

  describe('signatures.require: true', () => {
    before(async function () {
      if (!pki) this.skip();
      await depot({ trustStore: pki.path('root.pem'), require: true });
    });

    it('an option 2 package whose inner CSAR is unsigned → ONBOARDED (the .cms is its signature)', async () => {
      const inner = await innerCsar();
      const info = await onboard(d!, await outerZip(inner.zip, cmsOver(inner.zip)));
      assertOnboarded(info);
      assert.ok(!(await findingsOf(info.id)).some((f) => f.rule === 'SIG-REQUIRED'));
    });
  });
});
