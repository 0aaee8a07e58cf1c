import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CATALOG_DIR, catalogFiles, catalogTemplate } from '../../src/tosca/catalog';
import { readSnapshot, writeSnapshot } from '../../src/tosca/snapshot';

describe('tosca: catalog snapshots (the parsed catalog that `npm run build` saves for a fast cold start)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-snapshot-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('every catalog file reads back from its snapshot as exactly the tree the parser makes', () => {
    const files = catalogFiles();
    assert.ok(files.length >= 3, files.join(', '));
    for (const rel of files) {
      const bytes = fs.readFileSync(path.join(CATALOG_DIR, rel));
      const parsed = catalogTemplate(rel);
      writeSnapshot(tmp, rel, bytes, parsed);
      assert.deepEqual(readSnapshot(tmp, rel, bytes, `catalog:${rel}`), parsed, rel);
    }
  });

  it('a snapshot of other bytes (the catalog changed since the build) is not used', () => {
    const rel = catalogFiles()[0];
    const bytes = fs.readFileSync(path.join(CATALOG_DIR, rel));
    writeSnapshot(tmp, rel, bytes, catalogTemplate(rel));
    assert.equal(readSnapshot(tmp, rel, Buffer.concat([bytes, Buffer.from('\n# edited\n')]), `catalog:${rel}`), undefined);
    assert.equal(readSnapshot(tmp, 'no/such.yaml', bytes, 'catalog:no/such.yaml'), undefined);
  });
});
