import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { RULES, memoryFiles, validateVnfd } from '../../src/tosca';
import { readFixture } from './corpus';

const BASE = readFixture('valid/single_file_v3');
const ENTRY = 'Definitions/vnfd.yaml';
const TEXT = BASE[ENTRY].toString('utf8');

/** Random edits that stress YAML structure: YAML indicator characters, line moves, indentation changes. */
const edit = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.stringMatching(/^[\][{}:\-&*!|>'"#\n ,?%@`a-z0-9.]{1,8}$/) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('dupLine' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('indent' as const), at: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
  fc.record({ kind: fc.constant('alias' as const), at: fc.nat() }),
);
type Edit = typeof edit extends fc.Arbitrary<infer T> ? T : never;

function apply(text: string, e: Edit): string {
  const lines = text.split('\n');
  const at = e.at % (e.kind === 'insert' || e.kind === 'delete' ? text.length + 1 : lines.length);
  switch (e.kind) {
    case 'insert':
      return text.slice(0, at) + e.text + text.slice(at);
    case 'delete':
      return text.slice(0, at) + text.slice(at + e.len);
    case 'dupLine':
      lines.splice(at, 0, lines[at]);
      return lines.join('\n');
    case 'indent':
      lines[at] = e.by >= 0 ? ' '.repeat(e.by) + lines[at] : lines[at].replace(new RegExp(`^ {0,${-e.by}}`), '');
      return lines.join('\n');
    case 'alias':
      lines[at] = lines[at].replace(/: (\S+)$/, ': &x $1') + '\n' + lines[at].replace(/: (\S+)$/, ': *x');
      return lines.join('\n');
  }
}

describe('tosca: property test', () => {
  it('random edits of a valid VNFD never crash the loader or the validator', async function () {
    this.timeout(60_000);
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 6 }), async (edits) => {
        const text = edits.reduce(apply, TEXT);
        const r = await validateVnfd(memoryFiles({ ...BASE, [ENTRY]: text }), ENTRY);
        assert.ok(Array.isArray(r.findings) && Array.isArray(r.facts.softwareImages));
        for (const f of r.findings) {
          assert.ok(f.rule in RULES, `undocumented rule ${f.rule}`);
          assert.equal(f.severity, RULES[f.rule as keyof typeof RULES][0]);
          if (f.file) assert.ok(Number.isInteger(f.line) && f.line! >= 1 && Number.isInteger(f.column) && f.column! >= 1, JSON.stringify(f));
        }
      }),
      { numRuns: 300 },
    );
  });
});
