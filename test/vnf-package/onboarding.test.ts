import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { embeddedTemplate, startTestDepot, testDatabaseUrl, type TestDepot } from '../helpers/depot';
import { buildZip, centralRecords, sha256 } from '../helpers/csar-builder';
import { hostileCases, manifestOf, tmpPad, zipFilesManifest } from './hostile';
import {
  assertError, assertOnboarded, buildPackage, bytes, createPackage, errorRules, fmt, IMAGE_PATH, imageBytes, onboard, packageFiles, putContent, V1, V2, waitFinal,
} from './helpers';

/**
 * Onboarding through the real API of CSARs built here: both SOL004 structures, multi-file VNFDs,
 * stored and deflated images, and a hostile set. Every package ends ONBOARDED or ERROR with the
 * expected rule id; the service keeps answering, and nothing is written outside its store.
 *
 * One service for the whole file. It runs an operator post_upload command hook for every package,
 * so every CSAR is also unpacked into a `{dir}` — which is exactly where a `../` entry would escape.
 * TMPDIR points at a private folder for the file, so stray temp files are attributable.
 */
describe('VNF packages: onboarding of built CSARs (SOL004)', function () {
  let d: TestDepot;
  let tmp: string;
  let savedTmp: string | undefined;
  const evil = `depot-evil-${randomBytes(4).toString('hex')}.txt`;

  // The hook rejects a package that carries Files/reject.txt (its content becomes the message),
  // and checks that {dir} really holds the unpacked package (the entry VNFD is there).
  const HOOK = [
    'dir="$1"',
    'if [ ! -f "$dir/TOSCA-Metadata/TOSCA.meta" ] && [ ! -f "$dir/vnfd.yaml" ]; then echo "no unpacked package in $dir" >&2; exit 3; fi',
    'if [ -f "$dir/Files/reject.txt" ]; then printf \'{"findings":[{"rule":"ACME-POLICY","severity":"error","message":"%s","file":"Files/reject.txt","line":1},{"rule":"ACME-NOTE","severity":"warning","message":"checked"}]}\' "$(cat "$dir/Files/reject.txt")"; exit 1; fi',
    'if [ -f "$dir/Files/exit7.txt" ]; then echo "plain refusal" >&2; exit 7; fi',
    'if [ -f "$dir/Files/slow.txt" ]; then sleep 2; fi',
    'exit 0',
  ].join('\n');

  const FILE_CONFIG = {
    types: { vnf_packages: { hooks: [{ event: 'post_upload', command: ['/bin/sh', '-c', HOOK, 'hook', '{dir}'], timeoutSeconds: 5 }] } },
    onboarding: { maxEntries: 200, maxUncompressedBytes: '64MiB' },
  };

  before(async function () {
    // The run-wide embedded database template must not land in (and vanish with) the private TMPDIR.
    if (!testDatabaseUrl()) await embeddedTemplate();
    savedTmp = process.env.TMPDIR;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-vp-tmp-'));
    process.env.TMPDIR = tmp;
    d = await startTestDepot(FILE_CONFIG);
  });
  after(async () => {
    await d?.close();
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('valid packages', () => {
    it('TOSCA-Metadata structure, single-file VNFD, no image, no signatures: ONBOARDED with VnfPkgInfo filled', async () => {
      const zip = await buildPackage({ vnfdId: 'b1a7f2c0-0000-4000-8000-000000000001', provider: 'Acme', product: 'Meta VNF', softwareVersion: '2.3.4', vnfdVersion: '1.1' });
      const info = await onboard(d, zip);
      assertOnboarded(info);
      assert.equal(info.vnfdId, 'b1a7f2c0-0000-4000-8000-000000000001');
      assert.equal(info.vnfProvider, 'Acme');
      assert.equal(info.vnfProductName, 'Meta VNF');
      assert.equal(info.vnfSoftwareVersion, '2.3.4');
      assert.equal(info.vnfdVersion, '1.1');
      assert.deepEqual(info.checksum, { algorithm: 'SHA-256', hash: sha256(zip) });
      assert.equal(info.operationalState, 'ENABLED');
      assert.equal(info.usageState, 'NOT_IN_USE');
      assert.equal(info.packageSecurityOption, 'OPTION_1');
      assert.equal(info.onboardingFailureDetails, undefined);
      assert.deepEqual(info.softwareImages, []);
    });

    it('single root YAML + same-named .mf (no TOSCA-Metadata): ONBOARDED; vnfd is that one file', async () => {
      const spec = { structure: 'single' as const, softwareVersion: '3.0.0', vnfdId: 'b1a7f2c0-0000-4000-8000-000000000002' };
      const { files } = packageFiles(spec);
      const info = await onboard(d, await buildPackage(spec));
      assertOnboarded(info);
      const res = await d.request('GET', `${V1}/vnf_packages/${info.id}/vnfd`, { headers: { Accept: 'text/plain' } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      assert.equal((await bytes(res)).toString(), files['vnfd.yaml']);
    });

    it('multi-file VNFD with a deflated image: ONBOARDED, softwareImages from the VNFD, image byte-exact', async () => {
      const image = imageBytes(40_000, 7);
      const info = await onboard(d, await buildPackage({ multiFile: true, image }));
      assertOnboarded(info);
      assert.equal(info.softwareImages.length, 1);
      const img = info.softwareImages[0];
      assert.equal(img.imagePath, IMAGE_PATH);
      assert.deepEqual(img.checksum, { algorithm: 'SHA-256', hash: sha256(image) });
      assert.equal(img.size, image.length);
      assert.equal(img.diskFormat, 'QCOW2');
      assert.equal(img.containerFormat, 'BARE');
      const res = await d.request('GET', `${V2}/vnf_packages/${info.id}/artifacts/${IMAGE_PATH}`);
      assert.equal(res.status, 200);
      assert.ok((await bytes(res)).equals(image));
    });

    it('stored (uncompressed) image entry: served by offset from the CSAR, byte-exact, also with Range', async () => {
      const image = imageBytes(70_000, 9);
      const zip = await buildPackage({ image, imageStored: true });
      const info = await onboard(d, zip);
      assertOnboarded(info);
      // The image bytes sit verbatim inside the CSAR: that is what serving by offset relies on.
      const rec = centralRecords(zip).find((r) => r.name === IMAGE_PATH)!;
      const dataStart = rec.localOffset + 30 + zip.readUInt16LE(rec.localOffset + 26) + zip.readUInt16LE(rec.localOffset + 28);
      assert.ok(zip.subarray(dataStart, dataStart + image.length).equals(image));
      const full = await d.request('GET', `${V1}/vnf_packages/${info.id}/artifacts/${IMAGE_PATH}`);
      assert.equal(full.status, 200);
      assert.ok((await bytes(full)).equals(image));
      const part = await d.request('GET', `${V1}/vnf_packages/${info.id}/artifacts/${IMAGE_PATH}`, { headers: { Range: 'bytes=1000-1999' } });
      assert.equal(part.status, 206);
      assert.equal(part.headers.get('content-range'), `bytes 1000-1999/${image.length}`);
      assert.ok((await bytes(part)).equals(image.subarray(1000, 2000)));
      // The CSAR itself comes back byte-exact (whatever the store made of it).
      const pc = await d.request('GET', `${V1}/vnf_packages/${info.id}/package_content`);
      assert.equal(pc.status, 200);
      assert.ok((await bytes(pc)).equals(zip));
    });

    it('a package without a manifest onboards with the CSAR-MANIFEST-MISSING warning kept (default policy)', async () => {
      const info = await onboard(d, await buildPackage({ noManifest: true }));
      assertOnboarded(info);
      // Warnings of a successful onboarding are not part of VnfPkgInfo, but the generic record keeps them.
      const gen = await d.request('GET', `/artifacts/vnf_packages/${info.id}`);
      const body: any = await gen.json();
      assert.ok(body.onboardingFindings.some((f: any) => f.rule === 'CSAR-MANIFEST-MISSING' && f.severity === 'warning'), fmt(body.onboardingFindings));
    });
  });

  describe('manifest lies', () => {
    it('wrong hash → CSAR-HASH-MISMATCH naming the file', async () => {
      const { files } = packageFiles({ extra: { 'Scripts/install.sh': 'echo hi\n' } });
      // The manifest lists install.sh with the hash of other bytes.
      const lying = await buildZip({ ...files, 'manifest.mf': manifestOf(zipFilesManifest(files)).replace(sha256('echo hi\n'), sha256('echo bye\n')) });
      const info = await onboard(d, lying);
      const f = assertError(info, 'CSAR-HASH-MISMATCH');
      assert.deepEqual(f.filter((x) => x.rule === 'CSAR-HASH-MISMATCH').map((x) => [x.file, x.path]), [['manifest.mf', 'Scripts/install.sh']]);
      assert.deepEqual(errorRules(info), ['CSAR-HASH-MISMATCH']);
    });

    it('listed but missing file → CSAR-FILE-MISSING', async () => {
      const { files } = packageFiles({});
      const text = zipFilesManifest(files) + `\nSource: Scripts/gone.sh\nAlgorithm: SHA-256\nHash: ${sha256('x')}\n`;
      const info = await onboard(d, await buildZip({ ...files, 'manifest.mf': manifestOf(text) }));
      const f = assertError(info, 'CSAR-FILE-MISSING');
      assert.ok(f.some((x) => x.rule === 'CSAR-FILE-MISSING' && x.path === 'Scripts/gone.sh'), fmt(f));
      assert.deepEqual(errorRules(info), ['CSAR-FILE-MISSING']);
    });

    it('unlisted file → CSAR-FILE-UNLISTED, a formality: a warning under the default policy (docs/rules.md)', async () => {
      const { files } = packageFiles({});
      const info = await onboard(d, await buildZip({ ...files, 'Scripts/sneaky.sh': 'rm -rf /\n', 'manifest.mf': manifestOf(zipFilesManifest(files)) }));
      assertOnboarded(info);
      const gen: any = await (await d.request('GET', `/artifacts/vnf_packages/${info.id}`)).json();
      assert.deepEqual(gen.onboardingFindings.filter((x: any) => x.rule === 'CSAR-FILE-UNLISTED').map((x: any) => [x.severity, x.file]), [['warning', 'Scripts/sneaky.sh']]);
    });

    it('image checksum in the VNFD differs from the image → CSAR-IMAGE-CHECKSUM', async () => {
      const image = imageBytes(5000, 3);
      const { files } = packageFiles({ image });
      files[IMAGE_PATH] = imageBytes(5000, 4); // same size, other bytes; the manifest is computed over these
      const info = await onboard(d, await buildZip(files, { manifest: { metadata: { vnf_provider_id: 'Acme', vnf_product_name: 'Test VNF', vnf_release_date_time: '2026-11-24T10:00:00+01:00', vnf_package_version: '1.0' } } }));
      assertError(info, 'CSAR-IMAGE-CHECKSUM');
      assert.deepEqual(errorRules(info), ['CSAR-IMAGE-CHECKSUM']);
    });
  });

  describe('hostile archives', () => {
    const cases = hostileCases(evil);
    for (const [what, make, rules] of cases) {
      it(`${what} → ERROR with ${rules.join(', ')}`, async () => {
        const info = await onboard(d, await make());
        assertError(info, ...rules);
        assert.equal(info.operationalState, 'DISABLED');
        assert.equal(info.onboardingFailureDetails.status, 422);
        assert.equal(info.onboardingFailureDetails.instance, `/vnfpkgm/v2/vnf_packages/${info.id}`);
        assert.match(info.onboardingFailureDetails.detail, new RegExp(rules[0]));
        // Nothing of a failed package is served.
        assert.equal((await d.request('GET', `${V1}/vnf_packages/${info.id}/vnfd`)).status, 409);
        // The service still answers.
        assert.equal((await fetch(`${d.url}/healthz`)).status, 200);
      });
    }

    it('the hook saw the packages unpacked, and nothing escaped: no `..`/absolute entry was written anywhere', () => {
      for (const where of [os.tmpdir(), tmp, savedTmp ?? '/tmp', '/tmp', d.dataDir, path.dirname(d.dataDir), '/']) {
        assert.equal(fs.existsSync(path.join(where, evil)), false, `${path.join(where, evil)} must not exist`);
      }
      assert.equal(fs.existsSync(path.join('/tmp', tmpPad(evil))), false);
    });
  });

  describe('operator command hooks', () => {
    it('a hook rejecting with {"findings": [...]} → ERROR listing exactly its findings (and the hook read {dir})', async () => {
      const info = await onboard(d, await buildPackage({ extra: { 'Files/reject.txt': 'acme says no' } }));
      const f = assertError(info, 'ACME-POLICY');
      assert.deepEqual(errorRules(info), ['ACME-POLICY']);
      const mine = f.find((x) => x.rule === 'ACME-POLICY');
      assert.deepEqual({ ...mine }, { rule: 'ACME-POLICY', severity: 'error', message: 'acme says no', file: 'Files/reject.txt', line: 1 });
      assert.ok(f.some((x) => x.rule === 'ACME-NOTE' && x.severity === 'warning'));
    });

    it('a hook exiting non-zero without findings → HOOK-REJECTED with its stderr', async () => {
      const info = await onboard(d, await buildPackage({ extra: { 'Files/exit7.txt': 'x' } }));
      const f = assertError(info, 'HOOK-REJECTED');
      assert.match(f.find((x) => x.rule === 'HOOK-REJECTED').message, /exited with 7: plain refusal/);
    });

    it('the package rejected by a hook can be uploaded again (from ERROR) and then onboards', async () => {
      const pkg = await createPackage(d);
      assert.equal((await putContent(d, pkg.id, await buildPackage({ extra: { 'Files/reject.txt': 'no' } }))).status, 202);
      assertError(await waitFinal(d, pkg.id), 'ACME-POLICY');
      assert.equal((await putContent(d, pkg.id, await buildPackage({}))).status, 202);
      const info = await waitFinal(d, pkg.id);
      assertOnboarded(info);
      assert.equal(info.onboardingFailureDetails, undefined);
    });
  });

  describe('state rules during processing', () => {
    it('DELETE and PUT package_content are 409 while PROCESSING (a slow hook holds it there)', async () => {
      const pkg = await createPackage(d);
      assert.equal((await putContent(d, pkg.id, await buildPackage({ extra: { 'Files/slow.txt': 'zzz' } }))).status, 202);
      const now: any = await (await d.request('GET', `${V1}/vnf_packages/${pkg.id}`)).json();
      assert.equal(now.onboardingState, 'PROCESSING');
      const del = await d.request('DELETE', `${V1}/vnf_packages/${pkg.id}`);
      assert.equal(del.status, 409);
      assert.match(((await del.json()) as any).detail, /PROCESSING/);
      assert.equal((await putContent(d, pkg.id, await buildPackage({}))).status, 409);
      assert.equal((await d.request('PATCH', `${V1}/vnf_packages/${pkg.id}`, { json: { operationalState: 'ENABLED' }, headers: { 'Content-Type': 'application/merge-patch+json' } })).status, 409);
      assertOnboarded(await waitFinal(d, pkg.id));
    });
  });

  describe('strict policy (onboarding.policy: strict)', () => {
    let strict: TestDepot;
    // Two services with different onboarding configurations on one database would take each other's
    // jobs (replicas share their configuration and their stores): the file's service pauses meanwhile.
    before(async () => {
      await d.depot.close();
      strict = await startTestDepot({ onboarding: { policy: 'strict' } });
    });
    after(async () => {
      await strict?.close();
      const { dataDir, users } = d;
      d = await startTestDepot(FILE_CONFIG, { dataDir, users });
      const close = d.close;
      d.close = async () => {
        await close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      };
    });

    it('formalities become errors: an unlisted file → CSAR-FILE-UNLISTED, no manifest → CSAR-MANIFEST-MISSING', async () => {
      const { files } = packageFiles({});
      const unlisted = await onboard(strict, await buildZip({ ...files, 'Scripts/sneaky.sh': 'x\n', 'manifest.mf': manifestOf(zipFilesManifest(files)) }));
      const f = assertError(unlisted, 'CSAR-FILE-UNLISTED');
      assert.deepEqual(f.filter((x) => x.rule === 'CSAR-FILE-UNLISTED').map((x) => x.file), ['Scripts/sneaky.sh']);
      assertError(await onboard(strict, await buildPackage({ noManifest: true })), 'CSAR-MANIFEST-MISSING');
    });
  });

  describe('no stray files', () => {
    it('no temp folders are left behind and the data dir holds only the store, the database and its keys', async () => {
      // Everything has settled (every test waited for a final state).
      const leftovers = fs.readdirSync(tmp).filter((n) => n.startsWith('depot-onboard-') || n.startsWith('depot-csar-'));
      assert.deepEqual(leftovers, [], 'onboarding temp folders are removed');
      const top = fs.readdirSync(d.dataDir).sort();
      const allowed = new Set(['blobs', 'marker.key', 'tokens.yaml', ...(testDatabaseUrl() ? [] : ['pg'])]);
      for (const n of top) assert.ok(allowed.has(n), `unexpected ${n} in the data dir (${top.join(', ')})`);
      const staging = path.join(d.dataDir, 'blobs', 'staging');
      const staged = fs.existsSync(staging) ? fs.readdirSync(staging) : [];
      assert.deepEqual(staged, [], 'no staging files remain');
      // Every object is named by the SHA-256 of its bytes, in its two-level fan-out folder.
      for (const file of walk(path.join(d.dataDir, 'blobs', 'objects'))) {
        const key = path.basename(file);
        assert.match(key, /^[0-9a-f]{64}$/);
        assert.equal(path.relative(path.join(d.dataDir, 'blobs', 'objects'), file), path.join(key.slice(0, 2), key.slice(2, 4), key));
        assert.equal(sha256(fs.readFileSync(file)), key, `${file} holds other bytes than its name says`);
      }
    });
  });
});

function objectPath(d: TestDepot, key: string): string {
  return path.join(d.dataDir, 'blobs', 'objects', key.slice(0, 2), key.slice(2, 4), key);
}

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}
