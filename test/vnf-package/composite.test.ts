import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildZip, sha256 } from '../helpers/csar-builder';
import { repoRoot } from '../helpers/shared';
import { startTestDepot, TestDepot } from '../helpers/depot';

const VNFD = fs.readFileSync(path.join(repoRoot, 'test/fixtures/tosca/valid/single_file_v3/Definitions/vnfd.yaml'), 'utf8');
const META = 'TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\nCreated-By: Depot tests\nEntry-Definitions: Definitions/vnfd.yaml\nETSI-Entry-Manifest: manifest.mf\n';

/** A valid package with a stored (uncompressed) image, as vendors ship VM images. */
async function csar(image: Buffer, descriptorVersion: string): Promise<Buffer> {
  const vnfd = VNFD.replace('0d3b8f5e-2a55-4d43-9f59-6a1c5e0b7c11', crypto.randomUUID())
    .replace("descriptor_version: '1.0'", `descriptor_version: '${descriptorVersion}'`)
    .replace(/hash: [0-9a-f]{64}/, `hash: ${sha256(image)}`)
    .replace('size: 17 B', `size: ${image.length} B`);
  const files = { 'TOSCA-Metadata/TOSCA.meta': META, 'Definitions/vnfd.yaml': vnfd, 'Files/images/depot-test-1.0.qcow2': image };
  return buildZip(files, {
    manifest: { metadata: { vnf_provider_id: 'Depot', vnf_product_name: 'Depot Test VNF', vnf_release_date_time: '2026-11-24T10:00:00Z', vnf_package_version: descriptorVersion } },
    entries: { 'Files/images/depot-test-1.0.qcow2': { compress: false } },
  });
}

function storedObjects(dataDir: string): string[] {
  const root = path.join(dataDir, 'blobs', 'objects');
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : out.push(e.name);
  };
  if (fs.existsSync(root)) walk(root);
  return out;
}

describe('VNF packages share bytes: a stored image is kept once across package versions', function () {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot({ gcIntervalSeconds: 0 });
  });
  after(async () => d?.close());

  async function onboard(zip: Buffer): Promise<string> {
    const created = (await (await d.request('POST', '/vnfpkgm/v1/vnf_packages', { json: {} })).json()) as any;
    const put = await d.request('PUT', `/vnfpkgm/v1/vnf_packages/${created.id}/package_content`, { body: zip, headers: { 'Content-Type': 'application/zip' } });
    assert.equal(put.status, 202);
    for (let i = 0; i < 200; i++) {
      const info = (await (await d.request('GET', `/vnfpkgm/v1/vnf_packages/${created.id}`)).json()) as any;
      if (info.onboardingState === 'ONBOARDED') return created.id;
      if (info.onboardingState === 'ERROR') assert.fail(JSON.stringify(info.onboardingFailureDetails));
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('not onboarded in time');
  }

  it('stores the image once, serves both packages byte-exact, before and after garbage collection', async () => {
    const image = crypto.randomBytes(3 * 2 ** 20);
    const v1 = await csar(image, '1.0');
    const v2 = await csar(image, '2.0');
    const [id1, id2] = [await onboard(v1), await onboard(v2)];

    // Whole CSARs are garbage once decomposed; collect them.
    const gc = await d.request('POST', '/admin/gc?graceSeconds=0', { as: d.users.admin });
    assert.equal(gc.status, 200);
    const objects = storedObjects(d.dataDir);
    assert.equal(objects.filter((k) => k === sha256(image)).length, 1, 'one object for the image');
    assert.ok(!objects.includes(sha256(v1)) && !objects.includes(sha256(v2)), 'no full CSAR copy is left');
    const total = objects.reduce((n, k) => n + fs.statSync(path.join(d.dataDir, 'blobs', 'objects', k.slice(0, 2), k.slice(2, 4), k)).size, 0);
    assert.ok(total < image.length * 1.2, `stored ${total} bytes for two packages sharing a ${image.length}-byte image`);

    for (const [id, zip] of [[id1, v1], [id2, v2]] as const) {
      const full = await d.request('GET', `/vnfpkgm/v1/vnf_packages/${id}/package_content`);
      assert.equal(full.status, 200);
      assert.equal(sha256(Buffer.from(await full.arrayBuffer())), sha256(zip));
      // A range across the skeleton/image boundary, and one inside the image.
      const offset = zip.indexOf(image.subarray(0, 64));
      const r1 = await d.request('GET', `/vnfpkgm/v1/vnf_packages/${id}/package_content`, { headers: { Range: `bytes=${offset - 10}-${offset + 9}` } });
      assert.equal(r1.status, 206);
      assert.deepEqual(Buffer.from(await r1.arrayBuffer()), zip.subarray(offset - 10, offset + 10));
      const img = await d.request('GET', `/vnfpkgm/v1/vnf_packages/${id}/artifacts/Files/images/depot-test-1.0.qcow2`, { headers: { Range: 'bytes=1048570-1048589' } });
      assert.deepEqual(Buffer.from(await img.arrayBuffer()), image.subarray(1048570, 1048590));
    }
  });
});
