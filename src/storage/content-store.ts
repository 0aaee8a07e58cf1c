import { createHash, Hash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobStore } from './blob-store';
import { hashFeed, type HashFeed, type InlineFeed } from '../common/hash-worker';

export type DigestAlgorithm = 'sha256' | 'md5' | 'sha1' | 'sha384' | 'sha512';

export interface IngestResult {
  /** The object key: the SHA-256 of the bytes, hex. */
  key: string;
  size: number;
  digests: Partial<Record<DigestAlgorithm, string>>;
}

export class SizeLimitError extends Error {
  constructor(readonly limit: number) {
    super(`more than ${limit} bytes`);
  }
}

/**
 * Counts and hashes bytes as they pass, and fails the stream as soon as the limit is crossed, so an
 * oversized or lying upload is cut off without being stored (and without trusting Content-Length).
 * With `offload`, every digest but the SHA-256 (the object's key) runs in the hash worker thread:
 * an Image API upload's MD5 and SHA-512 then take the second core instead of tripling the main
 * thread's work.
 */
export class MeteringStream extends Transform {
  readonly hashes: Map<DigestAlgorithm, Hash>;
  private readonly feed?: HashFeed | InlineFeed;
  private readonly offloaded = new Map<DigestAlgorithm, number>();
  bytes = 0;

  constructor(algorithms: readonly DigestAlgorithm[], private readonly limit = Infinity, private readonly onProgress?: (bytes: number) => void, sha256 = true, offload = false) {
    super({ highWaterMark: 1 << 20 });
    const all = [...new Set<DigestAlgorithm>([...(sha256 ? ['sha256' as const] : []), ...algorithms])];
    const away = offload ? all.filter((a) => a !== 'sha256') : [];
    if (away.length) {
      this.feed = hashFeed(true);
      for (const a of away) this.offloaded.set(a, this.feed.create(a));
    }
    this.hashes = new Map(all.filter((a) => !this.offloaded.has(a)).map((a) => [a, createHash(a)]));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return cb(new SizeLimitError(this.limit));
    for (const h of this.hashes.values()) h.update(chunk);
    this.onProgress?.(this.bytes);
    if (!this.feed) return cb(null, chunk);
    // Resolves once the bytes are copied into the worker's ring: the chunk may move on at once.
    this.feed.update([...this.offloaded.values()], chunk).then(() => cb(null, chunk), (err) => cb(err));
  }

  /** Forgets the worker's hashes of a failed upload (a finished stream keeps them for digests()). */
  abandon(): void {
    this.feed?.close();
  }

  async digests(): Promise<Partial<Record<DigestAlgorithm, string>>> {
    const out: Partial<Record<DigestAlgorithm, string>> = {};
    for (const [a, h] of this.hashes) out[a] = h.digest('hex');
    for (const [a, id] of this.offloaded) out[a] = await this.feed!.digest(id);
    return out;
  }
}

/** Content addressing over any driver: the same bytes are stored once, under their SHA-256. */
export class ContentStore {
  constructor(readonly name: string, readonly driver: BlobStore) {}

  /**
   * Streams `source` to a staging object while hashing and counting. The result is not visible until
   * `commit()`, which the caller runs under the content lock together with the database reference
   * (see ContentLocks), so the garbage collector can never delete bytes that are being referenced.
   */
  async stage(
    source: Readable,
    opts: {
      limit?: number;
      algorithms?: readonly DigestAlgorithm[];
      onProgress?: (bytes: number) => void;
      /**
       * The SHA-256 of exactly the bytes `source` delivers, computed by the caller as they pass and
       * read once `source` has ended (onboarding: the CSAR reader hashes every entry to check the
       * manifest). Hashing a multi-GiB image a second time here cost ~1 s per GiB of onboarding.
       */
      sha256?: () => string | undefined;
      /** Digests other than the SHA-256 in the hash worker thread (configuration `onboarding.hashWorker`). */
      hashWorker?: boolean;
    } = {},
  ): Promise<IngestResult & { commit(): Promise<void>; abort(): Promise<void> }> {
    const staged = await this.driver.stage();
    const meter = new MeteringStream(opts.algorithms ?? [], opts.limit, opts.onProgress, !opts.sha256, opts.hashWorker);
    try {
      await pipeline(source, meter, staged.stream);
    } catch (err) {
      meter.abandon();
      await staged.abort();
      throw err;
    }
    let digests: Partial<Record<DigestAlgorithm, string>>;
    try {
      digests = await meter.digests();
    } catch (err) {
      meter.abandon();
      await staged.abort();
      throw err;
    }
    if (opts.sha256) {
      const given = opts.sha256();
      if (!given || !/^[0-9a-f]{64}$/.test(given)) {
        await staged.abort();
        throw new Error('internal: stage() was promised a SHA-256 of the source, but none was computed');
      }
      digests.sha256 = given;
    }
    const key = digests.sha256!;
    // Publishing can take long on object stores (a server-side copy: tens of seconds per GiB on
    // Swift), and no bytes flow meanwhile: keep reporting progress so the upload is not taken for stalled.
    const commit = async () => {
      const beat = opts.onProgress ? setInterval(() => opts.onProgress!(meter.bytes), 1000) : undefined;
      try {
        await staged.commit(key);
      } finally {
        clearInterval(beat);
      }
    };
    return { key, size: meter.bytes, digests, commit, abort: () => staged.abort() };
  }
}
