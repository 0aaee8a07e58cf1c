import { Writable, type Readable } from 'node:stream';
import { hashFeed } from '../common/hash-worker';
import { endSink, splitZipStream, type StreamedEntry, type StreamSplit } from '../csar/zip-stream';
import type { CsarLimits, HashAlgorithm } from '../csar/zip';
import type { Ingest, Staged } from '../artifacts/engine';
import { SizeLimitError, type ContentStore } from '../storage/content-store';
import { streamIndex, type StreamIndex } from './stream-index';

export { streamedRecord, type StreamedFile, type StreamIndex } from './stream-index';

/** Stored entries at least this large become objects of their own while the upload streams. */
export const SPLIT_MIN_BYTES = 1 << 20;

/** A root `.csar` entry: the inner CSAR of a security option 2 package, read as a ZIP while it streams. */
const INNER_CSAR = /^[^/]+\.csar$/i;
/** A root `.cms` entry: an option 2 signature, whose digest algorithm the inner CSAR is hashed with when it comes first. */
const OUTER_CMS = /^[^/]+\.cms$/i;
const MAX_CMS_BYTES = 1 << 20;

/** One ZIP read from the stream (the upload, or the inner CSAR inside it) and where its bytes went. */
interface Level {
  /** Offset of the level's first byte in the package. */
  base: number;
  split: StreamSplit;
  skeleton: Staged;
  /** Split entries in stream order: an object of their own, or an inner CSAR read as a level. */
  parts: { entry: StreamedEntry; staged?: Staged; nested?: Level }[];
  files: Map<StreamedEntry, Staged>;
}

/**
 * A ContentStore.stage replacement for CSAR uploads (engine `ingest`): the archive is split while
 * it streams (src/csar/zip-stream.ts). Large stored entries are staged as objects of their own; all
 * other bytes form the skeleton object; every other file entry is also staged, decompressed, as an
 * object (the package's `content` folder refers to it later). The result is the package blob: a
 * composite [skeleton range, entry object, ...] that serves exactly the uploaded bytes, or one
 * object when nothing was split. Each byte is hashed with SHA-256 for the whole package and once
 * more for its entry (the entry object's key), and written once (small files: also decompressed).
 *
 * A large stored root `.csar` entry (security option 2) is not an object of its own: its bytes are
 * read as a ZIP once more on the way (same split, an inner skeleton, objects for its large entries),
 * so the inner CSAR's images are split and hashed without a second read; the outer entry's SHA-256
 * (for the `.cms` signature) is computed as for any entry, its CRC-32 by the inner level from its
 * skeleton bytes and its entries' CRC-32s (an image is CRC'd once, not once per level). Its segments
 * stand in for the entry's.
 */
export function csarIngest(store: ContentStore, opts: { limits?: Partial<CsarLimits>; splitMinBytes?: number; hashWorker?: boolean; onIndex: (index: StreamIndex) => void }): Ingest {
  return async (body: Readable, stageOpts): Promise<Staged> => {
    // The whole-package SHA-256 (VnfPkgInfo.checksum; see hashFeed for where it runs). Until the
    // first split the skeleton is the package so far: its hash forks from the package hash then
    // (Hash.copy), so the common prefix is hashed once.
    const hashes = hashFeed(opts.hashWorker);
    const whole = hashes.create('sha256');
    let total = 0;
    /** While an inner CSAR streams, its level hashes its bytes into `whole` (in order: see `level`). */
    let nestedActive = false;
    let top: Level | undefined;
    let packageKey = '';
    try {
      top = await level(body, 0, (b, inSkeleton, skeletonHash) => {
        // Counted here, against the reservation: a lying Content-Length cannot overrun it.
        total += b.length;
        if (total > stageOpts.limit) throw new SizeLimitError(stageOpts.limit);
        stageOpts.onProgress?.(total);
        if (nestedActive && !inSkeleton) return;
        return hashes.update(inSkeleton && skeletonHash !== undefined ? [whole, skeletonHash] : [whole], b);
      });
      packageKey = await hashes.digest(whole);
    } catch (err) {
      hashes.close();
      // A level that failed has dropped what it staged; one that ended has not.
      if (top) await abortLevel(top);
      throw err;
    }

    const read = top;
    const segments: { key: string; offset: number; length: number }[] = [];
    if (read.parts.length) segmentsOf(read, segments);
    return {
      key: read.skeleton.key,
      size: total,
      digests: { sha256: packageKey },
      segments: read.parts.length ? segments : undefined,
      commit: async () => {
        // Entry objects first: the package blob that refers to them is published by the caller
        // right after the skeleton's commit (under its content lock). Unreferenced entry objects
        // (small files until processing attaches them) are protected by the collector's grace period.
        await commitLevel(read);
        await read.skeleton.commit();
        opts.onIndex(indexOf(read));
      },
      abort: () => abortLevel(read),
    };

    /**
     * Reads one ZIP from `source`. The top level's skeleton hash forks from the package hash at the
     * first split; an inner CSAR's skeleton has a hash of its own, and its bytes reach the package
     * hash through it (the outer reader waits for the inner one at the entry's end, so in order).
     */
    async function level(source: AsyncIterable<Buffer>, base: number, onBytes: (b: Buffer, inSkeleton: boolean, skeletonHash: number | undefined) => void | Promise<void>, inner = false): Promise<Level> {
      let skeletonHash = inner ? hashes.create('sha256') : undefined;
      let skeletonKey: string | undefined;
      let skeletonSize = 0;
      const skeleton = await direct(store, () => skeletonKey, () => skeletonSize);
      const parts: { entry: StreamedEntry; done: Promise<{ staged?: Staged; nested?: Level }> }[] = [];
      const files = new Map<StreamedEntry, Promise<Staged | undefined>>();
      const abortAll = async () => {
        for (const p of parts) await p.done.then((r) => (r.nested ? abortLevel(r.nested) : r.staged?.abort()), () => undefined);
        for (const p of files.values()) await p.then((s) => s?.abort());
        await skeleton.abort();
      };
      /** An option 2 `.cms` that streamed before the inner CSAR (the inner CSAR is then also hashed with its algorithm). */
      let cms: Buffer | undefined;
      let split: StreamSplit;
      try {
        split = await splitZipStream(source, {
          skeleton: skeleton.stream,
          split: async (entry) => {
            if (!inner) skeletonHash ??= hashes.fork(whole);
            if (nests(entry)) return nest(entry);
            const d = await direct(store, () => entry.digests?.sha256, () => entry.compressedSize);
            const staged = d.done();
            staged.catch(() => undefined);
            parts.push({ entry, done: staged.then((s) => ({ staged: s })) });
            return d.stream;
          },
          file: async (entry) => {
            const d = await direct(store, () => entry.digests?.sha256, () => entry.size ?? 0);
            files.set(entry, d.done().catch(() => undefined));
            return !inner && OUTER_CMS.test(entry.name) ? capture(d.stream, MAX_CMS_BYTES, (b) => (cms = b)) : d.stream;
          },
        }, {
          limits: opts.limits,
          algorithms: (name) => (!inner && cms && INNER_CSAR.test(name) ? cmsAlgorithm(cms, name) : []),
          hashedBySink: nests,
          crc32: inner,
          splitMinBytes: opts.splitMinBytes ?? SPLIT_MIN_BYTES,
          onBytes: (b, inSkeleton) => {
            if (inSkeleton) skeletonSize += b.length;
            return onBytes(b, inSkeleton, skeletonHash);
          },
        });
        skeletonKey = skeletonHash !== undefined ? await hashes.digest(skeletonHash) : await hashes.digest(hashes.fork(whole));
        await endSink(skeleton.stream);
      } catch (err) {
        skeleton.stream.destroy(err as Error);
        await abortAll();
        throw err;
      }
      const l: Level = { base, split, skeleton: undefined as unknown as Staged, parts: [], files: new Map() };
      try {
        l.skeleton = await skeleton.done();
        for (const p of parts) l.parts.push({ entry: p.entry, ...(await p.done) });
      } catch (err) {
        await abortAll();
        throw err;
      }
      for (const [entry, p] of files) {
        const s = await p;
        if (s && entry.digests && !entry.problem) l.files.set(entry, s);
        else await s?.abort();
      }
      return l;

      /** The first large stored root `.csar` of the upload is read as an inner CSAR. */
      function nests(entry: StreamedEntry): boolean {
        return !inner && !nestedActive && !parts.some((p) => INNER_CSAR.test(p.entry.name)) && INNER_CSAR.test(entry.name);
      }

      /**
       * The sink of an inner CSAR: a level of its own, ended only once that level has read it all.
       * The entry's own SHA-256 (the `.cms` digest) runs beside the package hash, off the main
       * thread where the hash worker is on, which has the inner entries' hashes to do.
       */
      function nest(entry: StreamedEntry): Writable {
        // The outer reader waits for the inner one, a chunk or two apart.
        const pass = handOver();
        nestedActive = true;
        const own = hashes.create('sha256');
        const nested = level(pass.source, base + entry.dataOffset, (b, inSkeleton, innerSkeleton) => hashes.update(inSkeleton ? [whole, own, innerSkeleton!] : [whole, own], b), true);
        const sink = new Writable({
          highWaterMark: 64 << 10,
          write(chunk: Buffer, _encoding, done) {
            pass.push(chunk, done);
          },
          final(done) {
            pass.end();
            nested.then(async (n) => {
              // The inner level read every byte the outer reader wrote here (it reads to the end).
              if (n.split.size !== entry.compressedSize || n.split.crc32 === undefined) throw new Error('internal: the inner CSAR level did not read the whole entry');
              // The reader set the entry's other digests before ending its sink.
              entry.digests = { ...entry.digests, sha256: await hashes.digest(own) };
              entry.crc32 = n.split.crc32;
              nestedActive = false;
            }).then(() => done(), done);
          },
          destroy(err, done) {
            pass.fail(err ?? new Error('the inner CSAR stream was closed early'));
            done(err);
          },
        });
        // The reader destroys the sink with its own failure (a client gone mid-upload), which it
        // rejects with; the inner level's failure reaches the caller through `parts`. Nobody else listens.
        sink.on('error', () => undefined);
        nested.catch((err) => sink.destroy(err));
        parts.push({ entry, done: nested.then((n) => ({ nested: n })) });
        return sink;
      }
    }
  };
}

/**
 * Chunks handed from a writer to a reader that pulls them (an inner level's ZIP reader), without a
 * stream in between: a write completes once the reader has taken its chunk, so the writer is at
 * most one chunk ahead. After `fail` the reader throws.
 */
function handOver(): { source: AsyncIterable<Buffer>; push(chunk: Buffer, done: () => void): void; end(): void; fail(err: Error): void } {
  let next: { chunk: Buffer; done: () => void } | undefined;
  let ended = false;
  let failed: Error | undefined;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  return {
    source: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          while (!next && !ended && !failed) await new Promise<void>((resolve) => (wake = resolve));
          if (failed) throw failed;
          if (!next) return;
          const { chunk, done } = next;
          next = undefined;
          done();
          yield chunk;
        }
      },
    },
    push(chunk, done) {
      next = { chunk, done };
      poke();
    },
    end() {
      ended = true;
      poke();
    },
    fail(err) {
      failed ??= err;
      poke();
    },
  };
}

/** A sink that also hands over what was written to it, when that is at most `max` bytes. */
function capture(to: Writable, max: number, got: (bytes: Buffer) => void): Writable {
  const chunks: Buffer[] = [];
  let size = 0;
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
      if (to.write(chunk)) done();
      else to.once('drain', () => done());
    },
    final(done) {
      if (size <= max) got(Buffer.concat(chunks));
      to.end(() => done());
    },
    destroy(err, done) {
      to.destroy(err ?? undefined);
      done(err);
    },
  });
}

/** The digest algorithm a `.cms` names, when the upload does not compute it anyway (SHA-256); none for a CMS that cannot be read. */
function cmsAlgorithm(cms: Buffer, file: string): HashAlgorithm[] {
  // Loaded only for an option 2 package whose signature comes first.
  const { readCmsDigestAlgorithm } = require('../sol004') as typeof import('../sol004');
  const a = readCmsDigestAlgorithm(cms, file).digestAlgorithm;
  return a === 'sha224' || a === 'sha384' || a === 'sha512' ? [a] : [];
}

/** The package as segments: each level's skeleton ranges between its split entries (objects, or an inner level). */
function segmentsOf(l: Level, out: { key: string; offset: number; length: number }[]): void {
  let pos = 0;
  let skelPos = 0;
  for (const p of l.parts) {
    const gap = p.entry.dataOffset - pos;
    if (gap > 0) out.push({ key: l.skeleton.key, offset: skelPos, length: gap });
    skelPos += gap;
    let length: number;
    if (p.nested) {
      segmentsOf(p.nested, out);
      length = p.nested.split.size;
    } else {
      length = p.staged!.size;
      if (length) out.push({ key: p.staged!.key, offset: 0, length });
    }
    pos = p.entry.dataOffset + length;
  }
  const tail = l.split.size - pos;
  if (tail > 0) out.push({ key: l.skeleton.key, offset: skelPos, length: tail });
  if (skelPos + tail !== l.skeleton.size) throw new Error('internal: the skeleton does not add up to the package');
}

/** Every object of a level but the top level's skeleton (the caller publishes the blob under its lock). */
async function commitLevel(l: Level): Promise<void> {
  for (const p of l.parts) {
    if (p.nested) {
      await commitLevel(p.nested);
      await p.nested.skeleton.commit();
    } else await p.staged!.commit();
  }
  for (const s of l.files.values()) await s.commit();
}

async function abortLevel(l: Level): Promise<void> {
  await l.skeleton?.abort();
  for (const p of l.parts) await (p.nested ? abortLevel(p.nested) : p.staged!.abort());
  for (const s of l.files.values()) await s.abort();
}

/** What processing needs of a level, with its inner CSAR's (security option 2) where one was read. */
function indexOf(l: Level): StreamIndex {
  const nested = l.parts.find((p) => p.nested);
  const keyOf = (e: StreamedEntry) => (e.split ? l.parts.find((x) => x.entry === e)?.staged : l.files.get(e))?.key;
  return { ...streamIndex(l.split, keyOf, l.base), ...(nested && { inner: { name: nested.entry.name, index: indexOf(nested.nested!) } }) };
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
