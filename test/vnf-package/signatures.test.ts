import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildConfig, ConfigError } from '../../src/config';
import { buildZip, DEFAULT_METADATA, manifestText } from '../helpers/csar-builder';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { basePkiOrSkip, type TestPki } from '../sol004/pki';
import { assertError, assertOnboarded, DEFAULT_META_BLOCK, errorRules, fmt, META, onboard, packageFiles } from './helpers';

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

  it('defaults: no trust store, not required', () => {
    const c = buildConfig({}, base);
    assert.deepEqual(c.signatures, { require: false });
  });
});
