import { strict as assert } from 'node:assert';
import { memoryFiles, validateVnfd, validateToscaTemplate } from '../../src/tosca';
import { DEFAULT_LIMITS, get, loadYaml, plain, repairFlowIndent } from '../../src/tosca/yaml';

const load = (text: string, limits = DEFAULT_LIMITS) => loadYaml('t.yaml', Buffer.from(text), limits);
const rules = (fs: { rule: string; line?: number; column?: number }[]) => fs.map((f) => `${f.rule}@${f.line}:${f.column}`);

describe('tosca: YAML loader', () => {
  it('gives every node its file, line and column', () => {
    const r = load('a:\n  b: [1, two]\n  c:\n    - x: y\n');
    assert.deepEqual(r.findings, []);
    const b = get(get(r.root, 'a'), 'b');
    assert.deepEqual([b?.file, b?.line, b?.column], ['t.yaml', 2, 6]);
    const c = get(get(r.root, 'a'), 'c');
    const x = get(c?.kind === 'seq' ? c.items[0] : undefined, 'x');
    assert.deepEqual([x?.line, x?.column], [4, 10]);
  });

  it('reports a duplicate key at the second occurrence and keeps the last value', () => {
    const r = load('a: 1\nb: 2\na: 3\n');
    assert.deepEqual(rules(r.findings), ['TOSCA-DUPLICATE-KEY@3:1']);
    assert.match(r.findings[0].message, /first at line 1/);
    assert.deepEqual(plain(r.root), { b: 2, a: 3 });
  });

  it('reports a syntax error with its position', () => {
    const r = load('a: 1\nb: [1, 2\nc: 3\n');
    assert.equal(r.root, undefined);
    assert.equal(r.findings[0].rule, 'TOSCA-YAML-SYNTAX');
    assert.equal(r.findings[0].file, 't.yaml');
  });

  it('turns an alias bomb into a finding, quickly', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i <= 12; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    const t0 = Date.now();
    const r = load(lines.join('\n'));
    assert.ok(Date.now() - t0 < 2000, 'alias bomb took too long');
    assert.deepEqual(rules(r.findings), ['TOSCA-ALIAS-LIMIT@2:10']);
    assert.equal(r.root, undefined);
  });

  it('limits the number of aliases', () => {
    const text = `a: &a 1\nb: [${Array(300).fill('*a').join(', ')}]\n`;
    assert.deepEqual(rules(load(text).findings), ['TOSCA-ALIAS-LIMIT@2:1029']);
    assert.deepEqual(load(text, { ...DEFAULT_LIMITS, maxAliases: 1000 }).findings, []);
  });

  it('limits nesting depth and file size', () => {
    const deep = `${'['.repeat(100)}${']'.repeat(100)}`;
    assert.deepEqual(rules(load(deep).findings), ['TOSCA-DEPTH-LIMIT@1:66']);
    const huge = load('a: 1\n', { ...DEFAULT_LIMITS, maxFileBytes: 3 });
    assert.deepEqual(rules(huge.findings), ['TOSCA-FILE-TOO-LARGE@1:1']);
    // far beyond the limit: refused before the parser recurses
    const veryDeep = load(`${'['.repeat(200000)}${']'.repeat(200000)}`, { ...DEFAULT_LIMITS, maxFileBytes: 1e6 });
    assert.equal(veryDeep.root, undefined);
    assert.deepEqual(rules(veryDeep.findings), ['TOSCA-DEPTH-LIMIT@1:136']);
    const block = load(Array.from({ length: 5000 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n'), { ...DEFAULT_LIMITS, maxFileBytes: 1e8 });
    assert.deepEqual(rules(block.findings), ['TOSCA-DEPTH-LIMIT@137:1']);
  });

  it('rejects invalid UTF-8', () => {
    const r = loadYaml('bad.yaml', Buffer.from([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a]), DEFAULT_LIMITS);
    assert.deepEqual(rules(r.findings), ['TOSCA-YAML-SYNTAX@1:1']);
  });

  it('accepts a flow sequence continued at column 1 as PyYAML does, with a warning', () => {
    const text = 'x:\n  c:\n    - valid_values: [ a, b,\nc, d ]\n  e: 1\n';
    assert.deepEqual(repairFlowIndent(text).lines, [4]);
    const r = load(text);
    assert.deepEqual(rules(r.findings), ['TOSCA-YAML-FLOW-INDENT@4:1']);
    assert.deepEqual(plain(r.root), { x: { c: [{ valid_values: ['a', 'b', 'c', 'd'] }], e: 1 } });
  });

  it('caches by content but reports findings under the name asked for', () => {
    const text = 'a: 1\na: 2\n';
    loadYaml('one.yaml', Buffer.from(text), DEFAULT_LIMITS);
    const r = loadYaml('two.yaml', Buffer.from(text), DEFAULT_LIMITS);
    assert.deepEqual(r.findings.map((f) => f.file), ['two.yaml']);
    assert.equal(get(r.root, 'a')?.file, 'two.yaml');
  });
});

describe('tosca: templates and imports', () => {
  it('reports a file that is not a template', async () => {
    const r = await validateToscaTemplate(memoryFiles({ 'a.yaml': '- just\n- a list\n' }), 'a.yaml');
    assert.deepEqual(rules(r.findings), ['TOSCA-NOT-A-TEMPLATE@1:1']);
    const r2 = await validateToscaTemplate(memoryFiles({ 'a.yaml': 'description: no version\n' }), 'a.yaml');
    assert.deepEqual(rules(r2.findings), ['TOSCA-NOT-A-TEMPLATE@1:1']);
    const r3 = await validateToscaTemplate(memoryFiles({ 'a.yaml': 'tosca_definitions_version: tosca_simple_yaml_2_0\n' }), 'a.yaml');
    assert.deepEqual(rules(r3.findings), ['TOSCA-DEFINITIONS-VERSION@1:28']);
  });

  it('resolves nested relative imports at any depth and detects a cycle', async () => {
    const v = 'tosca_definitions_version: tosca_simple_yaml_1_3\n';
    const files = memoryFiles({
      'Definitions/main.yaml': `${v}imports:\n  - sub/a.yaml\n`,
      'Definitions/sub/a.yaml': `${v}imports:\n  - file: ../common/b.yaml\n`,
      'Definitions/common/b.yaml': `${v}imports:\n  - ../sub/a.yaml\ndata_types:\n  depot.B:\n    derived_from: tosca.datatypes.Root\n`,
    });
    const r = await validateToscaTemplate(files, 'Definitions/main.yaml');
    assert.deepEqual(r.findings.map((f) => `${f.rule} ${f.file}:${f.line}`), ['TOSCA-IMPORT-CYCLE Definitions/common/b.yaml:3']);
    assert.deepEqual(r.descriptorFiles, ['Definitions/main.yaml', 'Definitions/sub/a.yaml', 'Definitions/common/b.yaml']);
  });

  it('an import outside the package is not found', async () => {
    const files = memoryFiles({ 'main.yaml': 'tosca_definitions_version: tosca_simple_yaml_1_3\nimports:\n  - ../../etc/types.yaml\n' });
    const r = await validateToscaTemplate(files, 'main.yaml');
    assert.deepEqual(rules(r.findings), ['TOSCA-IMPORT-NOT-FOUND@3:5']);
  });

  it('a data type defined under node_types is used, with a warning; an undeclared tosca.* type comes from the catalog', async () => {
    const files = memoryFiles({
      'main.yaml': [
        'tosca_definitions_version: tosca_simple_yaml_1_2',
        'node_types:',
        '  depot.Box:',
        '    derived_from: tosca.datatypes.Root',
        '    properties:',
        '      size: { type: scalar-unit.size }',
        '  depot.Node:',
        '    derived_from: tosca.nodes.Root',
        '    properties:',
        '      box: { type: depot.Box }',
        '      cpu: { type: tosca.datatypes.nfv.VirtualCpu, required: false }',
        'topology_template:',
        '  node_templates:',
        '    n:',
        '      type: depot.Node',
        '      properties:',
        '        box: { size: 3 parsecs }',
        '',
      ].join('\n'),
    });
    const r = await validateToscaTemplate(files, 'main.yaml');
    assert.deepEqual(rules(r.findings), ['TOSCA-TYPE-SECTION@3:3', 'TOSCA-IMPLICIT-TYPE@11:20', 'TOSCA-TYPE-MISMATCH@17:22']);
  });

  it('a hostile derived_from chain is cut at 64 types, in linear time', async () => {
    const lines = ['tosca_definitions_version: tosca_simple_yaml_1_3', 'node_types:', '  t0:', '    derived_from: tosca.nodes.Root'];
    for (let i = 1; i < 5000; i++) lines.push(`  t${i}:`, `    derived_from: t${i - 1}`);
    lines.push('topology_template:', '  node_templates:');
    for (let i = 0; i < 5000; i++) lines.push(`    n${i}:`, '      type: t4999');
    const t0 = Date.now();
    const r = await validateToscaTemplate(memoryFiles({ 'a.yaml': lines.join('\n') }), 'a.yaml');
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    assert.deepEqual(rules(r.findings), ['TOSCA-DEPTH-LIMIT@130:19']);
  });

  it('limits the size of the descriptor as a whole', async () => {
    const v = 'tosca_definitions_version: tosca_simple_yaml_1_3\n';
    const pad = `#${'x'.repeat(300)}\n`;
    const files = memoryFiles({ 'a.yaml': `${v}imports: [ b.yaml, c.yaml, d.yaml, e.yaml ]\n${pad}`, 'b.yaml': v + pad, 'c.yaml': v + pad, 'd.yaml': v + pad, 'e.yaml': v + pad });
    const r = await validateToscaTemplate(files, 'a.yaml', { limits: { maxFileBytes: 400 } });
    assert.deepEqual(r.findings.map((f) => `${f.rule} ${f.file}:${f.line}:${f.column}`), ['TOSCA-FILE-TOO-LARGE a.yaml:2:36']);
    assert.deepEqual(r.descriptorFiles, ['a.yaml', 'b.yaml', 'c.yaml', 'd.yaml']);
  });

  it('never throws on a missing entry', async () => {
    const r = await validateVnfd(memoryFiles({}), 'Definitions/none.yaml');
    assert.deepEqual(r.findings.map((f) => f.rule), ['TOSCA-FILE-UNREADABLE']);
    assert.deepEqual(r.facts, { flavourIds: [], softwareImages: [], descriptorFiles: [] });
  });
});
