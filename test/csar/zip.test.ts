import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { text } from 'node:stream/consumers';
import { inspectCsar, openCsar } from '../../src/csar';
import type { Finding } from '../../src/common/findings';
import { buildCsar, buildZip, cleanupCsars, patchField, renameEntry, SAMPLE_FILES, sha256, truncate, writeTempZip } from '../helpers/csar-builder';

const BASE = SAMPLE_FILES;

function rules(findings: Finding[]): string[] {
  return findings.map((f) => f.rule);
}

async function indexFindings(path: string, limits = {}): Promise<Finding[]> {
  const csar = await openCsar(path, limits);
  try {
    return csar.findings;
  } finally {
    await csar.close();
  }
}

describe('csar zip index', () => {
  after(cleanupCsars);

  it('indexes a clean package without findings and records stored data offsets', async () => {
    const image = Buffer.alloc(100_000, 7);
    const path = await buildCsar({ ...BASE, 'Files/images/disk.img': image }, { manifest: {}, entries: { 'Files/images/disk.img': { compress: false } }, directories: ['Files/'] });
    const csar = await openCsar(path);
    try {
      assert.deepEqual(csar.findings, []);
      assert.deepEqual(csar.directories, ['Files/']);
      const img = csar.getEntry('Files/images/disk.img');
      assert.ok(img && img.method === 0 && img.dataOffset !== undefined);
      const fd = await fs.promises.open(path, 'r');
      const head = Buffer.alloc(image.length);
      await fd.read(head, 0, head.length, img.dataOffset);
      await fd.close();
      assert.ok(head.equals(image), 'dataOffset points at the stored bytes');
      assert.equal(csar.getEntry('Definitions/vnfd.yaml')?.dataOffset, undefined);
      assert.equal(await text(await csar.openEntry('ChangeLog.txt')), 'v1\n');
      assert.equal((await csar.readEntry('Definitions/vnfd.yaml', 1000)).toString(), BASE['Definitions/vnfd.yaml']);
      await assert.rejects(csar.readEntry('Definitions/vnfd.yaml', 10), { rule: 'CSAR-FILE-TOO-LARGE' });
    } finally {
      await csar.close();
    }
  });

  const tricks: [string, string, string][] = [
    ['parent segment', 'xx/evil.txt', '../evil.txt'],
    ['absolute path', 'xtmp/evil.txt', '/tmp/evil.txt'],
    ['backslash', 'Files/a/evil.txt', 'Files\\a\\evil.txt'],
    ['drive letter', 'xxevil.txt', 'C:evil.txt'],
  ];
  for (const [what, placeholder, hostile] of tricks) {
    it(`reports CSAR-ZIP-SLIP for a ${what} and keeps indexing`, async () => {
      const path = await buildCsar({ ...BASE, [placeholder]: 'boom' }, { patch: [renameEntry(placeholder, hostile)] });
      const csar = await openCsar(path);
      try {
        assert.deepEqual(rules(csar.findings), ['CSAR-ZIP-SLIP']);
        assert.ok(csar.getEntry('Definitions/vnfd.yaml'), 'other entries are still indexed');
        assert.equal(csar.entries.some((e) => e.name === hostile), false);
      } finally {
        await csar.close();
      }
    });
  }

  it('reports CSAR-ZIP-BAD-NAME for NUL and control characters', async () => {
    const path = await buildCsar({ ...BASE, 'Files/aXb.txt': 'x', 'Files/cXd.txt': 'y' }, { patch: [renameEntry('Files/aXb.txt', 'Files/a\u0000b.txt'), renameEntry('Files/cXd.txt', 'Files/c\nd.txt')] });
    assert.deepEqual(rules(await indexFindings(path)), ['CSAR-ZIP-BAD-NAME', 'CSAR-ZIP-BAD-NAME']);
  });

  it('reports CSAR-ZIP-SYMLINK from the external attribute mode bits', async () => {
    const path = await buildCsar({ ...BASE, 'Files/link': '/etc/passwd' }, { entries: { 'Files/link': { mode: 0o120777 } } });
    const f = await indexFindings(path);
    assert.deepEqual(rules(f), ['CSAR-ZIP-SYMLINK']);
    assert.equal(f[0].file, 'Files/link');
  });

  it('reports CSAR-ZIP-SPECIAL-FILE for a device or FIFO entry', async () => {
    const path = await buildCsar({ ...BASE, 'Files/fifo': '' }, { entries: { 'Files/fifo': { mode: 0o010644 } } });
    assert.deepEqual(rules(await indexFindings(path)), ['CSAR-ZIP-SPECIAL-FILE']);
  });

  it('reports CSAR-ZIP-DUPLICATE for a repeated name', async () => {
    const path = await buildCsar({ ...BASE, 'Files/a.txt': 'one', 'Files/b.txt': 'two' }, { patch: [renameEntry('Files/b.txt', 'Files/a.txt')] });
    assert.deepEqual(rules(await indexFindings(path)), ['CSAR-ZIP-DUPLICATE']);
  });

  it('reports CSAR-ZIP-DUPLICATE for a name that is both a file and a directory', async () => {
    const path = await buildCsar({ ...BASE, Files: 'file', 'Files/a.txt': 'nested' });
    const f = await indexFindings(path);
    assert.deepEqual(f.map((x) => [x.rule, x.file]), [['CSAR-ZIP-DUPLICATE', 'Files/a.txt']]);
  });

  it('reports CSAR-ZIP-CASE-COLLISION for names that differ only in case', async () => {
    const path = await buildCsar({ ...BASE, 'Files/Readme.txt': 'one', 'Files/README.txt': 'two' });
    assert.deepEqual(rules(await indexFindings(path)), ['CSAR-ZIP-CASE-COLLISION']);
  });

  it('reports CSAR-ZIP-ENCRYPTED for the traditional encryption flag', async () => {
    const path = await buildCsar({ ...BASE, 'Files/secret.txt': 'x' }, { patch: [patchField('Files/secret.txt', 'flags', 0x0001)] });
    assert.deepEqual(rules(await indexFindings(path)), ['CSAR-ZIP-ENCRYPTED']);
  });

  it('reports CSAR-ZIP-UNSUPPORTED-METHOD for bzip2/lzma etc.', async () => {
    const path = await buildCsar({ ...BASE, 'Files/x.bin': 'x'.repeat(100) }, { patch: [patchField('Files/x.bin', 'method', 12)] });
    assert.deepEqual(rules(await indexFindings(path)), ['CSAR-ZIP-UNSUPPORTED-METHOD']);
  });

  it('reports CSAR-ZIP-BOMB for an honest but extreme compression ratio', async () => {
    const path = await buildCsar({ ...BASE, 'Files/zeros.bin': Buffer.alloc(16 * 1024 * 1024) });
    const f = await indexFindings(path);
    assert.deepEqual(rules(f), ['CSAR-ZIP-BOMB']);
    assert.equal(f[0].file, 'Files/zeros.bin');
  });

  it('reports CSAR-ZIP-BOMB when an entry inflates past its declared size (lying header)', async () => {
    const payload = Buffer.alloc(200_000, 1);
    const path = await buildCsar({ ...BASE, 'Files/liar.bin': payload }, { patch: [patchField('Files/liar.bin', 'uncompressedSize', 1000, 'central')] });
    assert.deepEqual(await indexFindings(path), [], 'the declared sizes look harmless');
    const csar = await openCsar(path);
    try {
      await assert.rejects(async () => text(await csar.openEntry('Files/liar.bin')), { rule: 'CSAR-ZIP-BOMB' });
    } finally {
      await csar.close();
    }
    const result = await inspectCsar(path);
    assert.ok(rules(result.findings).includes('CSAR-ZIP-BOMB'));
    assert.equal(result.digests.has('Files/liar.bin'), false);
  });

  it('reports CSAR-ZIP-TOO-LARGE when the declared total exceeds the cap', async () => {
    const path = await buildCsar({ ...BASE, 'Files/a.bin': Buffer.alloc(5000, 3) });
    assert.deepEqual(rules(await indexFindings(path, { maxTotalUncompressedBytes: 4096 })), ['CSAR-ZIP-TOO-LARGE']);
  });

  it('reports CSAR-ZIP-TOO-MANY-ENTRIES before reading the entries', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 20; i++) files[`Files/f${i}.txt`] = String(i);
    const path = await buildCsar(files);
    const csar = await openCsar(path, { maxEntries: 10 });
    try {
      assert.deepEqual(rules(csar.findings), ['CSAR-ZIP-TOO-MANY-ENTRIES']);
      assert.equal(csar.fatal, true);
      assert.equal(csar.entries.length, 0);
    } finally {
      await csar.close();
    }
  });

  it('reports CSAR-ZIP-CORRUPT for a truncated archive instead of throwing', async () => {
    const zip = await buildZip({ ...BASE, 'Files/a.bin': crypto.getRandomValues(Buffer.alloc(50_000)) });
    for (const cut of [zip.length - 10, Math.floor(zip.length / 2), 10, 0]) {
      const result = await inspectCsar(await writeTempZip(truncate(cut)(zip)));
      assert.deepEqual(rules(result.findings), ['CSAR-ZIP-CORRUPT'], `cut at ${cut}`);
      assert.equal(result.structure, undefined);
    }
  });

  it('reports CSAR-ZIP-CORRUPT when the central directory points past the data', async () => {
    const path = await buildCsar({ ...BASE, 'Files/a.bin': Buffer.alloc(5000, 3) }, { entries: { 'Files/a.bin': { compress: false } }, patch: [patchField('Files/a.bin', 'compressedSize', 0x7fffffff, 'central'), patchField('Files/a.bin', 'uncompressedSize', 0x7fffffff, 'central')] });
    const f = await indexFindings(path, { maxTotalUncompressedBytes: 2 ** 40 });
    assert.deepEqual(rules(f), ['CSAR-ZIP-CORRUPT']);
  });

  it('reports CSAR-ZIP-CRC when the data does not match the recorded CRC-32', async () => {
    const path = await buildCsar({ ...BASE, 'Files/a.txt': 'hello world' }, { patch: [patchField('Files/a.txt', 'crc32', 0xdeadbeef, 'central')] });
    const result = await inspectCsar(path);
    assert.ok(rules(result.findings).includes('CSAR-ZIP-CRC'));
    assert.equal(result.findings.find((f) => f.rule === 'CSAR-ZIP-CRC')?.file, 'Files/a.txt');
  });

  it('reports CSAR-ZIP-HEADER-MISMATCH when a stored entry\'s local name differs', async () => {
    const path = await buildCsar({ ...BASE, 'Files/a.img': 'data' }, { entries: { 'Files/a.img': { compress: false } }, patch: [renameEntry('Files/a.img', 'Files/b.img', 'local')] });
    assert.deepEqual(rules(await indexFindings(path)), ['CSAR-ZIP-HEADER-MISMATCH']);
  });

  it('reads zip64 archives (forced zip64 records on a small archive)', async () => {
    const image = Buffer.alloc(300_000, 9);
    const files = { ...BASE, 'Files/images/disk.img': image };
    const path = await buildCsar(files, { forceZip64: true, manifest: {}, entries: { 'Files/images/disk.img': { compress: false } } });
    const result = await inspectCsar(path);
    assert.deepEqual(result.findings, []);
    assert.equal(result.digests.get('Files/images/disk.img')?.sha256, sha256(image));
    const entry = result.entries.find((e) => e.name === 'Files/images/disk.img');
    assert.equal(entry?.size, image.length);
    assert.ok(entry?.dataOffset !== undefined);
  });
});
