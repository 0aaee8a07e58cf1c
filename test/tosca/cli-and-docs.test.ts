import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RULES } from '../../src/tosca';
import { repoRoot } from '../helpers/shared';

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
