import * as fs from 'node:fs';
import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import * as yauzl from 'yauzl';
import type { Finding } from '../common/findings';
import { CsarError, finding, toCsarError } from './finding';

/** Caps that keep a hostile archive from exhausting memory, disk or time. */
export interface CsarLimits {
  /** Central directory records, directories included. */
  maxEntries: number;
  /** Sum of the declared uncompressed sizes of all file entries. */
  maxTotalUncompressedBytes: number;
  /** Declared uncompressed / compressed size of one entry. */
  maxCompressionRatio: number;
  /** Entries smaller than this are exempt from the ratio cap: tiny text files compress absurdly well. */
  ratioMinBytes: number;
}

export const DEFAULT_CSAR_LIMITS: Readonly<CsarLimits> = Object.freeze({
  maxEntries: 10_000,
  maxTotalUncompressedBytes: 64 * 1024 ** 3,
  // Deflate tops out near 1032:1, so only deliberately crafted payloads (or all-zero files) pass 1000.
  maxCompressionRatio: 1000,
  ratioMinBytes: 1024 * 1024,
});

/** The algorithms a manifest or a VNFD may name (SOL004: the SHA-2 family). */
export type ManifestAlgorithm = 'sha224' | 'sha256' | 'sha384' | 'sha512';
/** What an entry may be hashed with: the manifest algorithms, and MD5 for an image served with Glance's `checksum`. */
export type HashAlgorithm = ManifestAlgorithm | 'md5';

export interface CsarEntry {
  /** Package-relative path, forward slashes. */
  name: string;
  /** Declared uncompressed size (bytes); enforced while streaming. */
  size: number;
  compressedSize: number;
  /** ZIP compression method: 0 stored, 8 deflated. */
  method: number;
  crc32: number;
  /** Absolute offset of the entry's local header in the archive (what a streamed record is matched by). */
  headerOffset?: number;
  /**
   * Absolute offset of the entry's bytes in the archive file, for stored entries only: the service
   * serves such files (VM images) straight from the CSAR by range instead of copying them.
   */
  dataOffset?: number;
}

/** An archive whose central directory has been read and checked; entry data is read on demand. */
export interface CsarArchive {
  /** The file it was opened from; empty when opened from a CsarSource. */
  readonly path: string;
  readonly source: CsarSource;
  /** Safe regular-file entries, in archive order. Unsafe entries appear only in `findings`. */
  readonly entries: readonly CsarEntry[];
  /** Directory entries (names end with '/'). */
  readonly directories: readonly string[];
  readonly findings: Finding[];
  /** True when the index could not be completed (corrupt archive, too many entries): trust nothing. */
  readonly fatal: boolean;
  getEntry(name: string): CsarEntry | undefined;
  /**
   * Decompressed bytes of a file entry. The stream fails with a CsarError (rule CSAR-ZIP-BOMB,
   * CSAR-ZIP-CRC or CSAR-ZIP-CORRUPT) when the data disagrees with the central directory.
   */
  openEntry(name: string): Promise<Readable>;
  /** Whole entry as a Buffer, refused (CSAR-FILE-TOO-LARGE) above `maxBytes`; for YAML, meta, manifest. */
  readEntry(name: string, maxBytes: number): Promise<Buffer>;
  /** Like openEntry, but the returned digests are filled in once the stream has ended without error. */
  openDigestingEntry(name: string, algorithms: Iterable<HashAlgorithm>): Promise<{ stream: Readable; digests: Partial<Record<HashAlgorithm, string>> }>;
  close(): Promise<void>;
}

const READ_CHUNK = 1024 * 1024;

/**
 * Positional reads of the archive bytes. A plain file, or the spans of several files in order (a
 * composite package: skeleton ranges and entry objects of the content store), read in place.
 */
export interface CsarSource {
  readonly size: number;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

/** Bytes [start, end] (inclusive) of a local file. */
export interface CsarSpan {
  path: string;
  start: number;
  end: number;
}

/** The concatenation of file spans as one archive (see CsarSource). */
export async function spanSource(spans: readonly CsarSpan[]): Promise<CsarSource> {
  const handles = new Map<string, fs.promises.FileHandle>();
  const table: { fh: fs.promises.FileHandle; at: number; start: number; length: number }[] = [];
  let at = 0;
  try {
    for (const s of spans) {
      let fh = handles.get(s.path);
      if (!fh) handles.set(s.path, (fh = await fs.promises.open(s.path, 'r')));
      table.push({ fh, at, start: s.start, length: s.end - s.start + 1 });
      at += s.end - s.start + 1;
    }
  } catch (err) {
    for (const fh of handles.values()) await fh.close();
    throw err;
  }
  return {
    size: at,
    async read(buffer, offset, length, position) {
      let done = 0;
      for (const t of table) {
        if (done >= length) break;
        const pos = position + done;
        if (pos >= t.at + t.length || pos < t.at) continue;
        const n = Math.min(length - done, t.at + t.length - pos);
        const { bytesRead } = await t.fh.read(buffer, offset + done, n, t.start + (pos - t.at));
        done += bytesRead;
        if (bytesRead < n) break;
      }
      return done;
    },
    async close() {
      for (const fh of handles.values()) await fh.close();
    },
  };
}

async function fileSource(path: string): Promise<CsarSource> {
  const fh = await fs.promises.open(path, 'r');
  const size = (await fh.stat()).size;
  return {
    size,
    read: async (buffer, offset, length, position) => (await fh.read(buffer, offset, length, position)).bytesRead,
    close: () => fh.close(),
  };
}

/**
 * yauzl's default fd reader issues small reads; 1 MiB positional reads make streaming a multi-GiB
 * image about 13x faster (ecosystem.md §1). `base` lets the same code read a CSAR that is itself a
 * stored entry of an outer (security option 2) ZIP, without copying it out.
 */
class SourceReader extends yauzl.RandomAccessReader {
  constructor(
    private readonly source: CsarSource,
    private readonly base: number,
  ) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return new RangeStream(this.source, this.base + start, this.base + end);
  }

  // yauzl reads headers through this; a direct pread avoids building a stream for 46 bytes.
  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null, bytesRead?: number) => void): void {
    this.source.read(buffer, offset, length, this.base + position).then((n) => callback(null, n), (err) => callback(err));
  }
}

/**
 * Positional 1 MiB reads of [pos, end). fs.createReadStream is not used because destroying it
 * (yauzl does, on every aborted entry) closes the shared descriptor. A short read ends the stream;
 * yauzl's byte counter then reports the truncation.
 */
class RangeStream extends Readable {
  constructor(
    private readonly source: CsarSource,
    private pos: number,
    private readonly end: number,
  ) {
    super({ highWaterMark: READ_CHUNK });
  }

  override _read(): void {
    const n = Math.min(READ_CHUNK, this.end - this.pos);
    if (n <= 0) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafe(n);
    this.source.read(buf, 0, n, this.pos).then(
      (bytesRead) => {
        if (bytesRead === 0) return this.push(null);
        this.pos += bytesRead;
        this.push(bytesRead < n ? buf.subarray(0, bytesRead) : buf);
      },
      (err) => this.destroy(err),
    );
  }
}

/** Absolute file paths and `..` escape the extraction root; backslashes do on Windows consumers. */
function nameProblem(name: string): { rule: string; message: string } | undefined {
  if (name.length === 0) return { rule: 'CSAR-ZIP-BAD-NAME', message: 'empty entry name' };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return { rule: 'CSAR-ZIP-BAD-NAME', message: `entry name contains NUL or control characters: ${JSON.stringify(name)}` };
  if (name.includes('\\')) return { rule: 'CSAR-ZIP-SLIP', message: `entry name contains a backslash: ${JSON.stringify(name)}` };
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) return { rule: 'CSAR-ZIP-SLIP', message: `absolute entry name: ${JSON.stringify(name)}` };
  const segments = name.replace(/\/$/, '').split('/');
  if (segments.includes('..')) return { rule: 'CSAR-ZIP-SLIP', message: `entry name escapes the package root: ${JSON.stringify(name)}` };
  if (segments.some((s) => s === '' || s === '.')) return { rule: 'CSAR-ZIP-BAD-NAME', message: `entry name has empty or '.' segments: ${JSON.stringify(name)}` };
  return undefined;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

function decodeName(entry: yauzl.Entry): string {
  // decodeStrings is off so that yauzl does not abort the whole listing on the first bad name;
  // the raw name is decoded here exactly as yauzl would, but keeping backslashes visible.
  const raw = entry.fileName as unknown as Buffer;
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, raw, entry.extraFields, true);
}

function foldCase(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

function indexError(err: unknown): Finding {
  const message = err instanceof Error ? err.message : String(err);
  const rule = /encrypt/i.test(message) ? 'CSAR-ZIP-ENCRYPTED' : 'CSAR-ZIP-CORRUPT';
  return finding(rule, 'error', `cannot read the ZIP central directory: ${message}`);
}

export interface OpenCsarOptions {
  /** Byte range of the CSAR inside `path` (an inner CSAR stored in a security option 2 outer ZIP). */
  slice?: { start: number; length: number };
}

/**
 * Reads and checks the central directory only. Never throws for hostile or broken archives: every
 * problem becomes a finding, and entries that are unsafe to extract are left out of `entries`.
 */
export async function openCsar(from: string | CsarSource, limits: Partial<CsarLimits> = {}, options: OpenCsarOptions = {}): Promise<CsarArchive> {
  const lim: CsarLimits = { ...DEFAULT_CSAR_LIMITS, ...limits };
  const source = typeof from === 'string' ? await fileSource(from) : from;
  const path = typeof from === 'string' ? from : '';
  const base = options.slice?.start ?? 0;
  const size = options.slice?.length ?? source.size;
  const reader = new SourceReader(source, base);
  const findings: Finding[] = [];
  const entries: CsarEntry[] = [];
  const directories: string[] = [];
  const raw = new Map<string, yauzl.Entry>();
  let zip: yauzl.ZipFile | undefined;
  let fatal = false;

  try {
    zip = await yauzl.fromRandomAccessReaderPromise(reader, size, {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: false,
      validateEntrySizes: true,
    });
  } catch (err) {
    findings.push(indexError(err));
    fatal = true;
  }

  if (zip && zip.entryCount > lim.maxEntries) {
    findings.push(finding('CSAR-ZIP-TOO-MANY-ENTRIES', 'error', `the archive declares ${zip.entryCount} entries; the limit is ${lim.maxEntries}`));
    fatal = true;
  } else if (zip) {
    try {
      await indexEntries(zip);
    } catch (err) {
      findings.push(indexError(err));
      fatal = true;
    }
  }

  async function indexEntries(z: yauzl.ZipFile): Promise<void> {
    const seen = new Set<string>();
    const folded = new Map<string, string>();
    let total = 0;
    for await (const e of z.eachEntry()) {
      const name = decodeName(e);
      const problem = nameProblem(name);
      if (problem) {
        findings.push(finding(problem.rule, 'error', problem.message));
        continue;
      }
      if (seen.has(name)) {
        findings.push(finding('CSAR-ZIP-DUPLICATE', 'error', `entry ${JSON.stringify(name)} occurs more than once`, { file: name }));
        continue;
      }
      seen.add(name);
      const key = foldCase(name.replace(/\/$/, ''));
      const earlier = folded.get(key);
      if (earlier !== undefined) {
        findings.push(finding('CSAR-ZIP-CASE-COLLISION', 'error', `entries ${JSON.stringify(earlier)} and ${JSON.stringify(name)} differ only in letter case and would overwrite each other on case-insensitive file systems`, { file: name }));
        continue;
      }
      folded.set(key, name);

      const mode = e.externalFileAttributes >>> 16;
      const type = mode & S_IFMT;
      const isDir = name.endsWith('/') || type === S_IFDIR;
      if (type === S_IFLNK) {
        findings.push(finding('CSAR-ZIP-SYMLINK', 'error', `entry ${JSON.stringify(name)} is a symbolic link`, { file: name }));
        continue;
      }
      if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) {
        findings.push(finding('CSAR-ZIP-SPECIAL-FILE', 'error', `entry ${JSON.stringify(name)} is not a regular file (mode ${mode.toString(8)})`, { file: name }));
        continue;
      }
      if (isDir) {
        directories.push(name.endsWith('/') ? name : `${name}/`);
        continue;
      }
      if (e.generalPurposeBitFlag & 0x1) {
        findings.push(finding('CSAR-ZIP-ENCRYPTED', 'error', `entry ${JSON.stringify(name)} is encrypted`, { file: name }));
        continue;
      }
      if (e.compressionMethod !== 0 && e.compressionMethod !== 8) {
        findings.push(finding('CSAR-ZIP-UNSUPPORTED-METHOD', 'error', `entry ${JSON.stringify(name)} uses compression method ${e.compressionMethod}; only stored (0) and deflate (8) are supported`, { file: name }));
        continue;
      }
      if (e.uncompressedSize >= lim.ratioMinBytes && e.uncompressedSize / Math.max(e.compressedSize, 1) > lim.maxCompressionRatio) {
        findings.push(finding('CSAR-ZIP-BOMB', 'error', `entry ${JSON.stringify(name)} declares ${e.uncompressedSize} bytes from ${e.compressedSize} compressed (ratio above ${lim.maxCompressionRatio})`, { file: name }));
        continue;
      }
      total += e.uncompressedSize;
      const entry: CsarEntry = { name, size: e.uncompressedSize, compressedSize: e.compressedSize, method: e.compressionMethod, crc32: e.crc32, headerOffset: base + e.relativeOffsetOfLocalHeader };
      if (e.compressionMethod === 0) {
        const local = await z.readLocalFileHeaderPromise(e, { minimal: false });
        const localName = yauzl.getFileNameLowLevel(local.generalPurposeBitFlag, local.fileName, yauzl.parseExtraFields(local.extraField), true);
        if (localName !== name) {
          // Extractors that trust local headers would write a different file than the one we checked.
          findings.push(finding('CSAR-ZIP-HEADER-MISMATCH', 'error', `local header names ${JSON.stringify(localName)} but the central directory names ${JSON.stringify(name)}`, { file: name }));
          continue;
        }
        entry.dataOffset = base + local.fileDataStart;
      }
      entries.push(entry);
      raw.set(name, e);
    }
    // "Files" as a file and "Files/x" cannot both be extracted; which one wins depends on the tool.
    const files = new Set(entries.map((e) => e.name));
    for (const e of [...entries]) {
      const parts = e.name.split('/');
      for (let i = 1; i < parts.length; i++) {
        const parent = parts.slice(0, i).join('/');
        if (!files.has(parent)) continue;
        findings.push(finding('CSAR-ZIP-DUPLICATE', 'error', `${JSON.stringify(parent)} is both a file and the directory of ${JSON.stringify(e.name)}`, { file: e.name }));
        entries.splice(entries.indexOf(e), 1);
        raw.delete(e.name);
        break;
      }
    }
    if (total > lim.maxTotalUncompressedBytes) {
      findings.push(finding('CSAR-ZIP-TOO-LARGE', 'error', `the entries declare ${total} uncompressed bytes in total; the limit is ${lim.maxTotalUncompressedBytes}`));
    }
  }

  const byName = new Map(entries.map((e) => [e.name, e]));

  async function openDigestingEntry(name: string, algorithms: Iterable<HashAlgorithm>) {
    const e = raw.get(name);
    const meta = byName.get(name);
    if (!zip || !e || !meta) throw new CsarError('CSAR-FILE-MISSING', `no such file in the package: ${name}`, name);
    let source: Readable;
    try {
      source = await zip.openReadStreamPromise(e);
    } catch (err) {
      throw toCsarError(err, name);
    }
    const verifier = new VerifyingStream(meta, algorithms);
    source.on('error', (err) => verifier.destroy(toCsarError(err, name)));
    // A consumer that aborts must not leave yauzl reading and inflating in the background.
    verifier.on('close', () => {
      if (!source.readableEnded) source.destroy();
    });
    source.pipe(verifier);
    return { stream: verifier as Readable, digests: verifier.digests };
  }

  return {
    path,
    source,
    entries,
    directories,
    findings,
    fatal,
    getEntry: (name) => byName.get(name),
    openDigestingEntry,
    openEntry: async (name) => (await openDigestingEntry(name, [])).stream,
    async readEntry(name, maxBytes) {
      const meta = byName.get(name);
      if (meta && meta.size > maxBytes) throw new CsarError('CSAR-FILE-TOO-LARGE', `${name} declares ${meta.size} bytes; at most ${maxBytes} are read`, name);
      const chunks: Buffer[] = [];
      for await (const chunk of (await openDigestingEntry(name, [])).stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    async close() {
      zip?.close();
      // The caller owns a source it passed in (a stored inner CSAR shares its outer's).
      if (typeof from === 'string') await source.close();
    },
  };
}

/**
 * Passes entry bytes through while computing CRC-32 (yauzl does not check it) and the requested
 * digests, so storing, hashing and verifying share one read of the archive.
 */
class VerifyingStream extends Transform {
  readonly digests: Partial<Record<HashAlgorithm, string>> = {};
  private crc = 0;
  private readonly hashes: [HashAlgorithm, crypto.Hash][];

  constructor(
    private readonly entry: CsarEntry,
    algorithms: Iterable<HashAlgorithm>,
  ) {
    super({ highWaterMark: READ_CHUNK });
    this.hashes = [...new Set(algorithms)].map((a) => [a, crypto.createHash(a)]);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.crc = zlib.crc32(chunk, this.crc);
    for (const [, h] of this.hashes) h.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.crc >>> 0 !== this.entry.crc32 >>> 0) {
      cb(new CsarError('CSAR-ZIP-CRC', `${this.entry.name}: CRC-32 ${hex8(this.crc)} does not match the central directory's ${hex8(this.entry.crc32)}`, this.entry.name));
      return;
    }
    for (const [a, h] of this.hashes) this.digests[a] = h.digest('hex');
    cb();
  }
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
