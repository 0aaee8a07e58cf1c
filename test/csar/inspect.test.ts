import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { buffer } from 'node:stream/consumers';
import type { Finding } from '../../src/common/findings';
import { csarFiles, inspectCsar, openCsar, type CsarArchive, type CsarEntry } from '../../src/csar';
import { buildCsar, buildZip, cleanupCsars, DEFAULT_METADATA, manifestText, patchField, sha256 } from '../helpers/csar-builder';

const META = [
  'TOSCA-Meta-File-Version: 1.0',
  'CSAR-Version: 1.1',
  'Created-By: test',
  'Entry-Definitions: Definitions/vnfd.yaml',
  'ETSI-Entry-Manifest: vnfd.mf',
  'ETSI-Entry-Change-Log: Files/ChangeLog.txt',
  'ETSI-Entry-Licenses: Files/Licenses',
  '',
].join('\n');

const FILES: Record<string, string | Buffer> = {
  'TOSCA-Metadata/TOSCA.meta': META,
  'Definitions/vnfd.yaml': 'tosca_definitions_version: tosca_simple_yaml_1_3\n',
  'Files/ChangeLog.txt': 'v1\n',
  'Files/Licenses/LICENSE': 'Apache-2.0\n',
  'Scripts/install.sh': '#!/bin/sh\necho hi\n',
  'Files/images/disk.img': crypto.randomBytes(300_000),
};
const MF = { path: 'vnfd.mf' };

const rules = (fs: Finding[]) => fs.map((f) => f.rule);
const only = (fs: Finding[], rule: string) => fs.filter((f) => f.rule === rule);

describe('csar inspection', () => {
  after(cleanupCsars);

  it('accepts a complete option 1 package and hashes every file once', async () => {
    const path = await buildCsar(FILES, { manifest: MF, entries: { 'Files/images/disk.img': { compress: false } } });
    const r = await inspectCsar(path);
    assert.deepEqual(r.findings, []);
    assert.equal(r.structure, 'tosca-metadata');
    assert.equal(r.entryDefinitions, 'Definitions/vnfd.yaml');
    assert.equal(r.meta?.keys['ETSI-Entry-Manifest'].value, 'vnfd.mf');
    assert.equal(r.meta?.keys['Created-By'].line, 3);
    assert.equal(r.manifest?.path, 'vnfd.mf');
    assert.deepEqual(r.manifest?.metadata?.vnf_provider_id, { value: 'Company', line: 2 });
    assert.equal(r.manifest?.entries.length, 5);
    assert.equal(r.manifest?.signed, false);
    assert.equal(r.packageSecurityOption, 'OPTION_1');
    assert.equal(r.digests.size, 7);
    for (const [name, content] of Object.entries(FILES)) assert.equal(r.digests.get(name)?.sha256, sha256(content));
    assert.ok(r.entries.find((e) => e.name === 'Files/images/disk.img')?.dataOffset);
  });

  describe('TOSCA.meta', () => {
    it('reports a missing Entry-Definitions key and a missing Entry-Definitions file as errors', async () => {
      const noKey = await inspectCsar(await buildCsar({ ...FILES, 'TOSCA-Metadata/TOSCA.meta': META.replace(/Entry-Definitions.*\n/, '') }, { manifest: MF }));
      assert.deepEqual(only(noKey.findings, 'CSAR-META-MISSING-KEY').map((f) => f.severity), ['error']);
      const noFile = await inspectCsar(await buildCsar({ ...FILES, 'TOSCA-Metadata/TOSCA.meta': META.replace('vnfd.yaml', 'gone.yaml') }, { manifest: MF }));
      assert.deepEqual(only(noFile.findings, 'CSAR-ENTRY-DEFINITIONS-MISSING'), [
        { rule: 'CSAR-ENTRY-DEFINITIONS-MISSING', severity: 'error', message: 'Entry-Definitions "Definitions/gone.yaml" is not in the package', file: 'TOSCA-Metadata/TOSCA.meta', line: 4 },
      ]);
    });

    it('accepts the pre-v2.6 key names and reports unknown keys and bad versions', async () => {
      const meta = META.replace('ETSI-Entry-Manifest', 'Entry-Manifest').replace('CSAR-Version: 1.1', 'CSAR-Version: 9').concat('');
      const withUnknown = meta.replace('Created-By: test\n', 'Created-By: test\nFavourite-Colour: blue\n');
      const r = await inspectCsar(await buildCsar({ ...FILES, 'TOSCA-Metadata/TOSCA.meta': withUnknown }, { manifest: MF }));
      assert.deepEqual(rules(r.findings), ['CSAR-META-UNKNOWN-KEY', 'CSAR-META-INVALID-VALUE']);
      assert.equal(r.manifest?.path, 'vnfd.mf');
    });

    it('reports declared change log, licences and certificate that are absent', async () => {
      const meta = META + '';
      const files: Record<string, string | Buffer> = { ...FILES, 'TOSCA-Metadata/TOSCA.meta': meta.replace('\n\n', '\n').replace(/\n$/, '\nETSI-Entry-Certificate: Files/vnfd.cert\n') };
      delete files['Files/ChangeLog.txt'];
      delete files['Files/Licenses/LICENSE'];
      const r = await inspectCsar(await buildCsar(files, { manifest: MF }));
      assert.deepEqual(only(r.findings, 'CSAR-FILE-MISSING').map((f) => f.path), ['Files/ChangeLog.txt', 'Files/vnfd.cert', 'Files/Licenses']);
    });

    it('reports a declared but absent manifest as an error', async () => {
      const r = await inspectCsar(await buildCsar(FILES));
      assert.deepEqual(only(r.findings, 'CSAR-MANIFEST-MISSING').map((f) => [f.severity, f.line]), [['error', 5]]);
    });

    it('reports a TOSCA-Metadata directory without TOSCA.meta', async () => {
      const files: Record<string, string | Buffer> = { ...FILES, 'TOSCA-Metadata/other.txt': 'x' };
      delete files['TOSCA-Metadata/TOSCA.meta'];
      assert.ok(rules((await inspectCsar(await buildCsar(files))).findings).includes('CSAR-META-MISSING'));
    });

    it('verifies digests of TOSCA.meta artifact blocks', async () => {
      const meta = `${META}\nName: Scripts/install.sh\nContent-Type: text/x-sh\nAlgorithm: SHA-256\nHash: ${'0'.repeat(64)}\n`;
      const r = await inspectCsar(await buildCsar({ ...FILES, 'TOSCA-Metadata/TOSCA.meta': meta }, { manifest: MF }));
      assert.deepEqual(only(r.findings, 'CSAR-HASH-MISMATCH').map((f) => [f.file, f.line, f.path]), [['TOSCA-Metadata/TOSCA.meta', 12, 'Scripts/install.sh']]);
    });
  });

  describe('single YAML at the root (no TOSCA-Metadata)', () => {
    const single = { 'vnfd.yaml': 'tosca_definitions_version: tosca_simple_yaml_1_3\n', 'Scripts/a.sh': 'echo\n' };

    it('pairs the YAML with the same-named manifest', async () => {
      const r = await inspectCsar(await buildCsar(single, { manifest: { path: 'vnfd.mf' } }));
      assert.deepEqual(r.findings, []);
      assert.equal(r.structure, 'single-yaml');
      assert.equal(r.entryDefinitions, 'vnfd.yaml');
    });

    it('reports CSAR-MANIFEST-NAME-MISMATCH and still checks the misnamed manifest', async () => {
      const r = await inspectCsar(await buildCsar({ ...single, 'Scripts/b.sh': 'x' }, { manifest: { path: 'other.mf', files: ['vnfd.yaml', 'Scripts/a.sh'] } }));
      assert.deepEqual(rules(r.findings), ['CSAR-MANIFEST-NAME-MISMATCH', 'CSAR-FILE-UNLISTED']);
    });

    it('reports no YAML and several YAMLs at the root', async () => {
      assert.deepEqual(rules((await inspectCsar(await buildCsar({ 'README.txt': 'x' }))).findings), ['CSAR-ENTRY-DEFINITIONS-MISSING']);
      assert.deepEqual(rules((await inspectCsar(await buildCsar({ ...single, 'b.yml': 'x' }))).findings), ['CSAR-ENTRY-DEFINITIONS-AMBIGUOUS']);
    });

    it('warns when there is no manifest, and errs under strict', async () => {
      const path = await buildCsar(single);
      assert.deepEqual(only((await inspectCsar(path)).findings, 'CSAR-MANIFEST-MISSING').map((f) => f.severity), ['warning']);
      assert.deepEqual(only((await inspectCsar(path, { strict: true })).findings, 'CSAR-MANIFEST-MISSING').map((f) => f.severity), ['error']);
    });
  });

  describe('manifest', () => {
    async function withManifest(text: string, extra: Record<string, string | Buffer> = {}, strict = false) {
      return inspectCsar(await buildCsar({ ...FILES, ...extra, 'vnfd.mf': text }), { strict });
    }
    const good = manifestText(FILES, MF);

    it('reports CSAR-HASH-MISMATCH at the Hash line, naming the artifact', async () => {
      const bad = good.replace(sha256(FILES['Scripts/install.sh']), sha256('something else'));
      const r = await withManifest(bad);
      const lines = bad.split('\n');
      const hashLine = lines.findIndex((l) => l.includes(sha256('something else'))) + 1;
      assert.deepEqual(only(r.findings, 'CSAR-HASH-MISMATCH').map((f) => [f.severity, f.file, f.line, f.path]), [['error', 'vnfd.mf', hashLine, 'Scripts/install.sh']]);
    });

    it('reports listed-but-missing files as errors and unlisted files as warnings (errors when strict)', async () => {
      const text = good + `\nSource: Files/gone.bin\nAlgorithm: SHA-256\nHash: ${'a'.repeat(64)}\n`;
      const r = await withManifest(text, { 'Files/extra.txt': 'surprise' });
      assert.deepEqual(only(r.findings, 'CSAR-FILE-MISSING').map((f) => [f.severity, f.path]), [['error', 'Files/gone.bin']]);
      assert.deepEqual(only(r.findings, 'CSAR-FILE-UNLISTED').map((f) => [f.severity, f.file]), [['warning', 'Files/extra.txt']]);
      const strict = await withManifest(text, { 'Files/extra.txt': 'surprise' }, true);
      assert.deepEqual(only(strict.findings, 'CSAR-FILE-UNLISTED').map((f) => f.severity), ['error']);
    });

    it('accepts algorithm spellings Tacker and others write, and computes what they ask for', async () => {
      const sh = FILES['Scripts/install.sh'];
      const variants: [string, string][] = [['sha-512', 'sha512'], ['SHA512', 'sha512'], ['sha_384', 'sha384'], ['Sha-224', 'sha224']];
      for (const [spelling, algo] of variants) {
        const text = good.replace(`Source: Scripts/install.sh\nAlgorithm: SHA-256\nHash: ${sha256(sh)}`, `Source: Scripts/install.sh\nAlgorithm: ${spelling}\nHash: ${crypto.createHash(algo).update(sh).digest('hex').toUpperCase()}`);
        const r = await withManifest(text);
        assert.deepEqual(r.findings, [], spelling);
        assert.ok(r.digests.get('Scripts/install.sh')?.[algo as 'sha512'], spelling);
      }
    });

    it('reports unknown algorithms, placeholder hashes and incomplete blocks', async () => {
      const text = `${good}\nSource: Files/ChangeLog.txt\nAlgorithm: SHA-255\nHash: ${'a'.repeat(64)}\n`
        .replace(`Hash: ${sha256(FILES['Scripts/install.sh'])}`, 'Hash: <calculate here>')
        .replace(/(Source: Files\/Licenses\/LICENSE\n)Algorithm: SHA-256\n/, '$1');
      const r = await withManifest(text);
      assert.deepEqual(rules(r.findings).filter((x) => x.startsWith('CSAR-HASH') || x === 'CSAR-DIGEST-INCOMPLETE' || x === 'CSAR-MANIFEST-DUPLICATE-SOURCE').sort(), ['CSAR-DIGEST-INCOMPLETE', 'CSAR-HASH-ALGORITHM', 'CSAR-HASH-INVALID', 'CSAR-MANIFEST-DUPLICATE-SOURCE']);
    });

    it('records external artifacts without fetching them', async () => {
      const text = `${good}\nSource: https://vendor.example/scale.sh\nAlgorithm: SHA-256\nHash: ${'b'.repeat(64)}\n`;
      const r = await withManifest(text);
      assert.deepEqual(r.findings, []);
      assert.deepEqual(r.externalArtifacts.map((a) => a.source), ['https://vendor.example/scale.sh']);
    });

    it('reports missing, unknown and malformed metadata with line numbers', async () => {
      const md = { ...DEFAULT_METADATA, vnf_release_date_time: '24/11/2026', colour: 'blue' } as Record<string, string>;
      delete md.vnf_package_version;
      const r = await withManifest(manifestText(FILES, { ...MF, metadata: md }));
      assert.deepEqual(rules(r.findings).sort(), ['CSAR-MANIFEST-METADATA-INVALID', 'CSAR-MANIFEST-METADATA-KEY', 'CSAR-MANIFEST-METADATA-KEY']);
      assert.equal(only(r.findings, 'CSAR-MANIFEST-METADATA-INVALID')[0].line, 4);
      assert.ok(r.findings.every((f) => f.severity === 'warning'));
    });

    it('accepts the ONAP vnf_release_data_time typo with a warning', async () => {
      const md = { ...DEFAULT_METADATA, vnf_release_data_time: DEFAULT_METADATA.vnf_release_date_time } as Record<string, string>;
      delete md.vnf_release_date_time;
      const r = await withManifest(manifestText(FILES, { ...MF, metadata: md }));
      assert.deepEqual(rules(r.findings), ['CSAR-MANIFEST-METADATA-KEY']);
    });

    it('detects a closing CMS signature block and rejects one that is not last', async () => {
      const cms = '-----BEGIN CMS-----\nMIIGDAYJKoZIhvcNAQcCoIIF\n-----END CMS-----\n';
      const signed = await withManifest(good + cms);
      assert.deepEqual(signed.findings, []);
      assert.equal(signed.manifest?.signed, true);
      assert.equal(signed.packageSecurityOption, 'OPTION_1');
      const trailing = await withManifest(good + cms + 'Source: x\n');
      assert.deepEqual(rules(trailing.findings), ['CSAR-MANIFEST-CMS-MALFORMED']);
      const open = await withManifest(good + '-----BEGIN CMS-----\nMIIG\n');
      assert.deepEqual(rules(open.findings), ['CSAR-MANIFEST-CMS-MALFORMED']);
    });

    it('checks non-MANO artifact set sources', async () => {
      const text = good.replace('\n\nSource:', '\n\nnon_mano_artifact_sets:\n  onap_others:\n    Source: Scripts/install.sh\n  prv.acme.oam:\n    Source: Files/oam/readme.txt\n\nSource:');
      const r = await withManifest(text);
      assert.deepEqual(only(r.findings, 'CSAR-FILE-MISSING').map((f) => f.path), ['Files/oam/readme.txt']);
      assert.deepEqual(Object.keys(r.manifest?.nonManoArtifactSets ?? {}), ['onap_others', 'prv.acme.oam']);
    });
  });

  describe('onEntry hook (single pass)', () => {
    it('hands every file to the caller once, with the bytes that were hashed', async () => {
      const path = await buildCsar(FILES, { manifest: MF });
      const seen = new Map<string, Buffer>();
      const r = await inspectCsar(path, {
        onEntry: async (entry: CsarEntry, stream) => {
          assert.equal(seen.has(entry.name), false);
          seen.set(entry.name, await buffer(stream));
        },
      });
      assert.deepEqual(r.findings, []);
      assert.equal(seen.size, r.entries.length);
      for (const [name, bytes] of seen) assert.equal(sha256(bytes), r.digests.get(name)?.sha256);
    });

    it('drains entries the caller skips and still hashes them', async () => {
      const r = await inspectCsar(await buildCsar(FILES, { manifest: MF }), { onEntry: async () => undefined });
      assert.equal(r.digests.size, 7);
    });

    it('propagates a storage failure from the caller', async () => {
      const path = await buildCsar(FILES, { manifest: MF });
      await assert.rejects(inspectCsar(path, { onEntry: async () => { throw new Error('disk full'); } }), /disk full/);
    });

    it('the caller sees the archive error and the inspection records it', async () => {
      const path = await buildCsar(FILES, { manifest: MF, patch: [patchField('Scripts/install.sh', 'crc32', 1, 'central')] });
      const errors: string[] = [];
      const r = await inspectCsar(path, {
        onEntry: async (entry, stream) => {
          try {
            await buffer(stream);
          } catch (err) {
            errors.push(`${entry.name}: ${(err as { rule?: string }).rule}`);
            throw err;
          }
        },
      });
      assert.deepEqual(errors, ['Scripts/install.sh: CSAR-ZIP-CRC']);
      assert.deepEqual(rules(r.findings), ['CSAR-ZIP-CRC']);
      assert.equal(r.digests.has('Scripts/install.sh'), false);
    });
  });

  describe('security option 2 (signed outer ZIP)', () => {
    for (const storedInner of [true, false]) {
      it(`inspects the inner CSAR when it is ${storedInner ? 'stored (read in place)' : 'deflated (unpacked to a temp file)'}`, async () => {
        const inner = await buildZip(FILES, { manifest: MF, compress: false });
        const outerPath = await buildCsar({ 'vnf.csar': inner, 'vnf.cms': 'signature', 'vnf.cert': 'cert' }, { compress: !storedInner });
        const tempDir = await fs.promises.mkdtemp(`${os.tmpdir()}/depot-csar-keep-`);
        const r = await inspectCsar(outerPath, { keepOpen: true, tempDir });
        const files = csarFiles(r.archive as CsarArchive);
        assert.equal((await files.read('Definitions/vnfd.yaml')).toString(), FILES['Definitions/vnfd.yaml']);
        await r.archive?.close();
        assert.deepEqual(await fs.promises.readdir(tempDir), [], 'temporary copy removed on close');
        await fs.promises.rm(tempDir, { recursive: true });
        assert.equal(r.packageSecurityOption, 'OPTION_2');
        assert.deepEqual(r.signedPackage, { csar: 'vnf.csar', signature: 'vnf.cms', certificate: 'vnf.cert' });
        assert.deepEqual(r.findings, []);
        assert.equal(r.entryDefinitions, 'Definitions/vnfd.yaml');
        assert.equal(r.digests.get('Files/images/disk.img')?.sha256, sha256(FILES['Files/images/disk.img']));
        const img = r.entries.find((e) => e.name === 'Files/images/disk.img');
        if (storedInner) {
          const fd = await fs.promises.open(outerPath, 'r');
          const got = Buffer.alloc(64);
          await fd.read(got, 0, 64, img?.dataOffset as number);
          await fd.close();
          assert.ok(got.equals((FILES['Files/images/disk.img'] as Buffer).subarray(0, 64)), 'offset is absolute in the outer file');
        } else {
          assert.equal(img?.dataOffset, undefined);
        }
      });
    }

    it('a root with a csar and other files is an ordinary option 1 package', async () => {
      const r = await inspectCsar(await buildCsar({ 'vnf.csar': 'x', 'vnf.cms': 'y', 'vnfd.yaml': 'z' }));
      assert.equal(r.packageSecurityOption, 'OPTION_1');
    });

    it('a root csar without TOSCA-Metadata or a root YAML is option 2, whatever else is there: the other entries are extra, the .cms is the one named like the csar', async () => {
      const inner = await buildZip(FILES, { manifest: MF, compress: false });
      const r = await inspectCsar(await buildCsar({ 'vnf.csar': inner, 'other.cms': 'y', 'docs/README.txt': 'z' }));
      assert.equal(r.packageSecurityOption, 'OPTION_2');
      assert.deepEqual(r.signedPackage, { csar: 'vnf.csar', signature: 'vnf.cms', extraFiles: ['other.cms', 'docs/README.txt'] });
      assert.equal(r.entryDefinitions, 'Definitions/vnfd.yaml', 'the inner CSAR is inspected all the same');
    });
  });

  it('csarFiles serves package files straight from the zip, with a cap', async () => {
    const csar = await openCsar(await buildCsar(FILES));
    try {
      const files = csarFiles(csar, 1000);
      assert.equal(files.has('Definitions/vnfd.yaml'), true);
      assert.equal(files.has('Definitions/nope.yaml'), false);
      assert.equal(files.list().length, 6);
      assert.equal((await files.read('Definitions/vnfd.yaml')).toString(), FILES['Definitions/vnfd.yaml']);
      await assert.rejects(files.read('Files/images/disk.img'), { rule: 'CSAR-FILE-TOO-LARGE' });
      await assert.rejects(files.read('Definitions/nope.yaml'), { rule: 'CSAR-FILE-MISSING' });
    } finally {
      await csar.close();
    }
  });
});
