import type { Finding } from '../common/findings';
import type { CsarEntry, HashAlgorithm } from '../csar/zip';
import { crossCheckStream, type StreamedEntry, type StreamSplit } from '../csar/zip-stream';

/** One file entry as it streamed by, and where its bytes are now. */
export interface StreamedFile {
  name: string;
  /** Local header offset: what the central directory must point at for this record to be the file. */
  headerOffset: number;
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  digests: Partial<Record<HashAlgorithm, string>>;
  /** Content object holding the uncompressed bytes (SHA-256 key), when it was stored. */
  key?: string;
  /** The bytes are a segment of the package blob (not also in its skeleton). */
  split: boolean;
}

/** What processing needs from the upload: kept in the onboarding job's payload. */
export interface StreamIndex {
  inSync: boolean;
  lostSync?: { offset: number; reason: string };
  files: StreamedFile[];
  /** Central directory versus stream (hidden entries, lying local headers). */
  findings: Finding[];
  /**
   * A stored root `.csar` entry (the inner CSAR of a security option 2 package) read as a ZIP of its
   * own while it streamed by; its files' header offsets are absolute in the package.
   */
  inner?: { name: string; index: StreamIndex };
}

/**
 * The streamed record of a central directory entry: same name, local header, method, sizes and
 * CRC-32. Anything else (a lying local header, an entry hidden from the stream) is read again
 * from the stored package by the random-access index, which reports what is wrong with it.
 */
export function streamedRecord(files: ReadonlyMap<string, StreamedFile>, entry: CsarEntry): StreamedFile | undefined {
  const f = files.get(entry.name);
  const same = f && f.headerOffset === entry.headerOffset && f.method === entry.method && f.compressedSize === entry.compressedSize && f.size === entry.size && f.crc32 >>> 0 === entry.crc32 >>> 0;
  return same ? f : undefined;
}

/**
 * The index of what streamed by (src/csar/zip-stream.ts): the file entries that streamed whole with
 * their digests, and the stream-versus-central-directory findings. `keyOf` names the content object
 * an entry's bytes were stored in, where they were (the upload; the CLI stores nothing); `base` is the
 * offset of the ZIP's first byte in the package (an inner CSAR's).
 */
export function streamIndex(split: StreamSplit, keyOf: (e: StreamedEntry) => string | undefined = () => undefined, base = 0): StreamIndex {
  // The index travels as JSONB, which cannot hold NUL: such names are unsafe anyway (never reused).
  return {
    inSync: split.inSync,
    ...(split.lostSync && { lostSync: { ...split.lostSync, reason: split.lostSync.reason.replace(/\u0000/g, '\\0') } }),
    findings: crossCheckStream(split).map((f) => (f.file?.includes('\u0000') ? { ...f, file: f.file.replace(/\u0000/g, '\\0') } : f)),
    files: split.entries.filter((e) => !e.name.endsWith('/') && !e.name.includes('\u0000') && e.digests && !e.problem).map((e) => {
      const key = keyOf(e);
      return {
        name: e.name, headerOffset: base + e.localOffset, method: e.method, compressedSize: e.compressedSize, size: e.size!, crc32: e.crc32!,
        digests: e.digests!, split: e.split, ...(key && { key }),
      };
    }),
  };
}
