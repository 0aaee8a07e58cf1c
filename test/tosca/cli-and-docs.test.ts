import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yazl from 'yazl';
import { RULES } from '../../src/tosca';
import { validateCommand } from '../../src/tosca/cli';
import { repoRoot } from '../helpers/shared';
import { FIXTURES, readFixture } from './corpus';

/** Run the CLI with stdout/stderr captured. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    const code = await validateCommand(argv);
    return { code, out, err };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

function zipOf(files: Record<string, Buffer>, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const z = new yazl.ZipFile();
    for (const [name, data] of Object.entries(files)) z.addBuffer(data, name);
    z.outputStream.pipe(fs.createWriteStream(to)).on('close', resolve).on('error', reject);
    z.end();
  });
}

describe('tosca: depot validate', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-tosca-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a valid folder: exit 0, nothing on stdout', async () => {
    const r = await run([path.join(FIXTURES, 'valid/single_file_v3')]);
    assert.deepEqual([r.code, r.out], [0, '']);
  });

  it('a broken zip: compiler-style lines, exit 1', async () => {
    const files = readFixture('valid/single_file_v3');
    files['Definitions/vnfd.yaml'] = Buffer.from(files['Definitions/vnfd.yaml'].toString().replace('num_virtual_cpu: 2', 'num_virtual_cpu: 0'));
    const zip = path.join(tmp, 'broken.csar');
    await zipOf(files, zip);
    const r = await run([zip]);
    assert.equal(r.code, 1);
    assert.equal(r.out, 'Definitions/vnfd.yaml:58:32 error TOSCA-CONSTRAINT num_virtual_cpu: 0 violates greater_than 0\n');
  });

  it('--json prints findings and facts', async () => {
    const r = await run([path.join(FIXTURES, 'valid/multi_flavour_v2'), '--json']);
    assert.equal(r.code, 0);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.findings, []);
    assert.deepEqual(j.facts.flavourIds, ['small', 'large']);
  });

  it('a single YAML file is a package of its own', async () => {
    const f = path.join(tmp, 'lone.yaml');
    fs.writeFileSync(f, 'tosca_definitions_version: tosca_simple_yaml_1_3\ntopology_template:\n  node_templates: {}\n');
    const r = await run([f]);
    assert.equal(r.code, 1);
    assert.equal(r.out, 'lone.yaml:1:1 error SOL001-VNF-MISSING no node template of a type derived from tosca.nodes.nfv.VNF in the VNFD\n');
  });

  it('usage errors exit 2', async () => {
    assert.equal((await run([])).code, 2);
    assert.equal((await run([path.join(tmp, 'nope.zip')])).code, 2);
  });
});

describe('tosca: docs/rules.md', () => {
  it('documents every rule with its severity, under the TOSCA / SOL001 heading', () => {
    const doc = fs.readFileSync(path.join(repoRoot, 'docs/rules.md'), 'utf8');
    const section = doc.split('## TOSCA / SOL001 rules')[1];
    assert.ok(section, 'heading "## TOSCA / SOL001 rules" missing');
    const table = new Map([...section.matchAll(/^\| `([A-Z0-9-]+)` \| (error|warning) \|/gm)].map((m) => [m[1], m[2]]));
    for (const [id, [severity]] of Object.entries(RULES)) assert.equal(table.get(id), severity, `docs/rules.md: ${id}`);
    for (const id of table.keys()) if (/^(TOSCA|SOL001)-/.test(id)) assert.ok(id in RULES, `docs/rules.md documents unknown rule ${id}`);
  });
});
