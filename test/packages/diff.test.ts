import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { diffPackages, type PackageSnapshot } from '../../src/packages/diff';
import { memoryFiles } from '../../src/tosca';
import { progressLine } from '../../src/cli/progress';
import { ETSI_IMPORTS, META } from '../vnf-package/helpers';

/** The package diff library (src/packages/diff.ts over src/tosca/diff.ts), on packages in memory. */

/** A VDU node template named `name` (its `name` property in lower case), with extra properties. */
const vdu = (name: string, max: number, properties = '') => `    ${name}:
      type: tosca.nodes.nfv.Vdu.Compute
      properties:
        name: ${name.toLowerCase()}
        description: VDU ${name}
        vdu_profile: { min_number_of_instances: 1, max_number_of_instances: ${max} }
${properties}      capabilities:
        virtual_compute:
          properties:
            virtual_memory: { virtual_mem_size: 512 MiB }
            virtual_cpu: { num_virtual_cpu: 1 }
`;

const VNFD = `tosca_definitions_version: tosca_simple_yaml_1_3
imports:
${ETSI_IMPORTS.map((i) => `  - ${i}`).join('\n')}
node_types:
  diff.t.VNF:
    derived_from: tosca.nodes.nfv.VNF
topology_template:
  substitution_mappings:
    node_type: diff.t.VNF
    properties:
      flavour_id: small
  node_templates:
    VNF:
      type: diff.t.VNF
      properties:
        descriptor_id: d-1
        descriptor_version: '1.0'
        provider: Acme
        product_name: Diff
        software_version: '1.0'
        vnfm_info: [ 'etsivnfm:v3.3.1' ]
        flavour_id: small
        flavour_description: Small
${vdu('VDU1', 3, `        sw_image_data:
          name: img
          version: '1.0'
          checksum: { algorithm: sha-256, hash: aaaa }
          container_format: bare
          disk_format: qcow2
          min_disk: 1 GiB
          size: 1 GiB
`)}    CP1:
      type: tosca.nodes.nfv.VduCp
      properties:
        layer_protocols: [ ipv4 ]
        order: 0
      requirements:
        - virtual_binding: VDU1
        - virtual_link: VL1
    VL1:
      type: tosca.nodes.nfv.VnfVirtualLink
      properties:
        connectivity_type: { layer_protocols: [ ipv4 ] }
        vl_profile:
          max_bitrate_requirements: { root: 1000 }
          min_bitrate_requirements: { root: 1000 }
  policies:
    - scaling_aspects:
        type: tosca.policies.nfv.ScalingAspects
        properties:
          aspects:
            worker: { name: worker, description: workers, max_scale_level: 2, step_deltas: [ delta_1 ] }
    - instantiation_levels:
        type: tosca.policies.nfv.InstantiationLevels
        properties:
          levels:
            small: { description: small }
          default_level: small
`;

const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

function snapshot(label: string, files: Record<string, string>): PackageSnapshot {
  const digests = new Map(Object.entries(files).map(([p, c]) => [p, { sha256: createHash('sha256').update(c).digest('hex'), size: Buffer.byteLength(c) }]));
  return { label, files: memoryFiles(files), digests };
}

const base = (vnfd: string, extra: Record<string, string> = {}) => ({
  'TOSCA-Metadata/TOSCA.meta': META('Definitions/vnfd.yaml', 'vnfd.mf'),
  'Definitions/vnfd.yaml': vnfd,
  'vnfd.mf': 'metadata:\n  vnf_provider_id: Acme\n  vnf_product_name: Diff\n  vnf_package_version: \'1.0\'\n  vnf_release_date_time: 2026-01-01T00:00:00Z\n',
  ...extra,
});

describe('package diff (library)', () => {
  it('two identical packages are equal, with no change anywhere', async () => {
    const d = await diffPackages(snapshot('a', base(VNFD)), snapshot('b', base(VNFD)));
    assert.equal(d.equal, true);
    assert.deepEqual([d.vnfd, d.files.added, d.files.removed, d.files.changed, d.metadata, d.problems], [[], [], [], [], [], []]);
    assert.equal(d.a.vnfSoftwareVersion, '1.0');
    assert.deepEqual(d.a.softwareImages.map((i) => i.version), ['1.0']);
  });

  it('names each changed element by category with its path and place', async () => {
    const changed = VNFD
      .replace("software_version: '1.0'", "software_version: '1.1'")
      .replace('flavour_description: Small', 'flavour_description: Small, bigger')
      .replace("          version: '1.0'", "          version: '1.1'")
      .replace('max_number_of_instances: 3', 'max_number_of_instances: 4')
      .replace('        order: 0\n', '        order: 1\n')
      .replace('max_scale_level: 2', 'max_scale_level: 5')
      .replace('default_level: small', 'default_level: small\n          # same level, other description\n')
      .replace('small: { description: small }', 'small: { description: the small level }')
      .replace(/    VL1:\n[\s\S]*?min_bitrate_requirements: \{ root: 1000 \}\n/, '')
      .replace('        - virtual_link: VL1\n', '')
      .replace('    CP1:', `${vdu('VDU2', 1)}    CP1:`);
    const b = base(changed, { 'Scripts/new.sh': 'echo new\n' });
    b['vnfd.mf'] = b['vnfd.mf'].replace("vnf_package_version: '1.0'", "vnf_package_version: '1.1'");
    const d = await diffPackages(snapshot('a', base(VNFD)), snapshot('b', b));
    assert.equal(d.equal, false);
    assert.deepEqual(d.problems, []);
    const find = (path: string) => {
      const c = d.vnfd.find((x) => x.path === path);
      assert.ok(c, `no change at ${path} in\n${d.vnfd.map((x) => `${x.change} ${x.category} ${x.path}`).join('\n')}`);
      return c!;
    };
    const nt = 'topology_template/node_templates';
    assert.deepEqual(find(`${nt}/VNF/properties/software_version`), { change: 'changed', category: 'vnf', element: 'VNF', path: `${nt}/VNF/properties/software_version`, file: 'Definitions/vnfd.yaml', line: lineOf(changed, 'software_version'), column: 27, before: '1.0', after: '1.1' });
    assert.equal(find(`${nt}/VNF/properties/flavour_description`).category, 'flavour');
    assert.equal(find(`${nt}/VDU1/properties/sw_image_data/version`).category, 'software-image');
    assert.equal(find(`${nt}/VDU1/properties/vdu_profile/max_number_of_instances`).category, 'vdu');
    const vdu2 = find(`${nt}/VDU2`);
    assert.deepEqual([vdu2.change, vdu2.category, (vdu2.after as any).properties.name], ['added', 'vdu', 'vdu2']);
    assert.equal(find(`${nt}/CP1/properties/order`).category, 'connection-point');
    assert.deepEqual([find(`${nt}/CP1/requirements/1`).change, find(`${nt}/CP1/requirements/1`).category], ['removed', 'connection-point']);
    const vl = find(`${nt}/VL1`);
    assert.deepEqual([vl.change, vl.category, vl.file, vl.line], ['removed', 'virtual-link', 'Definitions/vnfd.yaml', lineOf(VNFD, '    VL1:')]);
    assert.equal(find('topology_template/policies/0/scaling_aspects/properties/aspects/worker/max_scale_level').category, 'scaling');
    assert.equal(find('topology_template/policies/1/instantiation_levels/properties/levels/small/description').category, 'instantiation-level');
    // Sorted by category: the VNF first, the flavour, then VDUs...
    const order = d.vnfd.map((c) => c.category);
    assert.ok(order.indexOf('vnf') < order.indexOf('flavour') && order.indexOf('flavour') < order.indexOf('vdu') && order.indexOf('vdu') < order.indexOf('scaling'));
    assert.deepEqual(d.files.added.map((f) => f.path), ['Scripts/new.sh']);
    assert.deepEqual(d.files.changed.map((f) => f.path), ['Definitions/vnfd.yaml', 'vnfd.mf']);
    assert.deepEqual(d.metadata, [{ source: 'manifest', key: 'vnf_package_version', change: 'changed', before: '1.0', after: '1.1' }]);
  });

  it('a flavour moved to a renamed file is matched by its flavour id, not reported as removed and added', async () => {
    const a = base(VNFD);
    const b = { ...base(VNFD), 'TOSCA-Metadata/TOSCA.meta': META('Definitions/renamed.yaml', 'vnfd.mf'), 'Definitions/renamed.yaml': VNFD.replace("software_version: '1.0'", "software_version: '2.0'") };
    delete (b as Record<string, string>)['Definitions/vnfd.yaml'];
    const d = await diffPackages(snapshot('a', a), snapshot('b', b));
    assert.deepEqual(d.vnfd.map((c) => `${c.change} ${c.path} ${c.file}`), [`changed topology_template/node_templates/VNF/properties/software_version Definitions/renamed.yaml`]);
    assert.deepEqual(d.files.removed.map((f) => f.path), ['Definitions/vnfd.yaml']);
    assert.deepEqual(d.files.added.map((f) => f.path), ['Definitions/renamed.yaml']);
    assert.deepEqual(d.metadata.map((m) => `${m.source} ${m.key} ${m.after}`), ['TOSCA.meta Entry-Definitions Definitions/renamed.yaml']);
  });

  it('a side without a VNFD is a problem, not a crash', async () => {
    const d = await diffPackages(snapshot('a', base(VNFD)), snapshot('b', { 'README.txt': 'nothing here\n' }));
    assert.equal(d.equal, false);
    assert.match(d.problems.join('\n'), /^b: no TOSCA-Metadata and 0 YAML files/);
    assert.ok(d.vnfd.some((c) => c.change === 'removed' && c.category === 'vnf'));
  });
});

describe('progress lines (depot push / pull)', () => {
  it('bytes, percentage, rate and ETA; a bar only on a terminal', () => {
    assert.equal(progressLine('upload x.csar', 512 * 1024, 2 * 1024 * 1024, 2, false), 'upload x.csar 25% 512.0 KiB/2.0 MiB 256.0 KiB/s ETA 6s');
    assert.equal(progressLine('upload x.csar', 2 * 1024 * 1024, 2 * 1024 * 1024, 4, false), 'upload x.csar 100% 2.0 MiB/2.0 MiB 512.0 KiB/s');
    assert.equal(progressLine('up', 50, 100, 1, true, 10), 'up [#####-----]  50% 50 B/100 B 50 B/s ETA 1s');
    assert.equal(progressLine('down', 3000, undefined, 0, false), 'down 2.9 KiB 0 B/s');
  });
});
