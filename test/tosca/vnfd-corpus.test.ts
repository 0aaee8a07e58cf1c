import { strict as assert } from 'node:assert';
import { folderFiles, validateVnfd, validateToscaTemplate } from '../../src/tosca';
import { Edit, FIXTURES, withEdits } from './corpus';

const S = 'Definitions/vnfd.yaml';
const SINGLE = 'valid/single_file_v3';
const SINGLE_ENTRY = S;
const MULTI = 'valid/multi_flavour_v2';
const MULTI_ENTRY = 'Definitions/top.yaml';
const TOP = 'Definitions/top.yaml';
const TYPES = 'Definitions/types.yaml';
const SMALL = 'Definitions/df_small.yaml';
const LARGE = 'Definitions/df_large.yaml';

interface Case {
  name: string;
  pkg: 'single' | 'multi';
  edits: Edit[];
  /** every finding, as `RULE file:line`, in any order */
  expect: string[];
}

/**
 * Broken variants of the valid corpus: one defect each, and the exact findings (rule, file, line) it
 * must produce, no more and no less.
 */
export const CASES: Case[] = [
  // --- loading
  { name: 'YAML syntax error', pkg: 'single', edits: [[S, '        name: vdu1\n', '        name: [vdu1\n']], expect: ['TOSCA-YAML-SYNTAX Definitions/vnfd.yaml:48'] },
  { name: 'duplicate key', pkg: 'single', edits: [[S, '        name: vdu1\n', '        name: vdu1\n        name: vdu1b\n']], expect: ['TOSCA-DUPLICATE-KEY Definitions/vnfd.yaml:48'] },
  // --- imports
  { name: 'import neither in package nor in catalog', pkg: 'single', edits: [[S, '  - etsi_nfv_sol001_vnfd_types.yaml\n', '  - etsi_nfv_sol001_vnfd_types.yaml\n  - vendor_types.yaml\n']], expect: ['TOSCA-IMPORT-NOT-FOUND Definitions/vnfd.yaml:6'] },
  { name: 'URL import not in catalog (no network)', pkg: 'single', edits: [[S, '  - etsi_nfv_sol001_vnfd_types.yaml\n', '  - etsi_nfv_sol001_vnfd_types.yaml\n  - https://example.com/tosca/vendor_types.yaml\n']], expect: ['TOSCA-IMPORT-NOT-FOUND Definitions/vnfd.yaml:6'] },
  { name: 'import cycle', pkg: 'multi', edits: [[TYPES, '  - https://forge.etsi.org/rep/nfv/SOL001/raw/v2.7.1/etsi_nfv_sol001_vnfd_types.yaml\n', '  - https://forge.etsi.org/rep/nfv/SOL001/raw/v2.7.1/etsi_nfv_sol001_vnfd_types.yaml\n  - top.yaml\n']], expect: ['TOSCA-IMPORT-CYCLE Definitions/types.yaml:6'] },
  // --- type system
  { name: 'unknown parent type', pkg: 'multi', edits: [[TYPES, 'derived_from: tosca.nodes.nfv.VNF', 'derived_from: tosca.nodes.nfv.VNFD']], expect: ['TOSCA-UNKNOWN-TYPE Definitions/types.yaml:8'] },
  {
    name: 'derivation cycle',
    pkg: 'multi',
    edits: [[TYPES, 'node_types:\n', 'data_types:\n  depot.A:\n    derived_from: depot.B\n  depot.B:\n    derived_from: depot.A\nnode_types:\n']],
    expect: ['TOSCA-DERIVATION-CYCLE Definitions/types.yaml:8', 'TOSCA-DERIVATION-CYCLE Definitions/types.yaml:10'],
  },
  { name: 'unknown property type in a type definition', pkg: 'multi', edits: [[TYPES, '        default: \'\'\n', '        default: \'\'\n      colour:\n        type: depot.Colour\n        required: false\n']], expect: ['TOSCA-UNKNOWN-TYPE Definitions/types.yaml:17'] },
  { name: 'typo in a property definition keyname', pkg: 'single', edits: [[S, '        default: small\n', '        default: small\n        requried: false\n']], expect: ['TOSCA-UNKNOWN-KEYNAME Definitions/vnfd.yaml:14'] },
  { name: 'typo in a node type keyname (and what it hides)', pkg: 'single', edits: [[S, '    requirements:\n      - virtual_link_external:', '    requirement:\n      - virtual_link_external:']], expect: ['TOSCA-UNKNOWN-KEYNAME Definitions/vnfd.yaml:17', 'TOSCA-SUBSTITUTION-MAPPING Definitions/vnfd.yaml:31'] },
  { name: 'type default violates its own constraint', pkg: 'single', edits: [[S, '        default: small\n', '        default: tiny\n']], expect: ['TOSCA-CONSTRAINT Definitions/vnfd.yaml:13'] },
  // --- topology: properties and values
  { name: 'required property missing', pkg: 'single', edits: [[S, '        description: the only VDU\n', '']], expect: ['TOSCA-REQUIRED-PROPERTY Definitions/vnfd.yaml:47'] },
  { name: 'unknown property', pkg: 'single', edits: [[S, '        description: the only VDU\n', '        description: the only VDU\n        colour: red\n']], expect: ['TOSCA-UNKNOWN-PROPERTY Definitions/vnfd.yaml:49'] },
  { name: 'integer expected', pkg: 'single', edits: [[S, 'num_virtual_cpu: 2', 'num_virtual_cpu: two']], expect: ['TOSCA-TYPE-MISMATCH Definitions/vnfd.yaml:58'] },
  { name: 'greater_than constraint', pkg: 'single', edits: [[S, 'num_virtual_cpu: 2', 'num_virtual_cpu: 0']], expect: ['TOSCA-CONSTRAINT Definitions/vnfd.yaml:58'] },
  { name: 'scalar-unit.size with an unknown unit', pkg: 'single', edits: [[S, 'virtual_mem_size: 2 GiB', 'virtual_mem_size: 2 GiBs']], expect: ['TOSCA-TYPE-MISMATCH Definitions/vnfd.yaml:56'] },
  { name: 'scalar-unit.frequency without a unit', pkg: 'single', edits: [[S, 'virtual_cpu_clock: 2.4 GHz', 'virtual_cpu_clock: 2400']], expect: ['TOSCA-TYPE-MISMATCH Definitions/vnfd.yaml:59'] },
  { name: 'scalar-unit.size compared with greater_or_equal 0 B', pkg: 'single', edits: [[S, 'min_disk: 1 GiB', 'min_disk: -1 GiB']], expect: ['TOSCA-CONSTRAINT Definitions/vnfd.yaml:74'] },
  { name: 'unquoted number where a string is expected', pkg: 'single', edits: [[S, "descriptor_version: '1.0'", 'descriptor_version: 1.10']], expect: ['TOSCA-STRING-NOT-QUOTED Definitions/vnfd.yaml:37'] },
  { name: 'valid_values', pkg: 'single', edits: [[S, 'disk_format: qcow2', 'disk_format: qcow3']], expect: ['TOSCA-CONSTRAINT Definitions/vnfd.yaml:73'] },
  { name: 'pattern (vnfm_info)', pkg: 'single', edits: [[S, "vnfm_info: [ 'etsivnfm:v3.3.1' ]", 'vnfm_info: [ Tacker ]']], expect: ['TOSCA-CONSTRAINT Definitions/vnfd.yaml:41', 'SOL001-VNFM-INFO Definitions/vnfd.yaml:41'] },
  { name: 'pattern with catastrophic backtracking does not hang', pkg: 'single', edits: [[S, "        default: Small flavour\n", "        default: Small flavour\n      product_info_name:\n        type: string\n        required: false\n        constraints: [ pattern: '(a+)+$' ]\n"], [S, '        flavour_description: Small flavour\n    VDU1:', `        flavour_description: Small flavour\n        product_info_name: ${'a'.repeat(40)}!\n    VDU1:`]], expect: ['TOSCA-CONSTRAINT Definitions/vnfd.yaml:48'] },
  { name: 'pattern with a backreference is not evaluated', pkg: 'single', edits: [[S, "        default: Small flavour\n", "        default: Small flavour\n      product_info_name:\n        type: string\n        required: false\n        constraints: [ pattern: '(a)\\1' ]\n"], [S, '        flavour_description: Small flavour\n    VDU1:', '        flavour_description: Small flavour\n        product_info_name: aa\n    VDU1:']], expect: ['TOSCA-PATTERN-UNCHECKED Definitions/vnfd.yaml:20'] },
  { name: 'nested data type: unknown field', pkg: 'single', edits: [[S, '                cidr: 10.10.0.0/24\n', '                cidr: 10.10.0.0/24\n                gateway: 10.10.0.1\n']], expect: ['TOSCA-UNKNOWN-PROPERTY Definitions/vnfd.yaml:113'] },
  { name: 'nested data type: required field missing', pkg: 'single', edits: [[S, '              algorithm: sha-256\n', '']], expect: ['TOSCA-REQUIRED-PROPERTY Definitions/vnfd.yaml:70'] },
  { name: 'map expected for a data type', pkg: 'single', edits: [[S, '        virtual_block_storage_data:\n          size_of_storage: 20 GB\n', '        virtual_block_storage_data: 20 GB\n']], expect: ['TOSCA-TYPE-MISMATCH Definitions/vnfd.yaml:82'] },
  { name: 'list entry_schema', pkg: 'single', edits: [[S, '        layer_protocols: [ ipv4 ]\n        order: 0\n', '        layer_protocols: [ ipv4, ipv5 ]\n        order: 0\n']], expect: ['TOSCA-CONSTRAINT Definitions/vnfd.yaml:87'] },
  // --- topology: functions
  { name: 'get_input of an undeclared input', pkg: 'single', edits: [[S, 'get_input: selected_flavour', 'get_input: chosen_flavour']], expect: ['TOSCA-INPUT-UNKNOWN Definitions/vnfd.yaml:42'] },
  { name: 'get_property of a missing node', pkg: 'single', edits: [[S, '        order: 0\n', '        order: { get_property: [ VDU9, order ] }\n']], expect: ['TOSCA-FUNCTION-TARGET Definitions/vnfd.yaml:88'] },
  { name: 'get_attribute of an undefined attribute', pkg: 'single', edits: [[S, '        order: 0\n', '        order: { get_attribute: [ VDU1, colour ] }\n']], expect: ['TOSCA-FUNCTION-TARGET Definitions/vnfd.yaml:88'] },
  // --- topology: requirements, capabilities, interfaces, artifacts
  { name: 'requirement to a missing node template', pkg: 'single', edits: [[S, '        - virtual_binding: VDU1\n', '        - virtual_binding: VDU9\n']], expect: ['TOSCA-REQUIREMENT-TARGET Definitions/vnfd.yaml:90'] },
  { name: 'requirement to a node without the capability', pkg: 'single', edits: [[S, '        - virtual_link: INT_VL\n', '        - virtual_link: STORAGE1\n']], expect: ['TOSCA-REQUIREMENT-INCOMPATIBLE Definitions/vnfd.yaml:91'] },
  { name: 'unknown requirement name', pkg: 'single', edits: [[S, '        - virtual_binding: VDU1\n', '        - virtual_bound: VDU1\n']], expect: ['TOSCA-UNKNOWN-REQUIREMENT Definitions/vnfd.yaml:90', 'TOSCA-REQUIREMENT-OCCURRENCES Definitions/vnfd.yaml:84'] },
  { name: 'requirement used more often than occurrences allow', pkg: 'single', edits: [[S, '        - virtual_link: INT_VL\n', '        - virtual_link: INT_VL\n        - virtual_link: INT_VL\n']], expect: ['TOSCA-REQUIREMENT-OCCURRENCES Definitions/vnfd.yaml:92'] },
  { name: 'unknown capability', pkg: 'single', edits: [[S, '        virtual_compute:\n', '        virtual_computer:\n']], expect: ['TOSCA-UNKNOWN-CAPABILITY Definitions/vnfd.yaml:53'] },
  { name: 'unknown interface operation', pkg: 'single', edits: [[S, '        flavour_description: Small flavour\n    VDU1:', '        flavour_description: Small flavour\n      interfaces:\n        Vnflcm:\n          instantiate: []\n          explode: []\n    VDU1:']], expect: ['TOSCA-UNKNOWN-INTERFACE Definitions/vnfd.yaml:47'] },
  { name: 'sw_image artifact file missing', pkg: 'single', edits: [[S, 'file: ../Files/images/depot-test-1.0.qcow2', 'file: ../Files/images/depot-test-2.0.qcow2']], expect: ['TOSCA-ARTIFACT-FILE-MISSING Definitions/vnfd.yaml:65'] },
  { name: 'operation implementation file missing', pkg: 'single', edits: [[S, '        flavour_description: Small flavour\n    VDU1:', '        flavour_description: Small flavour\n      interfaces:\n        Vnflcm:\n          instantiate_end:\n            implementation: ../Scripts/configure.sh\n    VDU1:']], expect: ['TOSCA-ARTIFACT-FILE-MISSING Definitions/vnfd.yaml:47'] },
  { name: 'operation implementation naming an artifact of the node is no file reference', pkg: 'single', edits: [[S, '        flavour_description: Small flavour\n    VDU1:', '        flavour_description: Small flavour\n      interfaces:\n        Vnflcm:\n          instantiate_end:\n            implementation: image_script\n      artifacts:\n        image_script:\n          type: tosca.artifacts.Implementation.Bash\n          file: ../Files/images/depot-test-1.0.qcow2\n    VDU1:']], expect: [] },
  { name: 'artifact path escaping the package', pkg: 'single', edits: [[S, 'file: ../Files/images/depot-test-1.0.qcow2', 'file: ../../etc/passwd']], expect: ['TOSCA-ARTIFACT-FILE-MISSING Definitions/vnfd.yaml:65'] },
  { name: 'unknown node template keyname', pkg: 'single', edits: [[S, '      type: tosca.nodes.nfv.Vdu.VirtualBlockStorage\n', '      type: tosca.nodes.nfv.Vdu.VirtualBlockStorage\n      descripton: typo\n']], expect: ['TOSCA-UNKNOWN-KEYNAME Definitions/vnfd.yaml:81'] },
  { name: 'node template of an unknown type', pkg: 'single', edits: [[S, 'type: tosca.nodes.nfv.Vdu.VirtualBlockStorage', 'type: tosca.nodes.nfv.Vdu.VirtualBlockStore']], expect: ['TOSCA-UNKNOWN-TYPE Definitions/vnfd.yaml:80'] },
  { name: 'node template typed with a data type', pkg: 'single', edits: [[S, 'type: tosca.nodes.nfv.Vdu.VirtualBlockStorage', 'type: tosca.datatypes.nfv.VirtualBlockStorageData']], expect: ['TOSCA-WRONG-TYPE-KIND Definitions/vnfd.yaml:80'] },
  // --- substitution mappings, policies, groups
  { name: 'substitution node_type unknown', pkg: 'single', edits: [[S, '    node_type: depot.test.VNF\n', '    node_type: depot.test.VNF2\n']], expect: ['TOSCA-UNKNOWN-TYPE Definitions/vnfd.yaml:27'] },
  { name: 'substitution maps a requirement the template lacks', pkg: 'single', edits: [[S, '[ EXT_CP, external_virtual_link ]', '[ EXT_CP, external_link ]']], expect: ['TOSCA-SUBSTITUTION-MAPPING Definitions/vnfd.yaml:31'] },
  { name: 'substitution maps a requirement the node type lacks', pkg: 'single', edits: [[S, '      virtual_link_external: [ EXT_CP', '      virtual_link_outside: [ EXT_CP']], expect: ['TOSCA-SUBSTITUTION-MAPPING Definitions/vnfd.yaml:31'] },
  { name: 'substitution property value violates the type', pkg: 'single', edits: [[S, '      flavour_id: small\n', '      flavour_id: large\n']], expect: ['TOSCA-CONSTRAINT Definitions/vnfd.yaml:29'] },
  { name: 'policy targets a missing node', pkg: 'single', edits: [[S, '        targets: [ VDU1 ]\n    - VDU1_scaling_deltas:', '        targets: [ VDU7 ]\n    - VDU1_scaling_deltas:']], expect: ['TOSCA-POLICY-TARGET Definitions/vnfd.yaml:128'] },
  { name: 'policy targets a node of a type it does not allow', pkg: 'single', edits: [[S, '        targets: [ VDU1 ]\n    - VDU1_scaling_deltas:', '        targets: [ INT_VL ]\n    - VDU1_scaling_deltas:']], expect: ['TOSCA-POLICY-TARGET Definitions/vnfd.yaml:128'] },
  { name: 'group member missing', pkg: 'multi', edits: [[LARGE, 'members: [ VDU1, VDU2 ]', 'members: [ VDU1, VDU3 ]']], expect: ['TOSCA-POLICY-TARGET Definitions/df_large.yaml:96'] },
  // --- SOL001
  { name: 'VNF node missing', pkg: 'multi', edits: [[TOP, '    VNF:\n      type: depot.multi.VNF\n', '    VNFX:\n      type: tosca.nodes.Root\n'], [TOP, '      properties:\n        descriptor_id: 6b1e2f40-1c1f-4c55-8f0e-3f3f2b8f9a01\n        descriptor_version: \'2.1\'\n        provider: Depot\n        product_name: Depot Multi VNF\n        software_version: \'2.1.0\'\n        vnfm_info: [ \'0:depot-vnfm\' ]\n        flavour_id: { get_input: selected_flavour }\n', ''], [SMALL, '    VNF:\n      type: depot.multi.VNF\n      properties:\n        flavour_description: one VM\n', ''], [LARGE, '    VNF:\n      type: depot.multi.VNF\n      properties:\n        flavour_description: two VDUs on an internal network\n', '']], expect: ['SOL001-VNF-MISSING Definitions/top.yaml:1'] },
  { name: 'VNF node lacks a mandatory property', pkg: 'single', edits: [[S, '        provider: Depot\n', '']], expect: ['TOSCA-REQUIRED-PROPERTY Definitions/vnfd.yaml:36', 'SOL001-VNF-PROPERTY Definitions/vnfd.yaml:36'] },
  { name: 'VNF node relies on type defaults for its identity (Tacker: "VNF properties are mandatory")', pkg: 'multi', edits: [[TYPES, "        default: ''\n", "        default: ''\n      provider:\n        type: string\n        default: Depot\n"], [TOP, '        provider: Depot\n', '']], expect: ['SOL001-VNF-PROPERTY Definitions/top.yaml:18'] },
  { name: 'two VNF nodes in one flavour', pkg: 'multi', edits: [[SMALL, '    VDU1:\n', '    VNF2:\n      type: depot.multi.VNF\n      properties:\n        flavour_description: again\n    VDU1:\n']], expect: ['SOL001-VNF-MULTIPLE Definitions/df_small.yaml:17'] },
  { name: 'two flavours with the same flavour_id', pkg: 'multi', edits: [[LARGE, '      flavour_id: large\n', '      flavour_id: small\n']], expect: ['SOL001-FLAVOUR-DUPLICATE Definitions/df_large.yaml:9'] },
  { name: 'vdu_profile min > max', pkg: 'single', edits: [[S, '          min_number_of_instances: 1\n          max_number_of_instances: 3\n', '          min_number_of_instances: 1\n          max_number_of_instances: 0\n']], expect: ['SOL001-VDU-PROFILE Definitions/vnfd.yaml:50', 'SOL001-SCALING-CONSISTENCY Definitions/vnfd.yaml:127', 'SOL001-SCALING-CONSISTENCY Definitions/vnfd.yaml:157', 'SOL001-SCALING-CONSISTENCY Definitions/vnfd.yaml:159'] },
  { name: 'SwImage artifact without image data', pkg: 'multi', edits: [[SMALL, `        sw_image_data:\n          name: depot-multi\n          version: '2.1'\n          checksum:\n            algorithm: sha-512\n            hash: ${'ab'.repeat(64)}\n          container_format: bare\n          disk_format: qcow2\n          min_disk: 2 GB\n          min_ram: 1 GiB\n          size: 24 B\n`, '']], expect: ['SOL001-SW-IMAGE Definitions/df_small.yaml:33'] },
  { name: 'two SwImage artifacts on one VDU', pkg: 'multi', edits: [[SMALL, '          file: ../Files/images/depot-multi.img\n', '          file: ../Files/images/depot-multi.img\n        sw_image2:\n          type: tosca.artifacts.nfv.SwImage\n          file: ../Files/images/depot-multi.img\n']], expect: ['SOL001-SW-IMAGE Definitions/df_small.yaml:47'] },
  { name: 'checksum hash of the wrong length for its algorithm', pkg: 'single', edits: [[S, 'algorithm: sha-256', 'algorithm: sha-512']], expect: ['SOL001-CHECKSUM Definitions/vnfd.yaml:71'] },
  { name: 'virtual link nothing connects to', pkg: 'single', edits: [[S, '        - virtual_link: INT_VL\n', ''], [S, '        - internal_virtual_link: INT_VL\n', '        - internal_virtual_link: EXT_VL\n'], [S, '    INT_VL:\n', '    EXT_VL:\n      type: tosca.nodes.nfv.VnfVirtualLink\n      properties:\n        connectivity_type:\n          layer_protocols: [ ipv4 ]\n        vl_profile:\n          max_bitrate_requirements:\n            root: 1\n          min_bitrate_requirements:\n            root: 1\n    INT_VL:\n']], expect: ['SOL001-UNREFERENCED Definitions/vnfd.yaml:107'] },
  { name: 'virtual storage no VDU attaches', pkg: 'single', edits: [[S, '      requirements:\n        - virtual_storage: STORAGE1\n', '']], expect: ['SOL001-UNREFERENCED Definitions/vnfd.yaml:77'] },
  { name: 'VduCp without virtual_binding (v3 types: occurrences [1, 1])', pkg: 'single', edits: [[S, '        - virtual_binding: VDU1\n', '']], expect: ['TOSCA-REQUIREMENT-OCCURRENCES Definitions/vnfd.yaml:84'] },
  { name: 'VduCp without virtual_binding (v2 types: SOL001 rule)', pkg: 'multi', edits: [[SMALL, '      requirements:\n        - virtual_binding: VDU1\n', '']], expect: ['SOL001-CP-BINDING Definitions/df_small.yaml:47'] },
  { name: 'VnfExtCp without internal_virtual_link', pkg: 'single', edits: [[S, '        - internal_virtual_link: INT_VL\n', '']], expect: ['TOSCA-REQUIREMENT-OCCURRENCES Definitions/vnfd.yaml:92'] },
  { name: 'scaling deltas of an undeclared aspect', pkg: 'single', edits: [[S, 'aspect: vdu1_aspect', 'aspect: vdu2_aspect']], expect: ['SOL001-SCALING-ASPECT Definitions/vnfd.yaml:132'] },
  { name: 'default_level not among the levels', pkg: 'single', edits: [[S, 'default_level: level_small', 'default_level: level_medium']], expect: ['SOL001-SCALING-ASPECT Definitions/vnfd.yaml:151'] },
  { name: 'VDU level not declared by InstantiationLevels', pkg: 'single', edits: [[S, '            level_big:\n              number_of_instances: 3\n', '            level_huge:\n              number_of_instances: 3\n']], expect: ['SOL001-SCALING-ASPECT Definitions/vnfd.yaml:158'] },
  { name: 'scale_level above max_scale_level', pkg: 'single', edits: [[S, '                  scale_level: 2\n', '                  scale_level: 5\n']], expect: ['SOL001-SCALING-CONSISTENCY Definitions/vnfd.yaml:150'] },
  { name: 'delta not among the aspect step_deltas', pkg: 'single', edits: [[S, '            delta_1:\n', '            delta_9:\n']], expect: ['SOL001-SCALING-CONSISTENCY Definitions/vnfd.yaml:134'] },
];

function summary(findings: { rule: string; file?: string; line?: number }[]): string[] {
  return findings.map((f) => `${f.rule} ${f.file}:${f.line}`).sort();
}

describe('tosca: VNFD corpus', () => {
  it('the single-file SOL001 v3 VNFD (SwImage artifact properties) is valid, with its facts', async () => {
    const r = await validateVnfd(folderFiles(`${FIXTURES}/${SINGLE}`), SINGLE_ENTRY);
    assert.deepEqual(r.findings, []);
    assert.deepEqual(r.facts, {
      vnfdId: '0d3b8f5e-2a55-4d43-9f59-6a1c5e0b7c11',
      vnfdVersion: '1.0',
      vnfProvider: 'Depot',
      vnfProductName: 'Depot Test VNF',
      vnfSoftwareVersion: '1.0.0',
      vnfmInfo: ['etsivnfm:v3.3.1'],
      flavourIds: ['small'],
      softwareImages: [
        {
          id: 'VDU1', name: 'depot-test', provider: 'Depot', version: '1.0',
          checksum: { algorithm: 'SHA-256', hash: '5f2b0b5d9c2e1c5b8a0f6f2e9d4b3c7a1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b' },
          containerFormat: 'BARE', diskFormat: 'QCOW2', minDisk: 2 ** 30, minRam: 512 * 2 ** 20, size: 17,
          imagePath: 'Files/images/depot-test-1.0.qcow2', file: S, line: 67,
        },
      ],
      descriptorFiles: [S],
    });
  });

  it('the multi-flavour SOL001 v2 VNFD (top + types + one file per flavour, sw_image_data) is valid, with its facts', async () => {
    const r = await validateVnfd(folderFiles(`${FIXTURES}/${MULTI}`), MULTI_ENTRY);
    assert.deepEqual(r.findings, []);
    assert.equal(r.facts.vnfdId, '6b1e2f40-1c1f-4c55-8f0e-3f3f2b8f9a01');
    assert.deepEqual(r.facts.vnfmInfo, ['0:depot-vnfm']);
    assert.deepEqual(r.facts.flavourIds, ['small', 'large']);
    assert.deepEqual(r.facts.descriptorFiles, [TOP, TYPES, SMALL, LARGE]);
    // VDU1 of both flavours names the same image (id, name, version, file, checksum): one software image
    assert.deepEqual(r.facts.softwareImages.map((i) => [i.id, i.name, i.imagePath, i.checksum, i.minDisk, i.minRam, i.size, i.file, i.line]), [
      ['VDU1', 'depot-multi', 'Files/images/depot-multi.img', { algorithm: 'SHA-512', hash: 'ab'.repeat(64) }, 2e9, 2 ** 30, 24, SMALL, 26],
    ]);
  });

  it('SOL001 v4.x forge URLs resolve from the catalog', async () => {
    const files = withEdits(SINGLE, [[S, '  - etsi_nfv_sol001_common_types.yaml\n  - etsi_nfv_sol001_vnfd_types.yaml\n', '  - https://forge.etsi.org/rep/nfv/SOL001/raw/v4.3.1/etsi_nfv_sol001_common_types.yaml\n  - https://forge.etsi.org/rep/nfv/SOL001/raw/v4.3.1/etsi_nfv_sol001_vnfd_types.yaml\n']]);
    const r = await validateVnfd(files, S);
    assert.deepEqual(summary(r.findings), []);
  });

  it('validateToscaTemplate applies TOSCA rules but not SOL001 ones', async () => {
    const files = withEdits(SINGLE, [[S, '        provider: Depot\n', ''], [S, 'num_virtual_cpu: 2', 'num_virtual_cpu: 0']]);
    const r = await validateToscaTemplate(files, S);
    assert.deepEqual(summary(r.findings), ['TOSCA-CONSTRAINT Definitions/vnfd.yaml:57', 'TOSCA-REQUIRED-PROPERTY Definitions/vnfd.yaml:36']);
  });

  for (const c of CASES) {
    it(`broken: ${c.name}`, async () => {
      const files = withEdits(c.pkg === 'single' ? SINGLE : MULTI, c.edits);
      const r = await validateVnfd(files, c.pkg === 'single' ? SINGLE_ENTRY : MULTI_ENTRY);
      assert.deepEqual(summary(r.findings), [...c.expect].sort());
      for (const f of r.findings) assert.ok(f.column && f.column > 0 && f.message.length > 0, `finding without column or message: ${JSON.stringify(f)}`);
    });
  }
});
