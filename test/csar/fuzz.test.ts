import assert from 'node:assert/strict';
import fc from 'fast-check';
import { inspectCsar } from '../../src/csar';
import { buildZip, cleanupCsars, sha256, writeTempZip } from '../helpers/csar-builder';

const META = 'TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\nCreated-By: fuzz\nEntry-Definitions: Definitions/vnfd.yaml\n';

describe('csar robustness (property-based)', () => {
  after(cleanupCsars);

  it('any package of safe names round-trips: every file indexed and hashed, manifest verified', async () => {
    const name = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}(\.[a-z]{1,4})?$/);
    const files = fc.dictionary(fc.tuple(fc.constantFrom('Files', 'Scripts', 'Definitions/x'), name).map(([d, n]) => `${d}/${n}`), fc.uint8Array({ maxLength: 5000 }), { maxKeys: 8 });
    await fc.assert(
      fc.asyncProperty(files, fc.boolean(), async (extra, compress) => {
        // Case-insensitive file systems would clash; that case has its own rule and test.
        const lower = new Set<string>();
        const body: Record<string, Buffer> = {};
        for (const [k, v] of Object.entries(extra)) {
          if (lower.has(k.toLowerCase())) continue;
          lower.add(k.toLowerCase());
          body[k] = Buffer.from(v);
        }
        const all = { 'TOSCA-Metadata/TOSCA.meta': META, 'Definitions/vnfd.yaml': 'x: 1\n', ...body };
        const r = await inspectCsar(await writeTempZip(await buildZip(all, { compress, manifest: {} })));
        assert.equal(r.findings.filter((f) => f.severity === 'error').length, 0, JSON.stringify(r.findings));
        for (const [k, v] of Object.entries(all)) assert.equal(r.digests.get(k)?.sha256, sha256(v));
      }),
      { numRuns: 40 },
    );
  });

  it('corrupting any bytes never crashes: the promise resolves with findings', async () => {
    const clean = await buildZip(
      { 'TOSCA-Metadata/TOSCA.meta': META, 'Definitions/vnfd.yaml': 'tosca_definitions_version: tosca_simple_yaml_1_3\n', 'Files/a.bin': Buffer.alloc(3000, 5), 'Files/b.img': Buffer.alloc(2000, 6) },
      { manifest: {}, entries: { 'Files/b.img': { compress: false } } },
    );
    const patch = fc.array(fc.tuple(fc.nat({ max: clean.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(patch, fc.option(fc.nat({ max: clean.length }), { nil: undefined }), async (bytes, cut) => {
        const bad = Buffer.from(clean);
        for (const [at, v] of bytes) bad[at] = v;
        const path = await writeTempZip(cut === undefined ? bad : bad.subarray(0, cut));
        const r = await inspectCsar(path, { limits: { maxTotalUncompressedBytes: 1 << 20, maxEntries: 100 } });
        assert.ok(Array.isArray(r.findings));
        for (const f of r.findings) assert.match(f.rule, /^CSAR-[A-Z0-9-]+$/);
      }),
      { numRuns: 300 },
    );
  });
});
