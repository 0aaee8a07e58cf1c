import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import * as zlib from 'node:zlib';
import type { Finding } from '../../src/common/findings';
import { inspectCsar, spanSource } from '../../src/csar';
import { crc32Combine, crossCheckStream, splitZipStream, type StreamSplit } from '../../src/csar/zip-stream';
import { streamedRecord, type StreamedFile } from '../../src/packages/ingest';
import { buildZip, centralRecords, dropCentral, patchField, renameEntry, SAMPLE_FILES, sha256, streamedZip, truncate } from '../helpers/csar-builder';

const BASE = SAMPLE_FILES;
const SPLIT_MIN = 4096;

/** The reader destroys a file sink with an error when the entry turns out bad (a bomb): expected here. */
function collector(into: Buffer[]): Writable {
  return new Writable({
    write(c, _e, cb) {
      into.push(c);
      cb();
    },
  }).on('error', () => undefined);
}

interface Streamed {
  split: StreamSplit;
  skeleton: Buffer;
  parts: { dataOffset: number; bytes: Buffer }[];
  files: Map<string, Buffer>;
}

/** Streams `zip` in `chunk`-byte pieces through the reader, collecting every sink in memory. */
async function stream(zip: Buffer, chunk = 4093, limits = {}): Promise<Streamed> {
  const skeleton: Buffer[] = [];
  const parts: { dataOffset: number; chunks: Buffer[] }[] = [];
  const files = new Map<string, Buffer[]>();
  async function* source() {
    for (let i = 0; i < zip.length; i += chunk) yield zip.subarray(i, i + chunk);
  }
  const split = await splitZipStream(source(), {
    skeleton: collector(skeleton),
    split: (e) => {
      const p = { dataOffset: e.dataOffset, chunks: [] as Buffer[] };
      parts.push(p);
      return collector(p.chunks);
    },
    file: (e) => {
      const into: Buffer[] = [];
      files.set(e.name, into);
      return collector(into);
    },
  }, { splitMinBytes: SPLIT_MIN, limits, crc32: true });
  // Every archive streamed here (hostile, truncated, out of sync) checks the whole-stream CRC-32
  // folded from skeleton bytes and split entries' CRC-32s against a direct one.
  assert.equal(split.crc32, zlib.crc32(zip) >>> 0, 'the whole-stream CRC-32 is the CRC-32 of every byte');
  return {
    split,
    skeleton: Buffer.concat(skeleton),
    parts: parts.map((p) => ({ dataOffset: p.dataOffset, bytes: Buffer.concat(p.chunks) })),
    files: new Map([...files].map(([k, v]) => [k, Buffer.concat(v)])),
  };
}

/** Skeleton and split parts put back together: must be the upload, byte for byte. */
function reassemble(s: Streamed): Buffer {
  const out: Buffer[] = [];
  let skel = 0;
  let pos = 0;
  for (const p of s.parts) {
    out.push(s.skeleton.subarray(skel, skel + (p.dataOffset - pos)));
    skel += p.dataOffset - pos;
    out.push(p.bytes);
    pos = p.dataOffset + p.bytes.length;
  }
  out.push(s.skeleton.subarray(skel));
  return Buffer.concat(out);
}

const temp: string[] = [];
after(() => temp.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/**
 * What the pipeline does with an upload, without the database: split while streaming, store the
 * skeleton and the split entries as files, inspect the composite in place reusing the streamed
 * digests, and add the stream-versus-central-directory findings. Returns every finding, and which
 * entries were read again (not reused).
 */
async function pipelineFindings(zip: Buffer, limits = {}): Promise<{ findings: Finding[]; reread: string[]; s: Streamed }> {
  const s = await stream(zip, 1000, limits);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-zip-stream-'));
  temp.push(dir);
  const spans: { path: string; start: number; end: number }[] = [];
  fs.writeFileSync(path.join(dir, 'skeleton'), s.skeleton);
  let skel = 0;
  let pos = 0;
  s.parts.forEach((p, i) => {
    const file = path.join(dir, `part${i}`);
    fs.writeFileSync(file, p.bytes);
    const gap = p.dataOffset - pos;
    if (gap) spans.push({ path: path.join(dir, 'skeleton'), start: skel, end: skel + gap - 1 });
    skel += gap;
    if (p.bytes.length) spans.push({ path: file, start: 0, end: p.bytes.length - 1 });
    pos = p.dataOffset + p.bytes.length;
  });
  if (s.skeleton.length > skel) spans.push({ path: path.join(dir, 'skeleton'), start: skel, end: s.skeleton.length - 1 });
  const source = await spanSource(spans);
  const files = new Map<string, StreamedFile>();
  for (const e of s.split.entries) {
    if (!e.digests || e.problem) continue;
    files.set(e.name, { name: e.name, headerOffset: e.localOffset, method: e.method, compressedSize: e.compressedSize, size: e.size!, crc32: e.crc32!, digests: e.digests, split: e.split });
  }
  const reread: string[] = [];
  try {
    const inspection = await inspectCsar(source, {
      limits,
      reuse: (entry) => streamedRecord(files, entry)?.digests as any,
      onEntry: async (entry, body) => {
        reread.push(entry.name);
        body.resume();
      },
    });
    return { findings: [...inspection.findings, ...crossCheckStream(s.split)], reread, s };
  } finally {
    await source.close();
  }
}

const rules = (f: Finding[]) => f.map((x) => x.rule);

describe('csar streaming zip reader (zip-stream)', () => {
  const image = crypto.randomBytes(100_000);
  const text = 'deflate me '.repeat(2000);

  for (const chunk of [1, 7, 4093, 1 << 20]) {
    it(`splits a stored image out, hands small entries over decompressed, keeps the bytes exact (${chunk}-byte chunks)`, async () => {
      const zip = await buildZip({ ...BASE, 'Files/images/disk.img': image, 'Files/readme.txt': text }, { manifest: {}, entries: { 'Files/images/disk.img': { compress: false } }, directories: ['Files/'] });
      const s = await stream(zip, chunk);
      assert.equal(s.split.inSync, true);
      assert.equal(s.split.size, zip.length);
      assert.ok(reassemble(s).equals(zip), 'skeleton + parts = the upload');
      assert.equal(s.parts.length, 1);
      assert.ok(s.parts[0].bytes.equals(image), 'the split part is exactly the image');
      assert.equal(s.skeleton.length, zip.length - image.length, 'the image bytes are not also in the skeleton');
      assert.equal(s.files.get('Files/readme.txt')?.toString(), text);
      assert.equal(s.files.has('Files/images/disk.img'), false);
      const img = s.split.entries.find((e) => e.name === 'Files/images/disk.img')!;
      assert.equal(img.digests?.sha256, sha256(image));
      assert.equal(s.split.entries.find((e) => e.name === 'Files/readme.txt')?.digests?.sha256, sha256(text));
      assert.deepEqual(crossCheckStream(s.split), []);
    });
  }

  it('crc32Combine: the CRC-32 of A then B from crc(A), crc(B) and |B|, at any length', () => {
    const data = crypto.randomBytes(300_000);
    for (const cut of [0, 1, 2, 3, 4, 5, 31, 32, 33, 4096, 65_537, 299_999, 300_000]) {
      const a = data.subarray(0, cut);
      const b = data.subarray(cut);
      assert.equal(crc32Combine(zlib.crc32(a), zlib.crc32(b), b.length), zlib.crc32(data) >>> 0, `cut at ${cut}`);
    }
    // Lengths past 2^32 (a zip64 image): appending is associative, so both groupings must agree.
    const [x, y, z] = [0x12345678, 0x9abcdef0, 0x0fedcba9];
    const [ly, lz] = [3_000_000_000, 5_500_000_001];
    assert.equal(crc32Combine(crc32Combine(x, y, ly), z, lz), crc32Combine(x, crc32Combine(y, z, lz), ly + lz));
    assert.notEqual(crc32Combine(x, y, ly + 2 ** 32), crc32Combine(x, y, ly), 'the length is not taken modulo 2^32');
  });

  it('with crc32, a stored entry the caller hashes itself is not CRC\'d, yet folds into the whole-stream CRC-32', async () => {
    const zip = await buildZip({ 'Files/images/disk.img': image, 'Files/readme.txt': text }, { entries: { 'Files/images/disk.img': { compress: false } } });
    const plain = await splitZipStream((async function* () {
      yield zip;
    })(), { skeleton: collector([]), split: () => collector([]), file: () => collector([]) }, { splitMinBytes: SPLIT_MIN, hashedBySink: () => true });
    assert.equal(plain.crc32, undefined, 'no whole-stream CRC-32 unless asked for');
    const img = plain.entries.find((e) => e.name === 'Files/images/disk.img')!;
    assert.equal(img.crc32, undefined, 'the caller sets it');
    assert.equal(img.digests?.sha256, undefined, 'the caller sets it');
    assert.equal(plain.entries.find((e) => e.name === 'Files/readme.txt')?.crc32, zlib.crc32(text) >>> 0);
    const folded = await splitZipStream((async function* () {
      yield zip;
    })(), { skeleton: collector([]), split: () => collector([]), file: () => collector([]) }, { splitMinBytes: SPLIT_MIN, hashedBySink: () => true, crc32: true });
    assert.equal(folded.crc32, zlib.crc32(zip) >>> 0);
  });

  it('computes the extra digests asked for, next to SHA-256', async () => {
    const zip = await buildZip({ 'Files/images/disk.img': image }, { entries: { 'Files/images/disk.img': { compress: false } } });
    let sha512: string | undefined;
    await splitZipStream((async function* () {
      yield zip;
    })(), { skeleton: collector([]), split: () => collector([]) }, { splitMinBytes: SPLIT_MIN, algorithms: () => ['sha512'] }).then((r) => (sha512 = r.entries[0].digests?.sha512));
    assert.equal(sha512, crypto.createHash('sha512').update(image).digest('hex'));
  });

  it('deflated entries with a data descriptor (Java ZipOutputStream style) are split on the fly', async () => {
    const zip = await streamedZip({ 'a.txt': text, 'b.bin': image, 'c.img': image }, { stored: ['c.img'], buffered: ['c.img'] });
    const s = await stream(zip, 777);
    assert.equal(s.split.inSync, true);
    const [a, b, c] = s.split.entries;
    assert.ok(a.flags & 8 && b.flags & 8, 'the builder wrote data descriptors');
    assert.deepEqual(a.descriptor && { size: a.descriptor.size, crc: a.descriptor.crc32 >>> 0 }, { size: text.length, crc: zlib.crc32(text) >>> 0 });
    assert.equal(a.digests?.sha256, sha256(text));
    assert.equal(b.digests?.sha256, sha256(image));
    assert.equal(c.split, true, 'the stored entry after them is still split: the reader kept its place');
    assert.ok(reassemble(s).equals(zip));
    assert.deepEqual(crossCheckStream(s.split), []);
  });

  it('a stored entry with a data descriptor cannot be split: the rest goes to the skeleton, and the index reads it instead', async () => {
    const zip = await streamedZip({ 'a.txt': text, 'stored.bin': image, 'after.img': image }, { stored: ['stored.bin', 'after.img'], buffered: ['a.txt', 'after.img'] });
    const s = await stream(zip);
    assert.equal(s.split.inSync, false);
    assert.match(s.split.lostSync!.reason, /stored entry with a data descriptor/);
    assert.equal(s.parts.length, 0, 'nothing after it was split');
    assert.ok(s.skeleton.equals(zip), 'every byte is in the skeleton');
    const { findings, reread } = await pipelineFindings(zip);
    assert.deepEqual(findings.filter((f) => f.rule.startsWith('CSAR-ZIP')), []);
    assert.deepEqual(reread.sort(), ['after.img', 'stored.bin'], 'a.txt streamed by before the reader lost its place and is reused');
  });

  it('reads zip64 records (zip64 extra fields and end records on a small archive)', async () => {
    const zip = await buildZip({ ...BASE, 'Files/images/disk.img': image }, { forceZip64: true, manifest: {}, entries: { 'Files/images/disk.img': { compress: false } } });
    const s = await stream(zip);
    assert.equal(s.split.inSync, true);
    assert.ok(s.parts[0].bytes.equals(image));
    assert.ok(reassemble(s).equals(zip));
    const { findings, reread } = await pipelineFindings(zip);
    assert.deepEqual(findings, []);
    assert.deepEqual(reread, [], 'every entry reused its streamed digests');
  });

  it('a clean package: the composite of skeleton and parts inspects without findings and no entry is read again', async () => {
    const zip = await buildZip({ ...BASE, 'Files/images/disk.img': image, 'Files/readme.txt': text }, { manifest: {}, entries: { 'Files/images/disk.img': { compress: false } } });
    const { findings, reread } = await pipelineFindings(zip);
    assert.deepEqual(findings, []);
    assert.deepEqual(reread, []);
  });

  describe('local headers that disagree with the central directory', () => {
    it('a deflated entry whose local name differs → CSAR-ZIP-HEADER-MISMATCH (the index alone does not see it)', async () => {
      const zip = await buildZip({ ...BASE, 'Files/a.txt': text }, { patch: [renameEntry('Files/a.txt', 'Files/b.txt', 'local')] });
      const { findings } = await pipelineFindings(zip);
      const f = findings.find((x) => x.rule === 'CSAR-ZIP-HEADER-MISMATCH');
      assert.ok(f, rules(findings).join());
      assert.equal(f.file, 'Files/a.txt');
      assert.match(f.message, /Files\/b\.txt/);
    });

    it('sizes or CRC-32 that differ between the local header and the central directory', async () => {
      for (const [field, value] of [['crc32', 0xdeadbeef], ['uncompressedSize', 5], ['compressedSize', 6]] as const) {
        const zip = await buildZip({ ...BASE, 'Files/a.txt': text }, { patch: [patchField('Files/a.txt', field, value, 'central')] });
        const { findings } = await pipelineFindings(zip);
        assert.ok(rules(findings).includes('CSAR-ZIP-HEADER-MISMATCH'), `${field}: ${rules(findings).join()}`);
      }
    });

    it('a local header the central directory does not list → CSAR-ZIP-HIDDEN-ENTRY', async () => {
      const zip = await buildZip({ ...BASE, 'Files/hidden.sh': 'rm -rf /\n' }, { patch: [dropCentral('Files/hidden.sh')] });
      const { findings } = await pipelineFindings(zip);
      const zipRules = findings.filter((f) => f.rule.startsWith('CSAR-ZIP'));
      assert.deepEqual(rules(zipRules), ['CSAR-ZIP-HIDDEN-ENTRY']);
      assert.equal(zipRules[0].file, 'Files/hidden.sh');
    });

    it('a central directory entry inside another entry\'s data (no local header streamed there) → CSAR-ZIP-HIDDEN-ENTRY', async () => {
      // The stored entry's data is a complete local record of "evil.sh"; a central record points into it.
      const inner = await buildZip({ 'evil.sh': 'echo pwned\n' }, { compress: false });
      const innerCd = centralRecords(inner)[0];
      const payload = inner.subarray(0, innerCd.offset);
      const outer = await buildZip({ ...BASE, 'Files/blob.bin': payload }, { compress: false });
      const blob = centralRecords(outer).find((c) => c.name === 'Files/blob.bin')!;
      const dataOffset = blob.localOffset + 30 + outer.readUInt16LE(blob.localOffset + 26) + outer.readUInt16LE(blob.localOffset + 28);
      const cdLen = 46 + inner.readUInt16LE(innerCd.offset + 28) + inner.readUInt16LE(innerCd.offset + 30) + inner.readUInt16LE(innerCd.offset + 32);
      const record = Buffer.from(inner.subarray(innerCd.offset, innerCd.offset + cdLen));
      record.writeUInt32LE(dataOffset, 42);
      const eocd = outer.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
      const zip = Buffer.concat([outer.subarray(0, eocd), record, outer.subarray(eocd)]);
      const end = zip.length - (outer.length - eocd);
      zip.writeUInt16LE(zip.readUInt16LE(end + 8) + 1, end + 8);
      zip.writeUInt16LE(zip.readUInt16LE(end + 10) + 1, end + 10);
      zip.writeUInt32LE(zip.readUInt32LE(end + 12) + cdLen, end + 12);
      const { findings } = await pipelineFindings(zip);
      const f = findings.find((x) => x.rule === 'CSAR-ZIP-HIDDEN-ENTRY');
      assert.ok(f, rules(findings).join());
      assert.equal(f.file, 'evil.sh');
    });
  });

  describe('the hostile set, whichever pass detects it', () => {
    const cases: [string, () => Promise<Buffer>, string, object?][] = [
      ['`..` segments', () => buildZip({ ...BASE, 'xx/evil.txt': 'boom' }, { patch: [renameEntry('xx/evil.txt', '../evil.txt')] }), 'CSAR-ZIP-SLIP'],
      ['absolute path', () => buildZip({ ...BASE, 'xtmp/evil.txt': 'boom' }, { patch: [renameEntry('xtmp/evil.txt', '/tmp/evil.txt')] }), 'CSAR-ZIP-SLIP'],
      ['backslash', () => buildZip({ ...BASE, 'Files/a/evil.txt': 'boom' }, { patch: [renameEntry('Files/a/evil.txt', 'Files\\a\\evil.txt')] }), 'CSAR-ZIP-SLIP'],
      ['NUL in a name', () => buildZip({ ...BASE, 'Files/aXb.txt': 'x' }, { patch: [renameEntry('Files/aXb.txt', 'Files/a\u0000b.txt')] }), 'CSAR-ZIP-BAD-NAME'],
      ['symlink', () => buildZip({ ...BASE, 'Files/link': '/etc/passwd' }, { entries: { 'Files/link': { mode: 0o120777 } } }), 'CSAR-ZIP-SYMLINK'],
      ['special file', () => buildZip({ ...BASE, 'Files/fifo': 'x' }, { entries: { 'Files/fifo': { mode: 0o010644 } } }), 'CSAR-ZIP-SPECIAL-FILE'],
      ['duplicate name', () => buildZip({ ...BASE, 'Files/a.txt': 'one', 'Files/b.txt': 'two' }, { patch: [renameEntry('Files/b.txt', 'Files/a.txt')] }), 'CSAR-ZIP-DUPLICATE'],
      ['case collision', () => buildZip({ ...BASE, 'Files/Readme.txt': 'one', 'Files/README.txt': 'two' }), 'CSAR-ZIP-CASE-COLLISION'],
      ['encrypted flag', () => buildZip({ ...BASE, 'Files/x.bin': 'x'.repeat(100) }, { patch: [patchField('Files/x.bin', 'flags', 1)] }), 'CSAR-ZIP-ENCRYPTED'],
      ['unsupported method', () => buildZip({ ...BASE, 'Files/x.bin': 'x'.repeat(100) }, { patch: [patchField('Files/x.bin', 'method', 12)] }), 'CSAR-ZIP-UNSUPPORTED-METHOD'],
      ['extreme ratio', () => buildZip({ ...BASE, 'Files/zeros.bin': Buffer.alloc(16 * 1024 * 1024) }), 'CSAR-ZIP-BOMB'],
      ['inflates past its declared size (both headers lie)', () => buildZip({ ...BASE, 'Files/liar.bin': Buffer.alloc(200_000, 1) }, { patch: [patchField('Files/liar.bin', 'uncompressedSize', 1000)] }), 'CSAR-ZIP-BOMB'],
      ['declared total over the cap', () => buildZip({ ...BASE, 'Files/a.bin': Buffer.alloc(5000, 3) }), 'CSAR-ZIP-TOO-LARGE', { maxTotalUncompressedBytes: 4096 }],
      ['too many entries', async () => {
        const many: Record<string, string> = {};
        for (let i = 0; i < 20; i++) many[`Files/f${i}.txt`] = String(i);
        return buildZip(many);
      }, 'CSAR-ZIP-TOO-MANY-ENTRIES', { maxEntries: 10 }],
      ['truncated', async () => truncate(60_000)(await buildZip({ ...BASE, 'Files/a.bin': crypto.randomBytes(100_000) }, { compress: false })), 'CSAR-ZIP-CORRUPT'],
      ['not a zip', async () => Buffer.from('not a zip at all\n'.repeat(20)), 'CSAR-ZIP-CORRUPT'],
      ['CRC-32 that does not match the data (both headers)', () => buildZip({ ...BASE, 'Files/a.txt': 'hello world' }, { patch: [patchField('Files/a.txt', 'crc32', 0xdeadbeef)] }), 'CSAR-ZIP-CRC'],
      ['CRC-32 of a split stored image that does not match (both headers)', () => buildZip({ ...BASE, 'Files/disk.img': image }, { compress: false, patch: [patchField('Files/disk.img', 'crc32', 0xdeadbeef)] }), 'CSAR-ZIP-CRC'],
      ['stored entry whose local name differs', () => buildZip({ ...BASE, 'Files/a.img': 'data' }, { compress: false, patch: [renameEntry('Files/a.img', 'Files/b.img', 'local')] }), 'CSAR-ZIP-HEADER-MISMATCH'],
    ];
    for (const [what, make, rule, limits] of cases) {
      it(`${what} → ${rule}`, async () => {
        const zip = await make();
        const { findings, s } = await pipelineFindings(zip, limits);
        assert.ok(rules(findings).includes(rule), `${rule} not in ${rules(findings).join(', ')}`);
        assert.ok(reassemble(s).equals(zip), 'the stored bytes are still exactly the upload');
      });
    }

    it('a bomb is cut off while inflating: its file sink fails, no digest is kept for it', async () => {
      const zip = await buildZip({ ...BASE, 'Files/liar.bin': Buffer.alloc(200_000, 1) }, { patch: [patchField('Files/liar.bin', 'uncompressedSize', 1000)] });
      const s = await stream(zip);
      const liar = s.split.entries.find((e) => e.name === 'Files/liar.bin')!;
      assert.match(liar.problem!, /more than the 1000 bytes/);
      assert.equal(liar.digests, undefined);
      assert.ok((liar.size ?? 0) < 200_000);
      assert.equal(s.split.inSync, true, 'the local header said where it ends: the reader kept its place');
    });
  });
});
