import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { QueryTypes } from 'sequelize';
import { centralRecords, dropCentral, manifestText, sha256, streamedZip } from '../helpers/csar-builder';
import { startTestDepot, TestDepot } from '../helpers/depot';
import { assertError, assertOnboarded, buildPackage, bytes, DEFAULT_META_BLOCK, IMAGE_PATH, imageBytes, onboard, packageFiles, V1 } from './helpers';

/**
 * The single-pass pipeline over HTTP: the CSAR is split while it uploads (src/packages/ingest.ts),
 * the package blob is a composite of the skeleton and the image object, and everything served is
 * still byte-exact.
 */
describe('VNF packages: single-pass onboarding (split while uploading)', function () {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot({ gcIntervalSeconds: 0 });
  });
  after(async () => d?.close());

  const blobRows = (id: string) =>
    d.depot.db.sequelize.query<{ field: string; path: string; content_key: string; segments: { key: string; offset: number; length: number }[] | null; size: string }>(
      `SELECT field, path, content_key, segments, size FROM blobs WHERE artifact_id = :id ORDER BY field, path`,
      { replacements: { id }, type: QueryTypes.SELECT },
    );

  function storedKeys(): Set<string> {
    const out = new Set<string>();
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) e.isDirectory() ? walk(path.join(dir, e.name)) : out.add(e.name);
    };
    walk(path.join(d.dataDir, 'blobs', 'objects'));
    return out;
  }

  async function assertServedExactly(id: string, zip: Buffer, image: Buffer): Promise<void> {
    const pc = await d.request('GET', `${V1}/vnf_packages/${id}/package_content`);
    assert.equal(pc.status, 200);
    assert.ok((await bytes(pc)).equals(zip), 'package_content is the upload, byte for byte');
    const mid = Math.floor(zip.length / 2);
    const range = await d.request('GET', `${V1}/vnf_packages/${id}/package_content`, { headers: { Range: `bytes=${mid - 5000}-${mid + 5000}` } });
    assert.equal(range.status, 206);
    assert.ok((await bytes(range)).equals(zip.subarray(mid - 5000, mid + 5001)), 'a range across segments');
    const art = await d.request('GET', `${V1}/vnf_packages/${id}/artifacts/${IMAGE_PATH}`);
    assert.equal(art.status, 200);
    assert.ok((await bytes(art)).equals(image));
    const part = await d.request('GET', `${V1}/vnf_packages/${id}/artifacts/${IMAGE_PATH}`, { headers: { Range: 'bytes=100000-100999' } });
    assert.equal(part.status, 206);
    assert.ok((await bytes(part)).equals(image.subarray(100000, 101000)));
  }

  it('a stored image is written once: the package blob is [skeleton, image object, skeleton]; the whole CSAR is never stored', async () => {
    const image = imageBytes(3 << 20, 21);
    const zip = await buildPackage({ image, imageStored: true });
    const info = await onboard(d, zip);
    assertOnboarded(info);
    assert.equal(info.checksum.hash, sha256(zip), 'VnfPkgInfo.checksum is the SHA-256 of the whole upload');
    const rows = await blobRows(info.id);
    const pkg = rows.find((r) => r.field === 'package')!;
    assert.ok(pkg.segments, 'the package blob is a composite');
    assert.equal(pkg.segments.length, 3);
    assert.deepEqual(pkg.segments[1], { key: sha256(image), offset: 0, length: image.length });
    assert.equal(pkg.segments[0].key, pkg.content_key);
    assert.equal(pkg.segments.reduce((n, s) => n + s.length, 0), zip.length);
    const img = rows.find((r) => r.field === 'content' && r.path === IMAGE_PATH)!;
    assert.equal(img.content_key, sha256(image), 'the image file of the content folder is the same object');
    const keys = storedKeys();
    assert.equal(keys.has(sha256(zip)), false, 'no object holds the whole CSAR');
    assert.ok(keys.has(sha256(image)));
    await assertServedExactly(info.id, zip, image);
  });

  it('an upload cut inside a stored image → accepted, then ERROR with CSAR-ZIP-CORRUPT (not a 500)', async () => {
    const zip = await buildPackage({ image: imageBytes(3 << 20, 23), imageStored: true });
    assertError(await onboard(d, zip.subarray(0, zip.length >> 1)), 'CSAR-ZIP-CORRUPT');
  });

  it('deflated entries with data descriptors (Java ZipOutputStream style) onboard; byte-exact', async () => {
    const image = imageBytes(2 << 20, 22);
    const { files } = packageFiles({ image });
    const all: Record<string, string | Buffer> = { ...files, 'manifest.mf': manifestText(files, { metadata: DEFAULT_META_BLOCK }) };
    const zip = await streamedZip(all);
    assert.ok(centralRecords(zip).length === Object.keys(all).length && (zip.readUInt16LE(6) & 8) !== 0, 'the builder wrote data descriptors');
    const info = await onboard(d, zip);
    assertOnboarded(info);
    await assertServedExactly(info.id, zip, image);
  });

  it('a stored image with a data descriptor cannot be split while streaming: it onboards by the fallback, byte-exact', async () => {
    const image = imageBytes(2 << 20, 23);
    const { files } = packageFiles({ image });
    const all: Record<string, string | Buffer> = { ...files, 'manifest.mf': manifestText(files, { metadata: DEFAULT_META_BLOCK }) };
    const zip = await streamedZip(all, { stored: [IMAGE_PATH], buffered: Object.keys(all).filter((n) => n !== IMAGE_PATH) });
    const info = await onboard(d, zip);
    assertOnboarded(info);
    await assertServedExactly(info.id, zip, image);
    // After processing the image is an object of its own all the same (decomposed from the stored package).
    const rows = await blobRows(info.id);
    assert.ok(rows.find((r) => r.field === 'package')!.segments?.some((s) => s.key === sha256(image)));
  });

  it('a local header the central directory hides → ERROR with CSAR-ZIP-HIDDEN-ENTRY', async () => {
    const zip = await buildPackage({ extra: { 'Files/hidden.sh': 'echo hidden\n' } });
    const info = await onboard(d, dropCentral('Files/hidden.sh')(zip));
    const findings = assertError(info, 'CSAR-ZIP-HIDDEN-ENTRY');
    assert.equal(findings.find((f) => f.rule === 'CSAR-ZIP-HIDDEN-ENTRY').file, 'Files/hidden.sh');
  });
});
