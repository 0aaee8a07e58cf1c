import { createHash, Hash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobStore } from './blob-store';

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
 */
export class MeteringStream extends Transform {
  readonly hashes: Map<DigestAlgorithm, Hash>;
  bytes = 0;

  constructor(algorithms: readonly DigestAlgorithm[], private readonly limit = Infinity, private readonly onProgress?: (bytes: number) => void) {
    super({ highWaterMark: 1 << 20 });
    this.hashes = new Map([...new Set<DigestAlgorithm>(['sha256', ...algorithms])].map((a) => [a, createHash(a)]));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return cb(new SizeLimitError(this.limit));
    for (const h of this.hashes.values()) h.update(chunk);
    this.onProgress?.(this.bytes);
    cb(null, chunk);
  }

  digests(): Partial<Record<DigestAlgorithm, string>> {
    const out: Partial<Record<DigestAlgorithm, string>> = {};
    for (const [a, h] of this.hashes) out[a] = h.digest('hex');
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
    opts: { limit?: number; algorithms?: readonly DigestAlgorithm[]; onProgress?: (bytes: number) => void } = {},
  ): Promise<IngestResult & { commit(): Promise<void>; abort(): Promise<void> }> {
    const staged = await this.driver.stage();
    const meter = new MeteringStream(opts.algorithms ?? [], opts.limit, opts.onProgress);
    try {
      await pipeline(source, meter, staged.stream);
    } catch (err) {
      await staged.abort();
      throw err;
    }
    const digests = meter.digests();
    const key = digests.sha256!;
    return { key, size: meter.bytes, digests, commit: () => staged.commit(key), abort: () => staged.abort() };
  }
}
