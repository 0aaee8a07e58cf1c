import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { findEntryDefinitions } from '../../src/tosca/cli';
import { folderFiles, validateVnfd } from '../../src/tosca';
import { sharedDirOrSkip } from '../helpers/shared';

async function validateSample(shared: string, rel: string) {
  const files = folderFiles(path.join(shared, 'csar-samples', rel));
  const { entry } = await findEntryDefinitions(files);
  assert.ok(entry, `${rel}: no entry definitions`);
  return validateVnfd(files, entry);
}
const errors = (r: Awaited<ReturnType<typeof validateSample>>) => r.findings.filter((f) => f.severity === 'error').map((f) => `${f.rule} ${f.file}:${f.line}`);

describe('tosca: Tacker sample packages (../shared)', () => {
  for (const name of ['vnfpkgm2_meta_and_manifest', 'vnfpkgm3_single_yaml_no_meta', 'getting_started_minimal']) {
    it(`tacker-restored/${name} validates with no errors`, async function () {
      const r = await validateSample(sharedDirOrSkip(this), `tacker-restored/${name}`);
      assert.deepEqual(errors(r), []);
      assert.ok(r.facts.vnfdId && r.facts.vnfProvider && r.facts.vnfProductName && r.facts.vnfSoftwareVersion && r.facts.vnfdVersion);
      assert.deepEqual(r.facts.flavourIds, ['simple']);
      assert.ok(r.facts.softwareImages.length > 0);
      for (const img of r.facts.softwareImages) {
        assert.equal(img.imagePath, 'Files/images/cirros-0.5.2-x86_64-disk.img');
        assert.match(img.checksum?.algorithm ?? '', /^SHA-(256|512)$/);
        assert.match(img.checksum?.hash ?? '', /^[0-9a-f]{64,128}$/);
      }
    });
  }

  it('tacker-restored facts match the VNFD (vnfpkgm2, multi-file)', async function () {
    const r = await validateSample(sharedDirOrSkip(this), 'tacker-restored/vnfpkgm2_meta_and_manifest');
    assert.deepEqual(
      { ...r.facts, softwareImages: r.facts.softwareImages.map((i) => [i.id, i.name, i.version, i.minDisk, i.minRam, i.size, i.containerFormat, i.diskFormat]) },
      {
        vnfdId: 'd97a08ea-e647-5e15-bfdf-9bba02465ecb', vnfdVersion: '1.0', vnfProvider: 'DemoLabs', vnfProductName: 'Demo VNF', vnfSoftwareVersion: '1.0',
        vnfmInfo: ['Tacker'], flavourIds: ['simple'],
        softwareImages: [
          ['VDU1', 'Demo software of VDU1', '0.5.2', 4e9, 0, 4e9, 'BARE', 'QCOW2'],
          ['VirtualStorage', 'DemoVirtualStorage', '0.5.2', 8e9, 8192e6, 8e9, 'BARE', 'QCOW2'],
        ],
        descriptorFiles: ['Definitions/helloworld3_top.vnfd.yaml', 'Definitions/etsi_nfv_sol001_common_types.yaml', 'Definitions/etsi_nfv_sol001_vnfd_types.yaml', 'Definitions/helloworld3_types.yaml', 'Definitions/helloworld3_df_simple.yaml'],
      },
    );
    // Tacker's v2.6.1 type file is not valid YAML 1.2; it is accepted (as PyYAML does) with a warning
    assert.ok(r.findings.some((f) => f.rule === 'TOSCA-YAML-FLOW-INDENT' && f.file === 'Definitions/etsi_nfv_sol001_vnfd_types.yaml' && f.line === 652));
  });

  // EXPECTED.md, VNFD matters only (manifest, hash and TOSCA.meta findings belong to src/csar)
  const expected: [string, string[]][] = [
    ['vnfpkgm2_meta_and_manifest', ['TOSCA-ARTIFACT-FILE-MISSING Definitions/helloworld3_df_simple.yaml:97', 'TOSCA-ARTIFACT-FILE-MISSING Definitions/helloworld3_df_simple.yaml:150']],
    ['vnfpkgm3_single_yaml_no_meta', ['TOSCA-ARTIFACT-FILE-MISSING vnfd_helloworld_single.yaml:1116', 'TOSCA-ARTIFACT-FILE-MISSING vnfd_helloworld_single.yaml:1169']],
    ['getting_started_minimal', ['TOSCA-ARTIFACT-FILE-MISSING Definitions/sample_vnfd_df_simple.yaml:83']],
    ['neg_manifest_false_hash', ['TOSCA-ARTIFACT-FILE-MISSING Definitions/helloworld3_df_simple.yaml:97', 'TOSCA-ARTIFACT-FILE-MISSING Definitions/helloworld3_df_simple.yaml:150']],
    ['neg_single_manifest_false_name', ['TOSCA-ARTIFACT-FILE-MISSING VNF.yaml:1116', 'TOSCA-ARTIFACT-FILE-MISSING VNF.yaml:1169']],
    [
      'neg_csar_without_vnfd_info',
      [
        ...['descriptor_id', 'descriptor_version', 'provider', 'product_name', 'software_version', 'vnfm_info'].map(() => 'SOL001-VNF-PROPERTY Definitions/main_tosca.yaml:20'),
        'TOSCA-ARTIFACT-FILE-MISSING Definitions/tosca_with_vdus.yaml:61',
        'TOSCA-ARTIFACT-FILE-MISSING Definitions/tosca_with_vdus.yaml:114',
      ],
    ],
  ];
  for (const [name, want] of expected) {
    it(`tacker/${name} gets exactly its VNFD findings`, async function () {
      const r = await validateSample(sharedDirOrSkip(this), `tacker/${name}`);
      assert.deepEqual(errors(r).sort(), [...want].sort());
    });
  }

  it('neg_csar_without_vnfd_info names each missing VNF property', async function () {
    const r = await validateSample(sharedDirOrSkip(this), 'tacker/neg_csar_without_vnfd_info');
    const props = r.findings.filter((f) => f.rule === 'SOL001-VNF-PROPERTY').map((f) => f.path);
    assert.deepEqual(props, ['descriptor_id', 'descriptor_version', 'provider', 'product_name', 'software_version', 'vnfm_info'].map((p) => `topology_template/node_templates/VNF/properties/${p}`));
  });
});
