import type { Readable } from 'node:stream';
import { hashFeed } from './hash-worker';
import type { Finding } from '../common/findings';
import { crossCheckStream, endSink, splitZipStream, type StreamedEntry } from '../csar/zip-stream';
import type { CsarEntry, CsarLimits, HashAlgorithm } from '../csar/zip';
import type { Ingest, Staged } from '../artifacts/engine';
import { SizeLimitError, type ContentStore } from '../storage/content-store';

/** Stored entries at least this large become objects of their own while the upload streams. */
export const SPLIT_MIN_BYTES = 1 << 20;

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
 * A ContentStore.stage replacement for CSAR uploads (engine `ingest`): the archive is split while
 * it streams (src/csar/zip-stream.ts). Large stored entries are staged as objects of their own; all
 * other bytes form the skeleton object; every other file entry is also staged, decompressed, as an
 * object (the package's `content` folder refers to it later). Split entries are also hashed with
 * `splitAlgorithms` (VM images served as images: MD5 and SHA-512) on the same pass. The result is the package blob: a
 * composite [skeleton range, entry object, ...] that serves exactly the uploaded bytes, or one
 * object when nothing was split. Each byte is hashed with SHA-256 for the whole package and once
 * more for its entry (the entry object's key), and written once (small files: also decompressed).
 */
export function csarIngest(
  store: ContentStore,
  opts: { limits?: Partial<CsarLimits>; splitMinBytes?: number; hashWorker?: boolean; splitAlgorithms?: readonly HashAlgorithm[]; onIndex: (index: StreamIndex) => void },
): Ingest {
  return async (body: Readable, stageOpts): Promise<Staged> => {
    // The whole-package SHA-256 (VnfPkgInfo.checksum; see hashFeed for where it runs). Until the
    // first split the skeleton is the package so far: its hash forks from the package hash then
    // (Hash.copy), so the common prefix is hashed once.
    const hashes = hashFeed(opts.hashWorker);
    const whole = hashes.create('sha256');
    let skeletonHash: number | undefined;
    let skeletonKey: string | undefined;
    let skeletonSize = 0;
    const skeleton = await direct(store, () => skeletonKey, () => skeletonSize);
    // Split entries' extra digests: with the worker, the first (MD5) runs there beside the package
    // hash and the rest (SHA-512) here beside the entry's SHA-256, which keeps the two threads
    // about even; without it, all of them here.
    const extra = opts.splitAlgorithms ?? [];
    const onFeed = opts.hashWorker ? extra.slice(0, 1) : [];
    const inEntry = extra.slice(onFeed.length);
    const fed: { entry: StreamedEntry; ids: number[] }[] = [];
    const parts: { entry: StreamedEntry; staged: Promise<Staged> }[] = [];
    const files = new Map<StreamedEntry, Promise<Staged | undefined>>();
    let total = 0;
    let split;
    let packageKey = '';
    try {
      split = await splitZipStream(body, {
        skeleton: skeleton.stream,
        split: async (entry) => {
          skeletonHash ??= hashes.fork(whole);
          if (onFeed.length) fed.push({ entry, ids: [whole, ...onFeed.map((a) => hashes.create(a))] });
          const d = await direct(store, () => entry.digests?.sha256, () => entry.compressedSize);
          const staged = d.done();
          staged.catch(() => undefined);
          parts.push({ entry, staged });
          return d.stream;
        },
        file: async (entry) => {
          const d = await direct(store, () => entry.digests?.sha256, () => entry.size ?? 0);
          files.set(entry, d.done().catch(() => undefined));
          return d.stream;
        },
      }, {
        limits: opts.limits,
        splitMinBytes: opts.splitMinBytes ?? SPLIT_MIN_BYTES,
        splitAlgorithms: inEntry,
        onBytes: (b, inSkeleton) => {
          // Counted here, against the reservation: a lying Content-Length cannot overrun it.
          total += b.length;
          if (total > stageOpts.limit) throw new SizeLimitError(stageOpts.limit);
          stageOpts.onProgress?.(total);
          if (inSkeleton) skeletonSize += b.length;
          const ids = inSkeleton ? (skeletonHash !== undefined ? [whole, skeletonHash] : [whole]) : (fed[fed.length - 1]?.ids ?? [whole]);
          return hashes.update(ids, b);
        },
      });
      for (const f of fed) {
        for (const [i, a] of onFeed.entries()) {
          const hex = await hashes.digest(f.ids[i + 1]);
          if (f.entry.digests) f.entry.digests[a] = hex;
        }
      }
      packageKey = await hashes.digest(whole);
      skeletonKey = skeletonHash !== undefined ? await hashes.digest(skeletonHash) : packageKey;
      await endSink(skeleton.stream);
    } catch (err) {
      hashes.close();
      skeleton.stream.destroy(err as Error);
      await abortAll();
      throw err;
    }
    let skel: Staged;
    const staged: { entry: StreamedEntry; s: Staged }[] = [];
    try {
      skel = await skeleton.done();
      for (const p of parts) staged.push({ entry: p.entry, s: await p.staged });
    } catch (err) {
      await abortAll();
      throw err;
    }
    const stagedFiles = new Map<StreamedEntry, Staged>();
    for (const [entry, p] of files) {
      const s = await p;
      if (s && entry.digests && !entry.problem) stagedFiles.set(entry, s);
      else await s?.abort();
    }

    // The package as segments: skeleton ranges between the split entries' objects.
    let segments: { key: string; offset: number; length: number }[] | undefined;
    if (staged.length) {
      segments = [];
      let pos = 0;
      let skelPos = 0;
      for (const { entry, s } of staged) {
        const gap = entry.dataOffset - pos;
        if (gap > 0) segments.push({ key: skel.key, offset: skelPos, length: gap });
        skelPos += gap;
        if (s.size) segments.push({ key: s.key, offset: 0, length: s.size });
        pos = entry.dataOffset + s.size;
      }
      const tail = split.size - pos;
      if (tail > 0) segments.push({ key: skel.key, offset: skelPos, length: tail });
      if (skelPos + tail !== skel.size) throw new Error('internal: the skeleton does not add up to the package');
    }

    // The index travels as JSONB, which cannot hold NUL: such names are unsafe anyway (never reused).
    const index: StreamIndex = {
      inSync: split.inSync,
      ...(split.lostSync && { lostSync: { ...split.lostSync, reason: split.lostSync.reason.replace(/\u0000/g, '\\0') } }),
      findings: crossCheckStream(split).map((f) => (f.file?.includes('\u0000') ? { ...f, file: f.file.replace(/\u0000/g, '\\0') } : f)),
      files: split.entries.filter((e) => !e.name.endsWith('/') && !e.name.includes('\u0000') && e.digests && !e.problem).map((e) => {
        const s = e.split ? staged.find((x) => x.entry === e)?.s : stagedFiles.get(e);
        return {
          name: e.name, headerOffset: e.localOffset, method: e.method, compressedSize: e.compressedSize, size: e.size!, crc32: e.crc32!,
          digests: e.digests!, split: e.split, ...(s && { key: s.key }),
        };
      }),
    };
    return {
      key: skel.key,
      size: total,
      digests: { sha256: packageKey },
      segments,
      commit: async () => {
        // Entry objects first: the package blob that refers to them is published by the caller
        // right after the skeleton's commit (under its content lock). Unreferenced entry objects
        // (small files until processing attaches them) are protected by the collector's grace period.
        for (const { s } of staged) await s.commit();
        for (const s of stagedFiles.values()) await s.commit();
        await skel.commit();
        opts.onIndex(index);
      },
      abort: async () => {
        await skel.abort();
        for (const { s } of staged) await s.abort();
        for (const s of stagedFiles.values()) await s.abort();
      },
    };

    async function abortAll(): Promise<void> {
      for (const p of parts) await p.staged.then((s) => s.abort(), () => undefined);
      for (const p of files.values()) await p.then((s) => s?.abort());
      await skeleton.abort();
    }
  };
}

/**
 * A staged write straight into the driver (no ContentStore.stage layers: the reader already counts
 * and hashes every byte). `done()` waits for the bytes to be written and names the object by the
 * SHA-256 that `keyOf` gives once the stream has ended.
 */
async function direct(store: ContentStore, keyOf: () => string | undefined, sizeOf: () => number) {
  const w = await store.driver.stage();
  const written = new Promise<void>((resolve, reject) => {
    w.stream.once('close', () => (w.stream.errored ? reject(w.stream.errored) : w.stream.writableFinished ? resolve() : reject(new Error('staged write closed early'))));
  });
  written.catch(() => undefined);
  return {
    stream: w.stream,
    abort: () => w.abort(),
    async done(): Promise<Staged> {
      try {
        await written;
      } catch (err) {
        await w.abort();
        throw err;
      }
      const key = keyOf();
      if (!key || !/^[0-9a-f]{64}$/.test(key)) {
        await w.abort();
        throw new Error('internal: a streamed entry has no SHA-256');
      }
      return { key, size: sizeOf(), digests: { sha256: key }, commit: () => w.commit(key), abort: () => w.abort() };
    },
  };
}
