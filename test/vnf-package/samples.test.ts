import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { startTestDepot, testDatabaseUrl, type TestDepot, type TestUser } from '../helpers/depot';
import { buildZip, readFolder } from '../helpers/csar-builder';
import { sharedDir, sharedDirOrSkip } from '../helpers/shared';
import { assertError, assertOnboarded, fmt, onboard } from './helpers';

/**
 * ../shared/csar-samples through the API, as EXPECTED.md says. The `tacker/` samples share
 * descriptor_ids with each other; they all end in ERROR, and the duplicate-vnfdId rule only looks at
 * ONBOARDED packages, but to keep each expected finding unmasked anyway every `tacker/` sample gets a
 * project of its own (a fresh service per three samples: admin, alice and bob are three projects).
 * The duplicate rule itself is asserted deliberately in one extra test.
 */
const IMAGE = 'Files/images/cirros-0.5.2-x86_64-disk.img';

interface Expectation {
  folder: string;
  state: 'ONBOARDED' | 'ERROR';
  /** [rule, severity, extra match] — each must be among the findings. */
  findings: [string, 'error' | 'warning', Record<string, unknown>?][];
}

const EXPECTED: Expectation[] = [
  { folder: 'tacker-restored/vnfpkgm2_meta_and_manifest', state: 'ONBOARDED', findings: [['CSAR-MANIFEST-NO-METADATA', 'warning', { file: 'manifest.mf' }]] },
  { folder: 'tacker-restored/vnfpkgm3_single_yaml_no_meta', state: 'ONBOARDED', findings: [['CSAR-MANIFEST-NO-METADATA', 'warning', { file: 'vnfd_helloworld_single.mf' }]] },
  { folder: 'tacker-restored/getting_started_minimal', state: 'ONBOARDED', findings: [['CSAR-MANIFEST-MISSING', 'warning']] },
  { folder: 'tacker/vnfpkgm2_meta_and_manifest', state: 'ERROR', findings: [['CSAR-FILE-MISSING', 'error', { file: 'manifest.mf', path: IMAGE }]] },
  { folder: 'tacker/vnfpkgm3_single_yaml_no_meta', state: 'ERROR', findings: [['CSAR-FILE-MISSING', 'error', { file: 'vnfd_helloworld_single.mf', path: IMAGE }], ['CSAR-IMAGE-MISSING', 'error']] },
  { folder: 'tacker/getting_started_minimal', state: 'ERROR', findings: [['TOSCA-ARTIFACT-FILE-MISSING', 'error'], ['CSAR-IMAGE-MISSING', 'error']] },
  { folder: 'tacker/neg_manifest_false_hash', state: 'ERROR', findings: [['CSAR-HASH-MISMATCH', 'error', { path: 'Scripts/install.sh' }], ['CSAR-FILE-MISSING', 'error', { path: IMAGE }]] },
  { folder: 'tacker/neg_single_manifest_false_name', state: 'ERROR', findings: [['CSAR-MANIFEST-NAME-MISMATCH', 'error']] },
  { folder: 'tacker/neg_csar_without_vnfd_info', state: 'ERROR', findings: [['SOL001-VNF-PROPERTY', 'error', { path: 'topology_template/node_templates/VNF/properties/descriptor_id' }], ['SOL001-VNF-PROPERTY', 'error', { path: 'topology_template/node_templates/VNF/properties/provider' }]] },
];

describe('VNF packages: ../shared/csar-samples through the API (EXPECTED.md)', function () {
  const services: TestDepot[] = [];
  const zips = new Map<string, Buffer>();
  const root = () => path.join(sharedDir()!, 'csar-samples');

  before(async function () {
    sharedDirOrSkip(this);
    for (const e of EXPECTED) zips.set(e.folder, await buildZip(readFolder(path.join(root(), e.folder))));
  });
  // On one PostgreSQL database the services are replicas: any of them may take any onboarding job,
  // so they share their store as replicas do (embedded PGlite: a database, and so a store, each).
  const sharedData = testDatabaseUrl() ? fs.mkdtempSync(path.join(os.tmpdir(), 'depot-samples-')) : undefined;
  after(async () => {
    for (const s of services.splice(0)) await s.close();
    if (sharedData) fs.rmSync(sharedData, { recursive: true, force: true });
  });

  /** A project nobody else used: three per service. */
  let free: { d: TestDepot; user: TestUser }[] = [];
  async function freshProject(): Promise<{ d: TestDepot; user: TestUser }> {
    if (!free.length) {
      const d = await startTestDepot({}, sharedData ? { dataDir: sharedData } : {});
      services.push(d);
      free = [d.users.alice, d.users.bob, d.users.admin].map((user) => ({ d, user }));
    }
    return free.shift()!;
  }

  it('EXPECTED.md lists exactly the sample folders tested here', function () {
    const text = fs.readFileSync(path.join(sharedDirOrSkip(this), 'csar-samples', 'EXPECTED.md'), 'utf8');
    const listed = [...text.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]).sort();
    assert.deepEqual(listed, EXPECTED.map((e) => e.folder).sort());
  });

  let restoredProject: { d: TestDepot; user: TestUser } | undefined;
  for (const e of EXPECTED) {
    it(`${e.folder} → ${e.state} with ${e.findings.map((f) => `${f[1]} ${f[0]}`).join(', ')}`, async function () {
      sharedDirOrSkip(this);
      // The restored samples have unique ids and share one project, as EXPECTED.md promises they can.
      const where = e.folder.startsWith('tacker-restored/') ? (restoredProject ??= await freshProject()) : await freshProject();
      const info = await onboard(where.d, zips.get(e.folder)!, where.user);
      let findings: any[];
      if (e.state === 'ONBOARDED') {
        assertOnboarded(info);
        const gen: any = await (await where.d.request('GET', `/artifacts/vnf_packages/${info.id}`, { as: where.user })).json();
        findings = gen.onboardingFindings;
        assert.ok(!findings.some((f) => f.severity === 'error'));
      } else {
        findings = assertError(info);
      }
      for (const [rule, severity, match = {}] of e.findings) {
        assert.ok(
          findings.some((f) => f.rule === rule && f.severity === severity && Object.entries(match).every(([k, v]) => f[k] === v)),
          `expected ${severity} ${rule} ${JSON.stringify(match)} in\n${fmt(findings)}`,
        );
      }
    });
  }

  it('two tacker/ samples with one descriptor_id in one project: the second fails on VNFPKG-DUPLICATE-VNFD-ID', async function () {
    sharedDirOrSkip(this);
    // Only an ONBOARDED package holds its vnfdId, so the clash is shown with the restored sample
    // onboarded twice (same bytes, hence same descriptor_id).
    const { d, user } = await freshProject();
    const zip = zips.get('tacker-restored/getting_started_minimal')!;
    const first = await onboard(d, zip, user);
    assertOnboarded(first);
    const second = await onboard(d, zip, user);
    const f = assertError(second, 'VNFPKG-DUPLICATE-VNFD-ID');
    assert.match(f.find((x) => x.rule === 'VNFPKG-DUPLICATE-VNFD-ID').message, new RegExp(first.id));
    // Another project may hold the same vnfdId.
    const other = await freshProject();
    assertOnboarded(await onboard(other.d, zip, other.user));
  });
});
