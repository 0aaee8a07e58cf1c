import assert from 'node:assert/strict';
import { checkSoftwareImages, crossCheckManifest, parseManifest, type CsarDigests, type CsarEntry } from '../../src/csar';
import type { SoftwareImageFacts, VnfdFacts } from '../../src/tosca';
import type { SoftwareImageRef, VnfdIdentity } from '../../src/csar';
import { sha256 } from '../helpers/csar-builder';

// Contract with the TOSCA validator: its facts must be accepted as they are.
export const vnfdFactsFit: (f: VnfdFacts) => VnfdIdentity = (f) => f;
export const imageFactsFit: (i: SoftwareImageFacts) => SoftwareImageRef = (i) => i;

const MANIFEST = `metadata:
  vnf_provider_id: Company
  vnf_product_name: Sample VNF
  vnf_release_date_time: 2026-11-24T10:00:00Z
  vnf_package_version: 1.0
  vnf_software_version: 2.1
`;

describe('csar cross-checks', () => {
  const { manifest, findings } = parseManifest(MANIFEST, 'vnfd.mf', 'warning');

  it('parses the metadata it cross-checks', () => {
    assert.deepEqual(findings, []);
    assert.deepEqual(manifest.metadata?.vnf_software_version, { value: '2.1', line: 6 });
  });

  it('finds nothing when the manifest repeats the VNFD identity', () => {
    assert.deepEqual(crossCheckManifest(manifest, { vnfProvider: 'Company', vnfProductName: 'Sample VNF', vnfSoftwareVersion: '2.1', vnfdVersion: '1.0' }), []);
  });

  it('reports each differing value at its manifest line', () => {
    const out = crossCheckManifest(manifest, { vnfProvider: 'Other', vnfProductName: 'Sample VNF', vnfdVersion: '3.0' });
    assert.deepEqual(out.map((f) => [f.rule, f.severity, f.file, f.line, f.path]), [
      ['CSAR-MANIFEST-VNFD-MISMATCH', 'error', 'vnfd.mf', 2, 'vnf_provider_id'],
      ['CSAR-MANIFEST-VNFD-MISMATCH', 'error', 'vnfd.mf', 5, 'vnf_package_version'],
    ]);
  });

  it('is silent without a metadata block (CSAR-MANIFEST-NO-METADATA already covers it)', () => {
    const bare = parseManifest('Source: a\nAlgorithm: SHA-256\nHash: 00\n', 'x.mf', 'warning').manifest;
    assert.deepEqual(crossCheckManifest(bare, { vnfProvider: 'X' }), []);
  });

  describe('checkSoftwareImages', () => {
    const img = 'Files/images/disk.img';
    const entries: CsarEntry[] = [{ name: img, size: 3, compressedSize: 3, method: 0, crc32: 0 }];
    const digests = new Map<string, CsarDigests>([[img, { sha256: sha256('abc') }]]);

    it('accepts a matching checksum in any spelling and skips external images', () => {
      const out = checkSoftwareImages(
        [
          { id: 'VDU1', imagePath: img, checksum: { algorithm: 'sha-256', hash: sha256('abc').toUpperCase() } },
          { id: 'VDU2', imagePath: 'https://images.example/disk.qcow2' },
        ],
        digests,
        entries,
      );
      assert.deepEqual(out, []);
    });

    it('reports a missing image file and a wrong checksum', () => {
      const out = checkSoftwareImages(
        [
          { id: 'VDU1', imagePath: 'Files/images/gone.img', file: 'Definitions/vnfd.yaml', line: 42 },
          { id: 'VDU2', imagePath: img, checksum: { algorithm: 'sha-256', hash: sha256('xyz') } },
          { id: 'VDU3', imagePath: img, checksum: { algorithm: 'sha-512', hash: 'a'.repeat(128) } },
        ],
        digests,
        entries,
      );
      assert.deepEqual(out.map((f) => [f.rule, f.path]), [
        ['CSAR-IMAGE-MISSING', 'VDU1'],
        ['CSAR-IMAGE-CHECKSUM', 'VDU2'],
        ['CSAR-IMAGE-CHECKSUM', 'VDU3'],
      ]);
      assert.match(out[2].message, /extraAlgorithms/);
      assert.deepEqual([out[0].file, out[0].line], ['Definitions/vnfd.yaml', 42]);
      assert.equal(out[1].file, img);
    });
  });
});
