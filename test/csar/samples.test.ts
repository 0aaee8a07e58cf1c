import assert from 'node:assert/strict';
import * as path from 'node:path';
import { hasErrors, type Finding } from '../../src/common/findings';
import { checkSoftwareImages, crossCheckManifest, csarFiles, inspectCsar, type CsarArchive, type CsarInspection } from '../../src/csar';
import { validateVnfd } from '../../src/tosca';
import { buildCsar, cleanupCsars, readFolder, sha256 } from '../helpers/csar-builder';
import { sharedDirOrSkip } from '../helpers/shared';

const IMAGE = 'Files/images/cirros-0.5.2-x86_64-disk.img';

/** CSAR-level expectations from shared/csar-samples/EXPECTED.md (VNFD-level ones belong to src/tosca). */
describe('csar samples (shared/csar-samples, EXPECTED.md)', () => {
  after(cleanupCsars);

  async function inspectSample(ctx: Mocha.Context, folder: string, strict = false): Promise<CsarInspection> {
    const root = path.join(sharedDirOrSkip(ctx), 'csar-samples', folder);
    return inspectCsar(await buildCsar(readFolder(root)), { strict });
  }

  const has = (findings: Finding[], rule: string, severity: 'error' | 'warning', match: Partial<Finding> = {}) =>
    assert.ok(
      findings.some((f) => f.rule === rule && f.severity === severity && Object.entries(match).every(([k, v]) => f[k as keyof Finding] === v)),
      `expected ${severity} ${rule} ${JSON.stringify(match)} in\n${findings.map((f) => `  ${f.severity} ${f.rule} ${f.file ?? ''}:${f.line ?? ''} ${f.message}`).join('\n')}`,
    );

  describe('tacker-restored: onboarded under the default policy', () => {
    it('vnfpkgm2_meta_and_manifest: no errors, warning for the missing metadata block', async function () {
      const r = await inspectSample(this, 'tacker-restored/vnfpkgm2_meta_and_manifest');
      assert.equal(hasErrors(r.findings), false);
      has(r.findings, 'CSAR-MANIFEST-NO-METADATA', 'warning', { file: 'manifest.mf' });
      has(r.findings, 'CSAR-META-KEY-CASE', 'warning', { file: 'TOSCA-Metadata/TOSCA.meta', line: 2 });
      assert.equal(r.structure, 'tosca-metadata');
      assert.equal(r.entryDefinitions, 'Definitions/helloworld3_top.vnfd.yaml');
      assert.equal(r.packageSecurityOption, 'OPTION_1');
      // The SHA-512 the manifest names is computed besides the SHA-256 every file gets.
      assert.match(r.digests.get(IMAGE)?.sha512 ?? '', /^847f8d44/);
      assert.equal(r.digests.size, r.entries.length);
    });

    it('vnfpkgm3_single_yaml_no_meta: no errors, warning for the missing metadata block', async function () {
      const r = await inspectSample(this, 'tacker-restored/vnfpkgm3_single_yaml_no_meta');
      assert.equal(hasErrors(r.findings), false);
      has(r.findings, 'CSAR-MANIFEST-NO-METADATA', 'warning', { file: 'vnfd_helloworld_single.mf' });
      assert.equal(r.structure, 'single-yaml');
      assert.equal(r.entryDefinitions, 'vnfd_helloworld_single.yaml');
    });

    it('getting_started_minimal: no errors, warning for the absent manifest', async function () {
      const r = await inspectSample(this, 'tacker-restored/getting_started_minimal');
      assert.equal(hasErrors(r.findings), false);
      has(r.findings, 'CSAR-MANIFEST-MISSING', 'warning');
      assert.equal(r.manifest, undefined);
    });

    it('the strict policy turns those formalities into errors', async function () {
      const r = await inspectSample(this, 'tacker-restored/vnfpkgm2_meta_and_manifest', true);
      has(r.findings, 'CSAR-MANIFEST-NO-METADATA', 'error');
      has(r.findings, 'CSAR-META-KEY-CASE', 'error');
    });
  });

  describe('tacker: rejected', () => {
    it('vnfpkgm2_meta_and_manifest: the listed image is missing', async function () {
      const r = await inspectSample(this, 'tacker/vnfpkgm2_meta_and_manifest');
      has(r.findings, 'CSAR-FILE-MISSING', 'error', { file: 'manifest.mf', line: 1, path: IMAGE });
    });

    it('vnfpkgm3_single_yaml_no_meta: the image named by the manifest is missing', async function () {
      const r = await inspectSample(this, 'tacker/vnfpkgm3_single_yaml_no_meta');
      has(r.findings, 'CSAR-FILE-MISSING', 'error', { file: 'vnfd_helloworld_single.mf', path: IMAGE });
    });

    it('neg_manifest_false_hash: hash mismatch for Scripts/install.sh, and the missing image', async function () {
      const r = await inspectSample(this, 'tacker/neg_manifest_false_hash');
      has(r.findings, 'CSAR-HASH-MISMATCH', 'error', { file: 'TOSCA-Metadata/TOSCA.meta', line: 9, path: 'Scripts/install.sh' });
      // No ETSI-Entry-Manifest: the root manifest.mf is still checked, which finds the image gap.
      has(r.findings, 'CSAR-FILE-MISSING', 'error', { file: 'manifest.mf', path: IMAGE });
    });

    it('neg_single_manifest_false_name: VNF1.mf does not match VNF.yaml', async function () {
      const r = await inspectSample(this, 'tacker/neg_single_manifest_false_name');
      has(r.findings, 'CSAR-MANIFEST-NAME-MISMATCH', 'error', { file: 'VNF1.mf' });
      has(r.findings, 'CSAR-FILE-MISSING', 'error', { path: 'Files/images/cirros.img' });
    });

    it('getting_started_minimal and neg_csar_without_vnfd_info have no CSAR-level errors (theirs are VNFD-level)', async function () {
      for (const s of ['tacker/getting_started_minimal', 'tacker/neg_csar_without_vnfd_info']) {
        const r = await inspectSample(this, s);
        assert.equal(hasErrors(r.findings), false, s);
      }
    });

    it('digests match the files byte for byte', async function () {
      const root = path.join(sharedDirOrSkip(this), 'csar-samples', 'tacker/vnfpkgm2_meta_and_manifest');
      const files = readFolder(root);
      const r = await inspectCsar(await buildCsar(files));
      for (const [name, content] of Object.entries(files)) assert.equal(r.digests.get(name)?.sha256, sha256(content), name);
    });
  });

  describe('with the VNFD facts of src/tosca (the onboarding chain)', () => {
    async function chain(ctx: Mocha.Context, folder: string): Promise<Finding[]> {
      const zip = await buildCsar(readFolder(path.join(sharedDirOrSkip(ctx), 'csar-samples', folder)));
      // sw_image_data checksums in these samples are SHA-512 while the manifests ask for SHA-256.
      const r = await inspectCsar(zip, { extraAlgorithms: ['sha512'], keepOpen: true });
      const csar = r.archive as CsarArchive;
      try {
        const { facts } = await validateVnfd(csarFiles(csar), r.entryDefinitions as string);
        return [...checkSoftwareImages(facts.softwareImages, r.digests, r.entries), ...(r.manifest ? crossCheckManifest(r.manifest, facts) : [])];
      } finally {
        await csar.close();
      }
    }

    it('tacker/getting_started_minimal: the VNFD sw_image artifact file is missing', async function () {
      has(await chain(this, 'tacker/getting_started_minimal'), 'CSAR-IMAGE-MISSING', 'error', { file: 'Definitions/sample_vnfd_df_simple.yaml', path: 'VDU1' });
    });

    for (const s of ['getting_started_minimal', 'vnfpkgm2_meta_and_manifest', 'vnfpkgm3_single_yaml_no_meta']) {
      it(`tacker-restored/${s}: image present and its sw_image_data checksum matches`, async function () {
        assert.deepEqual(await chain(this, `tacker-restored/${s}`), []);
      });
    }
  });
});
