import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packDirectory } from '../../src/cli/pack';
import { openCsar } from '../../src/csar';
import { parseTrustStore, verifyDetachedCms } from '../../src/sol004';
import { basePkiOrSkip, type TestPki } from '../sol004/pki';
import { IMAGE_PATH, imageBytes, packageFiles } from '../vnf-package/helpers';
import { cleanFiles, depot } from './run';

/** Writes a package's files into a new folder (no manifest: `depot pack` makes it). */
function folderOf(tmp: string, files: Record<string, string | Buffer>): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'vnf-'));
  for (const [name, data] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), data);
  }
  return dir;
}

async function entriesOf(file: string): Promise<Map<string, { method: number; size: number; data: Buffer }>> {
  const z = await openCsar(file);
  try {
    const out = new Map<string, { method: number; size: number; data: Buffer }>();
    for (const e of z.entries) out.set(e.name, { method: e.method, size: e.size, data: await z.readEntry(e.name, 64 << 20) });
    return out;
  } finally {
    await z.close();
  }
}

describe('depot pack: a SOL004 CSAR from a folder (issue 13)', function () {
  this.timeout(120_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-cli-pack-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('pack → validate passes; the manifest carries the VNFD identity and a SHA-256 of every file; a large image is stored', async () => {
    const image = imageBytes((1 << 20) + 4096, 7);
    const dir = folderOf(tmp, cleanFiles({ provider: 'Acme', product: 'Packed', softwareVersion: '2.1.0', vnfdVersion: '3', image }));
    const out = path.join(tmp, 'packed.csar');
    const r = await depot('pack', dir, '-o', out);
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(r.out, '');
    const v = await depot('validate', out);
    assert.equal(v.code, 0, v.out);
    assert.equal(v.out, '');
    const entries = await entriesOf(out);
    const meta = entries.get('TOSCA-Metadata/TOSCA.meta')!.data.toString();
    assert.match(meta, /^Entry-Definitions: Definitions\/top\.yaml$/m);
    assert.match(meta, /^ETSI-Entry-Manifest: manifest\.mf$/m);
    const mf = entries.get('manifest.mf')!.data.toString();
    for (const line of ['vnf_provider_id: Acme', 'vnf_product_name: Packed', 'vnf_software_version: 2.1.0', 'vnf_package_version: 3']) assert.match(mf, new RegExp(`^  ${line}$`, 'm'));
    assert.match(mf, /^ {2}vnf_release_date_time: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
    for (const [name, e] of entries) {
      if (name === 'manifest.mf' || name === 'TOSCA-Metadata/TOSCA.meta') continue;
      assert.ok(mf.includes(`Source: ${name}\nAlgorithm: SHA-256\nHash: ${createHash('sha256').update(e.data).digest('hex')}`), `${name} in\n${mf}`);
    }
    // Stored, so that onboarding's stream reader keeps the image as an object of its own.
    assert.equal(entries.get(IMAGE_PATH)!.method, 0);
  });

  it('the same folder packs to the same bytes (fixed timestamps, sorted entries), also with another mtime under SOURCE_DATE_EPOCH', async () => {
    const dir = folderOf(tmp, cleanFiles({ image: imageBytes(3000, 2) }));
    const a = path.join(tmp, 'a.csar');
    const b = path.join(tmp, 'b.csar');
    const saved = process.env.SOURCE_DATE_EPOCH;
    process.env.SOURCE_DATE_EPOCH = '1767225600';
    try {
      assert.equal((await packDirectory(dir, { out: a })).findings.length, 0);
      const later = new Date(Date.now() + 3_600_000);
      for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) fs.utimesSync(path.join(dir, f), later, later);
      assert.equal((await packDirectory(dir, { out: b })).findings.length, 0);
    } finally {
      if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = saved;
    }
    assert.ok(fs.readFileSync(a).equals(fs.readFileSync(b)), 'pack twice gives identical bytes');
    assert.match((await entriesOf(a)).get('manifest.mf')!.data.toString(), /vnf_release_date_time: 2026-01-01T00:00:00Z/);
  });

  it('--no-meta: the root-YAML layout (no TOSCA-Metadata, <entry>.mf beside it), which validates', async () => {
    const { files } = packageFiles({ structure: 'single' });
    const dir = folderOf(tmp, files);
    const out = path.join(tmp, 'single.csar');
    const r = await depot('pack', dir, '-o', out, '--no-meta');
    assert.equal(r.code, 0, r.out + r.err);
    const names = [...(await entriesOf(out)).keys()];
    assert.deepEqual(names, [IMAGE_PATH, 'vnfd.mf', 'vnfd.yaml'].filter((n) => n !== IMAGE_PATH || files[IMAGE_PATH]));
    const v = await depot('validate', out);
    assert.equal(v.code, 0, v.out);
  });

  it('refuses to write a package that does not validate: exit 1, the findings, no file', async () => {
    const files = cleanFiles({ image: imageBytes(2000, 1) });
    files[IMAGE_PATH] = imageBytes(2000, 9);
    const dir = folderOf(tmp, files);
    const out = path.join(tmp, 'bad.csar');
    const r = await depot('pack', dir, '-o', out);
    assert.equal(r.code, 1);
    assert.match(r.out, /^Definitions\/top\.yaml:\d+ error CSAR-IMAGE-CHECKSUM /m);
    assert.equal(fs.existsSync(out), false);
    assert.deepEqual(fs.readdirSync(tmp).filter((n) => n.startsWith('bad.csar')), [], 'no temporary file left');
    // The same folder through validate: it is checked as the package it would pack into.
    const v = await depot('validate', dir);
    assert.equal(v.code, 1);
    assert.match(v.out, /CSAR-IMAGE-CHECKSUM/);
  });

  it('usage: signing needs key and certificate, --option 1|2 (exit 2)', async () => {
    const dir = folderOf(tmp, cleanFiles());
    for (const argv of [['pack', dir, '--sign-key', 'k.pem'], ['pack', dir, '--option', '3'], ['pack', path.join(tmp, 'none')], ['pack']]) {
      assert.equal((await depot(...argv)).code, 2, argv.join(' '));
    }
  });

  describe('signed', () => {
    let pki: TestPki;
    let dir: string;
    before(function () {
      pki = basePkiOrSkip(this);
      pki.root('other', 'Some Other Root');
      pki.write('chain.pem', Buffer.concat([pki.read('leaf.pem'), pki.read('inter.pem')]));
      pki.issue('ec', 'Vendor Signer EC', 'inter', 'leaf', 'ec:P-256');
      dir = folderOf(tmp, cleanFiles({ image: imageBytes(3000, 5) }));
    });
    after(() => pki?.dispose());

    for (const [signer, key] of [['RSA', 'leaf'], ['EC', 'ec']] as const) {
      it(`option 1 (${signer}): validates with --trust of the right root, fails with another root; openssl agrees`, async () => {
        const out = path.join(tmp, `signed-${key}.csar`);
        const chain = pki.write(`${key}-chain.pem`, Buffer.concat([pki.read(`${key}.pem`), pki.read('inter.pem')]));
        const r = await depot('pack', dir, '-o', out, '--sign-key', pki.path(`${key}.key`), '--sign-cert', chain);
        assert.equal(r.code, 0, r.out + r.err);
        const ok = await depot('validate', out, '--trust', pki.path('root.pem'));
        assert.deepEqual([ok.code, ok.out], [0, '']);
        const ko = await depot('validate', out, '--trust', pki.path('other.pem'));
        assert.equal(ko.code, 1);
        assert.match(ko.out, /^manifest\.mf error CERT-UNTRUSTED /m);
        const mf = (await entriesOf(out)).get('manifest.mf')!.data;
        const at = mf.indexOf('-----BEGIN CMS-----');
        assert.ok(at > 0);
        pki.write('signed.txt', mf.subarray(0, at));
        pki.write('sig.pem', mf.subarray(at));
        pki.openssl('cms', '-verify', '-binary', '-inform', 'PEM', '-in', 'sig.pem', '-content', 'signed.txt', '-CAfile', 'root.pem', '-purpose', 'any', '-out', '/dev/null');
        assert.throws(() => pki.openssl('cms', '-verify', '-binary', '-inform', 'PEM', '-in', 'sig.pem', '-content', 'signed.txt', '-CAfile', 'other.pem', '-purpose', 'any', '-out', '/dev/null'));
      });
    }

    it('option 1 is reproducible too (RSA signatures are deterministic)', async () => {
      const a = await packDirectory(dir, { out: path.join(tmp, 's-a.csar'), signKey: pki.path('leaf.key'), signCert: pki.path('chain.pem'), option: 1 });
      const b = await packDirectory(dir, { out: path.join(tmp, 's-b.csar'), signKey: pki.path('leaf.key'), signCert: pki.path('chain.pem'), option: 1 });
      assert.ok(fs.readFileSync(a.out).equals(fs.readFileSync(b.out)));
    });

    it('option 2: an outer zip of exactly <name>.csar, .cms and .cert; the CMS signs the inner CSAR bytes (right root: verified; other root: untrusted)', async () => {
      const out = path.join(tmp, 'vendor-pkg.zip');
      const r = await depot('pack', dir, '-o', out, '--sign-key', pki.path('leaf.key'), '--sign-cert', pki.path('chain.pem'), '--option', '2');
      assert.equal(r.code, 0, r.out + r.err);
      const outer = await entriesOf(out);
      assert.deepEqual([...outer.keys()].sort(), ['vendor-pkg.cert', 'vendor-pkg.cms', 'vendor-pkg.csar']);
      assert.equal(outer.get('vendor-pkg.csar')!.method, 0, 'the inner CSAR is stored: its bytes are what is signed');
      const inner = outer.get('vendor-pkg.csar')!.data;
      const innerFile = path.join(tmp, 'inner.csar');
      fs.writeFileSync(innerFile, inner);
      assert.equal((await depot('validate', innerFile)).code, 0);
      const digest = createHash('sha256').update(inner).digest();
      const verify = (root: string) => verifyDetachedCms({ cms: outer.get('vendor-pkg.cms')!.data, digests: { sha256: digest }, extraCertificates: [], trust: parseTrustStore(pki.read(root).toString('latin1')), file: 'vendor-pkg.cms' });
      const good = verify('root.pem');
      assert.equal(good.verified, true, JSON.stringify(good.findings));
      assert.equal(good.signer?.subject, 'CN=Vendor Signer RSA');
      const bad = verify('other.pem');
      assert.equal(bad.verified, false);
      assert.ok(bad.findings.some((f) => f.rule === 'CERT-UNTRUSTED'), JSON.stringify(bad.findings));
      pki.write('inner.csar', inner);
      pki.write('outer.cms', outer.get('vendor-pkg.cms')!.data);
      pki.openssl('cms', '-verify', '-binary', '-inform', 'PEM', '-in', 'outer.cms', '-content', 'inner.csar', '-CAfile', 'root.pem', '-purpose', 'any', '-out', '/dev/null');
      // depot validate verifies option 2 through onboarding's code: the outer .cms, then the inner CSAR.
      const ok = await depot('validate', out, '--trust', pki.path('root.pem'));
      assert.deepEqual([ok.code, ok.out], [0, '']);
      const ko = await depot('validate', out, '--trust', pki.path('other.pem'));
      assert.equal(ko.code, 1);
      assert.match(ko.out, /^vendor-pkg\.cms error CERT-UNTRUSTED /m);
    });
  });
});
