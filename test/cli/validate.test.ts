import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildZip, cleanupCsars, dropCentral, writeTempZip } from '../helpers/csar-builder';
import { hostileCases, META_BLOCK } from '../vnf-package/hostile';
import { buildPackage, IMAGE_PATH, imageBytes, packageFiles } from '../vnf-package/helpers';
import { FIXTURES, readFixture } from '../tosca/corpus';
import { cleanFiles, depot } from './run';

/** The finding lines of `depot validate` output: `file[:line[:col]] severity RULE message`. */
function lines(out: string): { where: string; severity: string; rule: string }[] {
  return out.split('\n').filter(Boolean).map((l) => {
    const m = /^(\S+) (error|warning) (\S+) /.exec(l);
    assert.ok(m, `not a compiler-style line: ${l}`);
    return { where: m[1], severity: m[2], rule: m[3] };
  });
}

describe('depot validate: the checks of onboarding on the command line (issue 13)', function () {
  this.timeout(60_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-cli-validate-'));
  after(async () => {
    fs.rmSync(tmp, { recursive: true, force: true });
    await cleanupCsars();
  });

  it('a good package: exit 0, no finding', async () => {
    const zip = await buildZip(cleanFiles({ image: imageBytes(4000) }), { manifest: { metadata: META_BLOCK } });
    const r = await depot('validate', await writeTempZip(zip));
    assert.equal(r.out, '');
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /^0 error\(s\), 0 warning\(s\)\n$/);
  });

  describe('every package of the hostile set the service rejects fails with its rule', () => {
    const evil = `depot-evil-cli-${process.pid}.txt`;
    for (const [what, make, rules] of hostileCases(evil)) {
      // The service's test runs with onboarding.maxEntries 200; the command line has the defaults.
      if (rules.includes('CSAR-ZIP-TOO-MANY-ENTRIES')) continue;
      it(`${what} → exit 1 with ${rules.join(', ')}`, async () => {
        const r = await depot('validate', await writeTempZip(await make()));
        assert.equal(r.code, 1, r.out + r.err);
        const found = lines(r.out);
        for (const rule of rules) assert.ok(found.some((f) => f.rule === rule && f.severity === 'error'), `${rule} in\n${r.out}`);
        assert.equal(fs.existsSync(path.join(os.tmpdir(), evil)), false);
      });
    }
  });

  it('an image whose VNFD checksum lies: CSAR-IMAGE-CHECKSUM at the line of the VNFD that declares it', async () => {
    const { files } = packageFiles({ image: imageBytes(5000, 3) });
    files[IMAGE_PATH] = imageBytes(5000, 4);
    const r = await depot('validate', await writeTempZip(await buildZip(files, { manifest: { metadata: META_BLOCK } })));
    assert.equal(r.code, 1);
    const f = lines(r.out).find((l) => l.rule === 'CSAR-IMAGE-CHECKSUM');
    assert.match(f?.where ?? '', /^Definitions\/top\.yaml:\d+$/, r.out);
  });

  it('an entry the central directory hides (only the stream pass sees it): CSAR-ZIP-HIDDEN-ENTRY naming it', async () => {
    const zip = await buildPackage({ extra: { 'Files/hidden.sh': 'echo hidden\n' } });
    const r = await depot('validate', await writeTempZip(dropCentral('Files/hidden.sh')(zip)));
    assert.equal(r.code, 1);
    assert.ok(lines(r.out).some((l) => l.rule === 'CSAR-ZIP-HIDDEN-ENTRY' && l.where === 'Files/hidden.sh'), r.out);
  });

  it('an alias bomb in the VNFD: TOSCA-ALIAS-LIMIT at its line and column', async () => {
    const { files } = packageFiles({});
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`)].join('\n');
    files['Definitions/top.yaml'] = `${files['Definitions/top.yaml']}metadata:\n  bomb:\n${bomb.replace(/^/gm, '    ')}\n`.replace('metadata:\n  bomb:\n', 'x_bomb:\n');
    const r = await depot('validate', await writeTempZip(await buildZip(files, { manifest: { metadata: META_BLOCK } })));
    assert.equal(r.code, 1, r.out);
    assert.ok(lines(r.out).some((l) => l.rule === 'TOSCA-ALIAS-LIMIT' && /^Definitions\/top\.yaml:\d+:\d+$/.test(l.where)), r.out);
  });

  it('a bad VNFD (a constraint violated): the TOSCA finding at file:line:col', async () => {
    const { files } = packageFiles({});
    files['Definitions/top.yaml'] = String(files['Definitions/top.yaml']).replace('num_virtual_cpu: 1', 'num_virtual_cpu: 0');
    const r = await depot('validate', await writeTempZip(await buildZip(files, { manifest: { metadata: META_BLOCK } })));
    assert.equal(r.code, 1);
    const f = lines(r.out).find((l) => l.rule === 'TOSCA-CONSTRAINT');
    assert.match(f?.where ?? '', /^Definitions\/top\.yaml:\d+:\d+$/, r.out);
  });

  it('--json prints the findings array', async () => {
    const files = cleanFiles();
    const zip = await writeTempZip(await buildZip({ ...files, 'Scripts/sneaky.sh': 'x\n' }, { manifest: { metadata: META_BLOCK, files: Object.keys(files).filter((f) => !f.startsWith('TOSCA-Metadata/')) } }));
    const r = await depot('validate', zip, '--json');
    assert.equal(r.code, 0, r.out);
    const findings = JSON.parse(r.out);
    assert.ok(Array.isArray(findings));
    assert.deepEqual(findings.map((f: any) => [f.rule, f.severity, f.file]), [['CSAR-FILE-UNLISTED', 'warning', 'Scripts/sneaky.sh']]);
  });

  it('--policy strict makes the formalities errors, as onboarding.policy: strict does', async () => {
    const files = cleanFiles();
    const zip = await writeTempZip(await buildZip({ ...files, 'Scripts/sneaky.sh': 'x\n' }, { manifest: { metadata: META_BLOCK, files: Object.keys(files).filter((f) => !f.startsWith('TOSCA-Metadata/')) } }));
    assert.equal((await depot('validate', zip)).code, 0);
    const r = await depot('validate', zip, '--policy', 'strict');
    assert.equal(r.code, 1);
    assert.deepEqual(lines(r.out).map((l) => [l.where, l.severity, l.rule]), [['Scripts/sneaky.sh', 'error', 'CSAR-FILE-UNLISTED']]);
  });

  it('a VNFD fixture zipped with a broken constraint: its compiler-style line, exit 1 (was test/tosca/cli-and-docs)', async () => {
    const files = readFixture('valid/single_file_v3');
    files['Definitions/vnfd.yaml'] = Buffer.from(files['Definitions/vnfd.yaml'].toString().replace('num_virtual_cpu: 2', 'num_virtual_cpu: 0'));
    const r = await depot('validate', await writeTempZip(await buildZip(files)));
    assert.equal(r.code, 1);
    assert.ok(r.out.split('\n').includes('Definitions/vnfd.yaml:58:32 error TOSCA-CONSTRAINT num_virtual_cpu: 0 violates greater_than 0'), r.out);
  });

  it('a folder is validated as the package it packs into: the VNFD fixture is valid TOSCA, but its placeholder image checksum is caught', async () => {
    const r = await depot('validate', path.join(FIXTURES, 'valid/multi_flavour_v2'), '--json');
    assert.deepEqual(JSON.parse(r.out).filter((f: any) => f.severity === 'error').map((f: any) => [f.rule, f.file, f.path]), [['CSAR-IMAGE-CHECKSUM', 'Definitions/df_small.yaml', 'VDU1']]);
    assert.equal(r.code, 1);
  });

  it('a lone VNFD file is validated as a descriptor', async () => {
    const f = path.join(tmp, 'lone.yaml');
    fs.writeFileSync(f, 'tosca_definitions_version: tosca_simple_yaml_1_3\ntopology_template:\n  node_templates: {}\n');
    const r = await depot('validate', f);
    assert.equal(r.code, 1);
    assert.equal(r.out, 'lone.yaml:1:1 error SOL001-VNF-MISSING no node template of a type derived from tosca.nodes.nfv.VNF in the VNFD\n');
  });

  it('exit 2 for usage and I/O problems, one line each', async () => {
    for (const argv of [['validate'], ['validate', path.join(tmp, 'nope.csar')], ['validate', 'x.csar', '--policy', 'lenient'], ['validate', 'x.csar', '--frobnicate']]) {
      const r = await depot(...argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
    }
    const zip = await writeTempZip(await buildPackage({}));
    const r = await depot('validate', zip, '--trust', path.join(tmp, 'no-roots.pem'));
    assert.equal(r.code, 2);
    assert.match(r.err, /cannot read the trust store .*no such file/);
    fs.writeFileSync(path.join(tmp, 'empty.pem'), 'nothing here\n');
    assert.equal((await depot('validate', zip, '--trust', path.join(tmp, 'empty.pem'))).code, 2);
  });

  it('a second run reads the parsed files from the parse cache and says exactly the same', async () => {
    const { files } = packageFiles({});
    files['Definitions/top.yaml'] = String(files['Definitions/top.yaml']).replace('num_virtual_cpu: 1', 'num_virtual_cpu: 0');
    const zip = await writeTempZip(await buildZip(files, { manifest: { metadata: META_BLOCK } }));
    const dir = process.env.DEPOT_CACHE_DIR!;
    const before = fs.readdirSync(dir, { recursive: true }).length;
    const first = await depot('validate', zip);
    assert.ok(fs.readdirSync(dir, { recursive: true }).length > before, 'the first run saved its parsed files');
    const second = await depot('validate', zip);
    assert.equal(first.code, 1);
    assert.deepEqual([second.code, second.out], [first.code, first.out]);
  });

  it('bin/depot (the compiled CLI, with the catalog snapshots of npm run build) answers as the sources do', async function () {
    const bin = path.join(__dirname, '..', '..', 'bin', 'depot');
    const built = path.join(__dirname, '..', '..', 'dist', 'catalog');
    if (!fs.existsSync(built)) {
      console.log('    (skipped: dist/ is not built with its catalog snapshots; npm test builds it)');
      this.skip();
    }
    const zip = await writeTempZip(await buildZip(cleanFiles({ image: imageBytes(1000) }), { manifest: { metadata: META_BLOCK } }));
    const good = spawnSync(process.execPath, [bin, 'validate', zip], { encoding: 'utf8', env: { ...process.env, DEPOT_CACHE_DIR: '' } });
    assert.deepEqual([good.status, good.stdout], [0, ''], good.stderr);
    const { files } = packageFiles({});
    files['Definitions/top.yaml'] = String(files['Definitions/top.yaml']).replace('num_virtual_cpu: 1', 'num_virtual_cpu: 0');
    const bad = await writeTempZip(await buildZip(files, { manifest: { metadata: META_BLOCK } }));
    const r = spawnSync(process.execPath, [bin, 'validate', bad], { encoding: 'utf8', env: { ...process.env, DEPOT_CACHE_DIR: '' } });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, (await depot('validate', bad)).out);
  });

  it('depot --help and depot validate --help exit 0 with examples', async () => {
    const top = await depot('--help');
    assert.equal(top.code, 0);
    assert.match(top.out, /validate .*\n.*pack /s);
    const h = await depot('validate', '--help');
    assert.equal(h.code, 0);
    assert.match(h.out, /--trust FILE/);
    assert.match(h.out, /examples:\n {2}depot validate /);
  });
});
