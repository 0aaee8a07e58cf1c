import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import type { Writable } from 'node:stream';

/**
 * A small deterministic ZIP writer for `depot pack`: every field that is not the content is fixed
 * (DOS date 1980-01-01 00:00, mode 0644, no extra fields but zip64 where sizes need it), so the same
 * entries in the same order always give the same bytes. Sizes and CRC-32 are known before an entry
 * is written (the caller hashed it already), so no data descriptors are used: onboarding's stream
 * reader then splits large stored entries (VM images) without a second read. Files are streamed
 * from disk; only small files (deflated) are held in memory.
 */
export interface ZipEntryInput {
  name: string;
  size: number;
  crc32: number;
  /** In-memory content, or a file: up to DEFLATE_MAX_BYTES read when written and deflated, else streamed and stored. */
  data?: Buffer;
  file?: string;
  /** Stored (streamed) whatever its size: e.g. the inner CSAR of a security option 2 package, read in place. */
  stored?: boolean;
}

/** Files up to this size are deflated in memory; larger ones (images) are stored and streamed. */
export const DEFLATE_MAX_BYTES = 1 << 20;

const U32 = 0xffffffff;
const DOS_DATE_1980 = 0x21; // 1980-01-01
const VERSION_MADE_BY = (3 << 8) | 45; // Unix, spec 4.5
const FLAG_UTF8 = 0x800;

async function put(out: Writable, b: Buffer): Promise<void> {
  if (out.write(b)) return;
  await new Promise<void>((resolve, reject) => {
    const ok = () => { out.off('error', ko); resolve(); };
    const ko = (e: Error) => { out.off('drain', ok); reject(e); };
    out.once('drain', ok);
    out.once('error', ko);
  });
}

/** The ZIP64 extended-information extra field holding `values` (sizes, then offset, as needed). */
export function zip64Extra(values: number[]): Buffer {
  if (!values.length) return Buffer.alloc(0);
  const b = Buffer.alloc(4 + 8 * values.length);
  b.writeUInt16LE(0x0001, 0);
  b.writeUInt16LE(8 * values.length, 2);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
  return b;
}

/**
 * The end of an archive whose central directory of `count` entries starts at `cdOffset` and is
 * `cdSize` long (and ends where these records start): the end of central directory record, after
 * the ZIP64 end record and locator when a count, offset or size does not fit its 16/32-bit field.
 */
export function zipEndRecords(count: number, cdOffset: number, cdSize: number): Buffer {
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(count, 0xffff), 8);
  end.writeUInt16LE(Math.min(count, 0xffff), 10);
  end.writeUInt32LE(Math.min(cdSize, U32), 12);
  end.writeUInt32LE(Math.min(cdOffset, U32), 16);
  if (count < 0xffff && cdOffset < U32 && cdSize < U32) return end;
  const r = Buffer.alloc(56);
  r.writeUInt32LE(0x06064b50, 0);
  r.writeBigUInt64LE(44n, 4);
  r.writeUInt16LE(VERSION_MADE_BY, 12);
  r.writeUInt16LE(45, 14);
  r.writeBigUInt64LE(BigInt(count), 24);
  r.writeBigUInt64LE(BigInt(count), 32);
  r.writeBigUInt64LE(BigInt(cdSize), 40);
  r.writeBigUInt64LE(BigInt(cdOffset), 48);
  const l = Buffer.alloc(20);
  l.writeUInt32LE(0x07064b50, 0);
  l.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8);
  l.writeUInt32LE(1, 16);
  return Buffer.concat([r, l, end]);
}

/** Writes the entries, in the given order, as one ZIP archive to `out` (not ended). Returns the archive size. */
export async function writeZip(out: Writable, entries: readonly ZipEntryInput[]): Promise<number> {
  let offset = 0;
  const central: Buffer[] = [];
  const emit = async (b: Buffer) => {
    await put(out, b);
    offset += b.length;
  };
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    let body: Buffer | undefined;
    let method = 0;
    // A small file is read only now, one at a time: a folder of many files is never all in memory.
    const data = e.data ?? (e.file && !e.stored && e.size <= DEFLATE_MAX_BYTES ? fs.readFileSync(e.file) : undefined);
    if (data && e.file && (data.length !== e.size || zlib.crc32(data) >>> 0 !== e.crc32 >>> 0)) throw new Error(`${e.file} changed while it was packed`);
    if (data) {
      body = data;
      if (data.length > 0) {
        const deflated = zlib.deflateRawSync(data, { level: 9 });
        if (deflated.length < data.length) {
          body = deflated;
          method = 8;
        }
      }
    }
    const compressedSize = body ? body.length : e.size;
    const localOffset = offset;
    const big = e.size >= U32 || compressedSize >= U32;
    const version = big || localOffset >= U32 ? 45 : 20;
    const localExtra = big ? zip64Extra([e.size, compressedSize]) : Buffer.alloc(0);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(version, 4);
    h.writeUInt16LE(FLAG_UTF8, 6);
    h.writeUInt16LE(method, 8);
    h.writeUInt16LE(0, 10);
    h.writeUInt16LE(DOS_DATE_1980, 12);
    h.writeUInt32LE(e.crc32 >>> 0, 14);
    h.writeUInt32LE(big ? U32 : compressedSize, 18);
    h.writeUInt32LE(big ? U32 : e.size, 22);
    h.writeUInt16LE(name.length, 26);
    h.writeUInt16LE(localExtra.length, 28);
    await emit(Buffer.concat([h, name, localExtra]));
    if (body) await emit(body);
    else if (e.file) {
      let n = 0;
      for await (const chunk of fs.createReadStream(e.file, { highWaterMark: 1 << 20 })) {
        n += (chunk as Buffer).length;
        await emit(chunk as Buffer);
      }
      if (n !== e.size) throw new Error(`${e.file} changed while it was packed (${n} bytes, ${e.size} hashed)`);
    }
    const z64 = [...(e.size >= U32 ? [e.size] : []), ...(compressedSize >= U32 ? [compressedSize] : []), ...(localOffset >= U32 ? [localOffset] : [])];
    const centralExtra = zip64Extra(z64);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(VERSION_MADE_BY, 4);
    c.writeUInt16LE(version, 6);
    c.writeUInt16LE(FLAG_UTF8, 8);
    c.writeUInt16LE(method, 10);
    c.writeUInt16LE(0, 12);
    c.writeUInt16LE(DOS_DATE_1980, 14);
    c.writeUInt32LE(e.crc32 >>> 0, 16);
    c.writeUInt32LE(compressedSize >= U32 ? U32 : compressedSize, 20);
    c.writeUInt32LE(e.size >= U32 ? U32 : e.size, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(centralExtra.length, 30);
    c.writeUInt32LE(((0o100644 << 16) >>> 0), 38);
    c.writeUInt32LE(localOffset >= U32 ? U32 : localOffset, 42);
    central.push(Buffer.concat([c, name, centralExtra]));
  }
  const cdOffset = offset;
  for (const c of central) await emit(c);
  const cdSize = offset - cdOffset;
  await emit(zipEndRecords(entries.length, cdOffset, cdSize));
  return offset;
}
