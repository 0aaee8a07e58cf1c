import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import type { Writable } from 'node:stream';
import type { Finding } from '../common/findings';
import { finding } from './finding';
import { DEFAULT_CSAR_LIMITS, type CsarLimits, type HashAlgorithm } from './zip';

/**
 * A ZIP read from its byte stream, front to back, as an upload arrives: no seeking, no second read.
 * Local headers are parsed as they stream by and every byte of the archive goes to exactly one place:
 *
 * - a large STORED entry whose size the local header (or its zip64 extra) declares goes to a sink of
 *   its own (the pipeline makes it a content-addressed object) and nowhere else;
 * - everything else (headers, deflated and small entries, data descriptors, the central directory)
 *   goes to the skeleton sink, so skeleton + split entries, in order, are the archive byte for byte.
 *
 * Each file entry's uncompressed bytes are hashed once per requested algorithm (SHA-256 always) and
 * CRC-32'd; entries that are not split are also handed over decompressed (`file` sink), with the
 * bomb limits enforced while inflating. The central directory is buffered (bounded) and, at the end,
 * cross-checked against what streamed by (`crossCheckStream`).
 *
 * What cannot be split on the fly, and what happens then ("loses sync": every later byte goes to the
 * skeleton, nothing later is indexed, the pipeline reads those entries from the stored package):
 * - a STORED entry with a data descriptor (bit 3): its end is not known until its descriptor, which
 *   cannot be told apart from data without the central directory;
 * - an entry using another method than stored/deflate together with a data descriptor;
 * - bytes that are not a local header, central directory or end record where one must start
 *   (a prefixed stub, a lying compressed size, a truncated upload);
 * - a deflated entry that breaks a bomb limit or does not inflate, when only a data descriptor
 *   says where it ends.
 * Deflated entries with a data descriptor (Java's ZipOutputStream) are split fine: the inflater
 * says where the deflate stream ends.
 */

const LOCAL_SIG = 0x04034b50;
const CENTRAL_SIG = 0x02014b50;
const DESCRIPTOR_SIG = 0x08074b50;
const EOCD_SIG = 0x06054b50;
const EOCD64_SIG = 0x06064b50;
const EOCD64_LOCATOR_SIG = 0x07064b50;
const ARCHIVE_EXTRA_SIG = 0x08064b50;

export interface StreamedEntry {
  /** Name from the local header (UTF-8 or CP437 decoded as yauzl does, backslashes kept). */
  name: string;
  /** Offset of the local header in the archive. */
  localOffset: number;
  /** Offset of the first data byte. */
  dataOffset: number;
  method: number;
  flags: number;
  /** What the local header says (zero for sizes/CRC deferred to a data descriptor). */
  declared: { crc32: number; compressedSize: number; size: number };
  /** What the data descriptor says, when the entry has one and it was read. */
  descriptor?: { crc32: number; compressedSize: number; size: number };
  /** What actually streamed by (compressed bytes consumed; inflated bytes and their CRC-32). */
  compressedSize: number;
  size?: number;
  crc32?: number;
  /**
   * Uncompressed digests, hex; only when the entry streamed completely and inflated cleanly, or (with
   * `problem` set) of the bytes of a split entry that the archive cut short.
   */
  digests?: Partial<Record<HashAlgorithm, string>>;
  /** Its bytes went to a sink of their own, not to the skeleton. */
  split: boolean;
  /** Why the entry's content is not trustworthy (bomb, corrupt deflate data, truncated). */
  problem?: string;
}

export interface StreamSplit {
  entries: StreamedEntry[];
  /** Bytes that streamed, in total. */
  size: number;
  /** False once the reader could not tell where the next record starts (see the header comment). */
  inSync: boolean;
  lostSync?: { offset: number; reason: string };
  /** The central directory and end records as they streamed by (undefined if never reached or too large). */
  centralDirectory?: { offset: number; bytes: Buffer };
  /** CRC-32 of all `size` bytes that streamed (with `SplitOptions.crc32` only). */
  crc32?: number;
}

export interface SplitSinks {
  /** Receives every byte that is not in a split entry, in order. */
  skeleton: Writable;
  /** A sink for a split entry's bytes (the caller stores them as one object); ended by the reader. */
  split(entry: StreamedEntry): Writable | Promise<Writable>;
  /**
   * A sink for the decompressed bytes of a file entry that is not split, or undefined to skip it.
   * Ended by the reader after the last byte; destroyed with an error when the entry turns out bad.
   */
  file?(entry: StreamedEntry): Writable | undefined | Promise<Writable | undefined>;
}

export interface SplitOptions {
  /** Stored entries at least this large are split out; default 1 MiB. */
  splitMinBytes?: number;
  limits?: Partial<CsarLimits>;
  /** Digests to compute for an entry besides SHA-256 (e.g. what a manifest read earlier asks for). */
  algorithms?(name: string): Iterable<HashAlgorithm>;
  /**
   * True when the caller computes this split entry's SHA-256 and CRC-32 itself (e.g. the SHA-256 off
   * the main thread, the CRC-32 from a nested reader's `crc32`): its `digests` lack `sha256` and its
   * `crc32` is unset until the caller adds them, at the latest when its sink ends.
   */
  hashedBySink?(entry: StreamedEntry): boolean;
  /**
   * Compute `StreamSplit.crc32`, the CRC-32 of the whole stream: skeleton bytes are CRC'd as they
   * pass, a split entry's CRC-32 (computed anyway) is folded in with crc32Combine, so a stream whose
   * bytes are mostly split entries costs little more.
   */
  crc32?: boolean;
  /**
   * Called with every chunk of the whole archive, in order (the whole-package digest), saying
   * whether it goes to the skeleton; awaited (backpressure).
   */
  onBytes?(chunk: Buffer, skeleton: boolean): void | Promise<void>;
  /** Central directory bytes buffered at most; default 32 MiB. */
  maxCentralDirectoryBytes?: number;
}

/** Pull-style view of an async byte source, with push-back. */
class ByteQueue {
  private chunks: Buffer[] = [];
  private length = 0;
  private ended = false;
  /** Archive offset of the first buffered byte. */
  offset = 0;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  get buffered(): number {
    return this.length;
  }

  /** Buffers at least n bytes; false if the source ends first. */
  async fill(n: number): Promise<boolean> {
    while (this.length < n) {
      if (this.ended) return false;
      const r = await this.source.next();
      if (r.done) {
        this.ended = true;
        return this.length >= n;
      }
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      if (b.length) {
        this.chunks.push(b);
        this.length += b.length;
      }
    }
    return true;
  }

  /** The next n buffered bytes, without consuming them (n ≤ buffered). */
  peek(n: number): Buffer {
    if (this.chunks[0]?.length >= n) return this.chunks[0].subarray(0, n);
    return Buffer.concat(this.chunks, this.length).subarray(0, n);
  }

  /** Consumes up to n buffered bytes from the front, as the chunks they are (no copy). */
  take(n: number): Buffer[] {
    const out: Buffer[] = [];
    while (n > 0 && this.chunks.length) {
      const c = this.chunks[0];
      if (c.length <= n) {
        out.push(c);
        this.chunks.shift();
        n -= c.length;
        this.length -= c.length;
        this.offset += c.length;
      } else {
        out.push(c.subarray(0, n));
        this.chunks[0] = c.subarray(n);
        this.length -= n;
        this.offset += n;
        n = 0;
      }
    }
    return out;
  }

  /** Returns bytes taken last to the front (the inflater did not consume them). */
  unshift(b: Buffer): void {
    if (!b.length) return;
    this.chunks.unshift(b);
    this.length += b.length;
    this.offset -= b.length;
  }

  /** Makes sure something is buffered; false at the end of the source. */
  async more(): Promise<boolean> {
    return this.length > 0 || this.fill(1);
  }
}

async function write(sink: Writable, chunk: Buffer): Promise<void> {
  if (sink.destroyed) throw sink.errored ?? new Error('sink closed');
  if (sink.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      sink.off('drain', ok);
      sink.off('error', done);
      sink.off('close', closed);
      if (err) reject(err);
      else resolve();
    };
    const ok = () => done();
    const closed = () => done(sink.errored ?? new Error('sink closed'));
    sink.once('drain', ok);
    sink.once('error', done);
    sink.once('close', closed);
  });
}

export async function endSink(sink: Writable): Promise<void> {
  if (sink.writableFinished) return;
  await new Promise<void>((resolve, reject) => {
    sink.once('error', reject);
    sink.end(() => resolve());
  });
}

/** Decodes a local-header name like yauzl: UTF-8 when flagged (or by the unicode path extra), else CP437. */
function decodeName(flags: number, raw: Buffer, extra: Buffer): string {
  const up = extraField(extra, 0x7075);
  if (up && up.length >= 5 && up.readUInt32LE(1) === (zlib.crc32(raw) >>> 0)) return up.subarray(5).toString('utf8');
  if (flags & 0x800) return raw.toString('utf8');
  return decodeCp437(raw);
}

const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

function decodeCp437(raw: Buffer): string {
  let s = '';
  for (const b of raw) s += b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80];
  return s;
}

function extraField(extra: Buffer, id: number): Buffer | undefined {
  for (let i = 0; i + 4 <= extra.length; ) {
    const tag = extra.readUInt16LE(i);
    const len = extra.readUInt16LE(i + 2);
    if (tag === id) return extra.subarray(i + 4, Math.min(extra.length, i + 4 + len));
    i += 4 + len;
  }
  return undefined;
}

/** Reads the zip64 extra's 8-byte values in spec order for the fields that are 0xFFFFFFFF. */
function zip64Values(extra: Buffer, wanted: boolean[]): (number | undefined)[] {
  const z = extraField(extra, 0x0001);
  const out: (number | undefined)[] = [];
  let p = 0;
  for (const w of wanted) {
    if (!w) {
      out.push(undefined);
      continue;
    }
    out.push(z && p + 8 <= z.length ? Number(z.readBigUInt64LE(p)) : undefined);
    p += 8;
  }
  return out;
}

/** Hashes and CRCs an entry's uncompressed bytes; counts them. */
class EntryHasher {
  private readonly hashes: [HashAlgorithm, crypto.Hash][];
  crc = 0;
  size = 0;

  constructor(algorithms: Iterable<HashAlgorithm>, sha256 = true, private readonly crc32 = true) {
    this.hashes = [...new Set<HashAlgorithm>([...(sha256 ? ['sha256' as const] : []), ...algorithms])].map((a) => [a, crypto.createHash(a)]);
  }

  update(b: Buffer): void {
    this.size += b.length;
    if (this.crc32) this.crc = zlib.crc32(b, this.crc);
    for (const [, h] of this.hashes) h.update(b);
  }

  digests(): Partial<Record<HashAlgorithm, string>> {
    const out: Partial<Record<HashAlgorithm, string>> = {};
    for (const [a, h] of this.hashes) out[a] = h.digest('hex');
    return out;
  }
}

class LostSync extends Error {}

/**
 * Reads the archive from `source` to its end, routing the bytes to `sinks` (see the file comment).
 * Never throws for a malformed archive (that is `inSync: false` or an entry's `problem`); rejects
 * only when a sink fails. The skeleton sink is ended by the caller, split and file sinks by the reader.
 */
export async function splitZipStream(source: AsyncIterable<Buffer>, sinks: SplitSinks, opts: SplitOptions = {}): Promise<StreamSplit> {
  const lim: CsarLimits = { ...DEFAULT_CSAR_LIMITS, ...opts.limits };
  const splitMin = opts.splitMinBytes ?? 1 << 20;
  const maxCd = opts.maxCentralDirectoryBytes ?? 32 << 20;
  const q = new ByteQueue(source[Symbol.asyncIterator]());
  const result: StreamSplit = { entries: [], size: 0, inSync: true, ...(opts.crc32 && { crc32: 0 }) };
  let inflatedTotal = 0;

  const toSkeleton = async (parts: Buffer[]) => {
    for (const b of parts) {
      await opts.onBytes?.(b, true);
      result.size += b.length;
      if (result.crc32 !== undefined) result.crc32 = zlib.crc32(b, result.crc32);
      await write(sinks.skeleton, b);
    }
  };
  const lose = (reason: string) => {
    if (result.inSync) {
      result.inSync = false;
      result.lostSync = { offset: q.offset, reason };
    }
    throw new LostSync(reason);
  };

  try {
    for (;;) {
      if (!(await q.fill(4))) {
        if (q.buffered) lose('the archive ends inside a record signature');
        break;
      }
      const sig = q.peek(4).readUInt32LE(0);
      if (sig === CENTRAL_SIG || sig === EOCD_SIG || sig === EOCD64_SIG || sig === ARCHIVE_EXTRA_SIG) {
        // The tail: central directory and end records. Buffered (bounded) for the cross-check.
        const offset = q.offset;
        const kept: Buffer[] = [];
        let keptBytes = 0;
        while (await q.more()) {
          const parts = q.take(q.buffered);
          for (const b of parts) {
            keptBytes += b.length;
            if (keptBytes <= maxCd) kept.push(Buffer.from(b));
          }
          await toSkeleton(parts);
        }
        if (keptBytes <= maxCd) result.centralDirectory = { offset, bytes: Buffer.concat(kept) };
        break;
      }
      if (sig !== LOCAL_SIG) lose(`no local header at offset ${q.offset}`);
      if (result.entries.length >= lim.maxEntries) lose(`more than ${lim.maxEntries} local headers`);
      await readEntry();
    }
  } catch (err) {
    if (!(err instanceof LostSync)) throw err;
    while (await q.more()) await toSkeleton(q.take(q.buffered));
  }
  return result;

  async function readEntry(): Promise<void> {
    const localOffset = q.offset;
    if (!(await q.fill(30))) lose('the archive ends inside a local header');
    const h = q.peek(30);
    const flags = h.readUInt16LE(6);
    const method = h.readUInt16LE(8);
    const crc32 = h.readUInt32LE(14);
    let compressedSize = h.readUInt32LE(18);
    let size = h.readUInt32LE(22);
    const nameLength = h.readUInt16LE(26);
    const extraLength = h.readUInt16LE(28);
    if (!(await q.fill(30 + nameLength + extraLength))) lose('the archive ends inside a local header');
    const header = Buffer.from(q.peek(30 + nameLength + extraLength));
    const rawName = header.subarray(30, 30 + nameLength);
    const extra = header.subarray(30 + nameLength);
    const [zs, zc] = zip64Values(extra, [size === 0xffffffff, compressedSize === 0xffffffff]);
    const zip64 = zs !== undefined || zc !== undefined || extraField(extra, 0x0001) !== undefined;
    if (zs !== undefined) size = zs;
    if (zc !== undefined) compressedSize = zc;
    await toSkeleton(q.take(header.length));
    const descriptorFollows = (flags & 0x8) !== 0;
    const entry: StreamedEntry = {
      name: decodeName(flags, rawName, extra),
      localOffset,
      dataOffset: q.offset,
      method,
      flags,
      declared: { crc32, compressedSize, size },
      compressedSize: 0,
      split: false,
    };
    result.entries.push(entry);
    const isDir = entry.name.endsWith('/');
    const algorithms = opts.algorithms?.(entry.name) ?? [];

    if (method === 0 && !descriptorFollows) {
      const split = !isDir && compressedSize >= splitMin && !(flags & 0x1);
      entry.split = split;
      const bySink = split && !!opts.hashedBySink?.(entry);
      // The whole-stream CRC-32 folds in the entry's own.
      const hasher = new EntryHasher(algorithms, !bySink, !bySink || !!opts.crc32);
      const sink = split ? await sinks.split(entry) : isDir || flags & 0x1 ? undefined : await sinks.file?.(entry);
      let left = compressedSize;
      try {
        while (left > 0) {
          if (!(await q.more())) break;
          for (const b of q.take(Math.min(left, q.buffered))) {
            left -= b.length;
            entry.compressedSize += b.length;
            hasher.update(b);
            if (split) {
              await opts.onBytes?.(b, false);
              result.size += b.length;
              await write(sink!, b);
            } else {
              await toSkeleton([b]);
              if (sink) await write(sink, b);
            }
          }
        }
      } catch (err) {
        sink?.destroy(err as Error);
        throw err;
      }
      entry.size = hasher.size;
      if (!bySink) entry.crc32 = hasher.crc >>> 0;
      if (split && result.crc32 !== undefined) result.crc32 = crc32Combine(result.crc32, hasher.crc, entry.compressedSize);
      if (left > 0) {
        entry.problem = 'the archive ends inside the entry';
        if (sink) {
          if (split) {
            // The bytes that did stream are part of the package all the same: their digest names
            // the object that keeps them.
            entry.digests = hasher.digests();
            await endSink(sink);
          } else sink.destroy(new Error(entry.problem));
        }
        lose(entry.problem);
      }
      entry.digests = hasher.digests();
      if (sink) await endSink(sink);
      return;
    }

    if (method === 8) {
      await inflateEntry(entry, descriptorFollows, zip64, algorithms, isDir || !!(flags & 0x1));
      return;
    }

    // Other methods (or a stored entry whose size only a descriptor gives): not decoded here.
    if (descriptorFollows) lose(`${method === 0 ? 'a stored' : `a method ${method}`} entry with a data descriptor (${entry.name}): its end is not known while streaming`);
    let left = compressedSize;
    while (left > 0 && (await q.more())) {
      const parts = q.take(Math.min(left, q.buffered));
      for (const b of parts) left -= b.length;
      entry.compressedSize = compressedSize - left;
      await toSkeleton(parts);
    }
    entry.problem = `compression method ${method} is not decoded while streaming`;
    if (left > 0) lose('the archive ends inside an entry');
  }

  /**
   * Inflates a deflated entry chunk by chunk. Node's raw inflater stops consuming input at the end of
   * the deflate stream (its bytesWritten then says how much it took), which is how an entry with a
   * data descriptor is delimited; bytes it did not take are handed back to the queue.
   */
  async function inflateEntry(entry: StreamedEntry, descriptorFollows: boolean, zip64: boolean, algorithms: Iterable<HashAlgorithm>, skip: boolean): Promise<void> {
    const declared = entry.declared;
    const known = !descriptorFollows;
    const hasher = new EntryHasher(algorithms);
    const sink = skip ? undefined : await sinks.file?.(entry);
    const inflater = zlib.createInflateRaw({ chunkSize: 64 << 10 });
    let ended = false;
    let failure: string | undefined;
    const pending: Buffer[] = [];
    inflater.on('data', (b: Buffer) => {
      if (failure) return;
      hasher.update(b);
      inflatedTotal += b.length;
      if (known && hasher.size > declared.size) failure = `inflates to more than the ${declared.size} bytes its header declares`;
      else if (hasher.size >= lim.ratioMinBytes && hasher.size / Math.max(entry.compressedSize, 1) > lim.maxCompressionRatio) failure = `inflates more than ${lim.maxCompressionRatio} times`;
      else if (inflatedTotal > lim.maxTotalUncompressedBytes) failure = `the entries inflate to more than ${lim.maxTotalUncompressedBytes} bytes`;
      else if (sink) pending.push(b);
    });
    inflater.on('end', () => (ended = true));
    inflater.on('error', (err) => (failure ??= `does not inflate: ${err.message}`));
    const feed = (b: Buffer) => new Promise<void>((resolve) => inflater.write(b, () => resolve()));
    const flushPending = async () => {
      while (pending.length) {
        const b = pending.shift()!;
        if (sink && !failure) await write(sink, b);
      }
    };
    let left = known ? declared.compressedSize : Infinity;
    try {
      while (left > 0) {
        if (descriptorFollows && (ended || failure)) break;
        if (!(await q.more())) break;
        const b = q.take(Math.min(left, q.buffered, 256 << 10))[0];
        let took = b.length;
        if (!ended && !failure) {
          const before = inflater.bytesWritten;
          await feed(b);
          if (descriptorFollows) {
            // 'end' follows the early stop on a later tick.
            if (!ended && inflater.bytesWritten - before < b.length) await new Promise((r) => setImmediate(r));
            took = inflater.bytesWritten - before;
            if (took < b.length) {
              q.unshift(b.subarray(took));
              ended = true;
            }
          }
        }
        const used = b.subarray(0, took);
        entry.compressedSize += used.length;
        if (known) left -= used.length;
        await toSkeleton([used]);
        await flushPending();
      }
      if (known && left === 0 && !ended && !failure) {
        await new Promise<void>((resolve) => {
          inflater.once('end', resolve);
          inflater.once('error', () => resolve());
          inflater.end();
        });
        await flushPending();
      }
    } catch (err) {
      sink?.destroy(err as Error);
      inflater.destroy();
      throw err;
    }
    if (!failure && known && left > 0) failure = 'the archive ends inside the entry';
    if (!failure && !ended) failure = descriptorFollows ? 'the archive ends inside the entry' : 'the deflate data ends early';
    inflater.destroy();
    entry.size = hasher.size;
    entry.crc32 = hasher.crc >>> 0;
    if (failure) {
      entry.problem = failure;
      sink?.destroy(new Error(`${entry.name}: ${failure}`));
      if (!known) lose(`${entry.name} ${failure}, and only its data descriptor would say where it ends`);
      if (left > 0) lose('the archive ends inside an entry');
      return;
    }
    entry.digests = hasher.digests();
    if (sink) await endSink(sink);
    if (descriptorFollows) await readDescriptor(entry, zip64);
  }

  /** The data descriptor after an entry: optional signature, CRC-32, sizes (8 bytes each under zip64). */
  async function readDescriptor(entry: StreamedEntry, zip64: boolean): Promise<void> {
    const width = zip64 ? 8 : 4;
    if (!(await q.fill(4))) lose('the archive ends before a data descriptor');
    const signed = q.peek(4).readUInt32LE(0) === DESCRIPTOR_SIG;
    const length = (signed ? 4 : 0) + 4 + 2 * width;
    if (!(await q.fill(length))) lose('the archive ends inside a data descriptor');
    const d = Buffer.from(q.peek(length));
    const p = signed ? 4 : 0;
    const num = (o: number) => (width === 8 ? Number(d.readBigUInt64LE(o)) : d.readUInt32LE(o));
    entry.descriptor = { crc32: d.readUInt32LE(p), compressedSize: num(p + 4), size: num(p + 4 + width) };
    await toSkeleton(q.take(length));
  }
}

/**
 * The CRC-32 of A followed by B, from crc(A), crc(B) and B's length (zlib's crc32_combine): the
 * operator "append n zero bits" applied to crc(A) is a product with x^n mod the CRC polynomial.
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  // x^(8·lengthB) mod P, by squaring: X2N[k] = x^(2^k) mod P.
  let p = 0x80000000;
  for (let n = lengthB, k = 3; n > 0; n = Math.floor(n / 2), k++) if (n % 2) p = multModP(X2N[k & 31], p);
  return (multModP(p, crcA) ^ crcB) >>> 0;
}

const CRC_POLY = 0xedb88320;

/** a·b modulo the CRC-32 polynomial (bit-reflected, as zlib's multmodp). */
function multModP(a: number, b: number): number {
  let p = 0;
  for (let m = 0x80000000; m; m >>>= 1) {
    if (a & m) p ^= b;
    b = b & 1 ? (b >>> 1) ^ CRC_POLY : b >>> 1;
  }
  return p >>> 0;
}

const X2N: number[] = [];
for (let k = 0, p = 0x40000000; k < 32; k++, p = multModP(p, p)) X2N.push(p);

// ── the central directory, and its cross-check against the stream ─────────────────────────────

export interface CentralRecord {
  name: string;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** Parses central directory records from the buffered tail (undefined when it is not well formed). */
export function parseCentralDirectory(cd: Buffer): CentralRecord[] | undefined {
  const out: CentralRecord[] = [];
  let p = 0;
  while (p + 4 <= cd.length && cd.readUInt32LE(p) === CENTRAL_SIG) {
    if (p + 46 > cd.length) return undefined;
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    const crc32 = cd.readUInt32LE(p + 16);
    let compressedSize = cd.readUInt32LE(p + 20);
    let size = cd.readUInt32LE(p + 24);
    const n = cd.readUInt16LE(p + 28);
    const m = cd.readUInt16LE(p + 30);
    const k = cd.readUInt16LE(p + 32);
    let localOffset = cd.readUInt32LE(p + 42);
    if (p + 46 + n + m + k > cd.length) return undefined;
    const raw = cd.subarray(p + 46, p + 46 + n);
    const extra = cd.subarray(p + 46 + n, p + 46 + n + m);
    const [zs, zc, zo] = zip64Values(extra, [size === 0xffffffff, compressedSize === 0xffffffff, localOffset === 0xffffffff]);
    if (zs !== undefined) size = zs;
    if (zc !== undefined) compressedSize = zc;
    if (zo !== undefined) localOffset = zo;
    out.push({ name: decodeName(flags, raw, extra), flags, method, crc32, compressedSize, size, localOffset });
    p += 46 + n + m + k;
  }
  const next = p + 4 <= cd.length ? cd.readUInt32LE(p) : undefined;
  if (next !== EOCD_SIG && next !== EOCD64_SIG && next !== EOCD64_LOCATOR_SIG && next !== 0x05054b50) return undefined;
  return out;
}

/**
 * Findings for what the central directory and the stream disagree on. Only checked while the stream
 * stayed in sync up to the central directory (otherwise the pipeline reads the stored package the
 * random-access way, which reports what it finds). Things the random-access index reports itself
 * (a stored entry's local name, CRC-32 of the data, inflating past the size) are not repeated here.
 */
export function crossCheckStream(split: StreamSplit): Finding[] {
  if (!split.inSync || !split.centralDirectory) return [];
  const records = parseCentralDirectory(split.centralDirectory.bytes);
  if (!records) return [];
  const out: Finding[] = [];
  const byOffset = new Map(split.entries.map((e) => [e.localOffset, e]));
  const referenced = new Set<number>();
  for (const r of records) {
    const e = byOffset.get(r.localOffset);
    if (!e) {
      out.push(finding('CSAR-ZIP-HIDDEN-ENTRY', 'error', `the central directory lists ${JSON.stringify(r.name)} at offset ${r.localOffset}, where no local header streamed by (an entry hidden inside another entry's data)`, { file: r.name }));
      continue;
    }
    referenced.add(r.localOffset);
    const differs: string[] = [];
    // A stored entry's local name is checked by the random-access index (CSAR-ZIP-HEADER-MISMATCH).
    if (e.name !== r.name && r.method !== 0) differs.push(`names ${JSON.stringify(e.name)}`);
    if (e.method !== r.method) differs.push(`method ${e.method} (central directory: ${r.method})`);
    const local = e.descriptor ?? (e.flags & 0x8 ? undefined : e.declared);
    if (local) {
      if (local.compressedSize !== r.compressedSize) differs.push(`compressed size ${local.compressedSize} (central directory: ${r.compressedSize})`);
      if (local.size !== r.size) differs.push(`size ${local.size} (central directory: ${r.size})`);
      if ((local.crc32 >>> 0) !== (r.crc32 >>> 0)) differs.push(`CRC-32 ${hex8(local.crc32)} (central directory: ${hex8(r.crc32)})`);
    }
    if (differs.length) out.push(finding('CSAR-ZIP-HEADER-MISMATCH', 'error', `the local header of ${JSON.stringify(r.name)} disagrees with the central directory: ${differs.join(', ')}`, { file: r.name }));
  }
  for (const e of split.entries) {
    if (referenced.has(e.localOffset)) continue;
    out.push(finding('CSAR-ZIP-HIDDEN-ENTRY', 'error', `a local header for ${JSON.stringify(e.name)} at offset ${e.localOffset} is not in the central directory (extractors that read the stream would see a file that the index hides)`, { file: e.name }));
  }
  return out;
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
