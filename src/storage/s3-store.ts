import * as fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { parseSize } from '../common/size';
import { BlobStore, ByteRange, ObjectInfo, ObjectNotFoundError, StagedWrite } from './blob-store';
import { S3Client, S3ClientOptions, S3Error } from './s3-client';

/**
 * S3-compatible object storage (AWS S3, Ceph RGW, MinIO, Swift s3api) on our own small client
 * (s3-client.ts), no SDK.
 *
 * Layout under the bucket: `<prefix>objects/<key>` holds content, `<prefix>staging/<uuid>` staged
 * writes. Only `objects/` is listed (and so seen by the garbage collector), so a bucket may be shared.
 *
 * Writing: bytes are cut into parts of `partSize` (16 MiB); a write that ends within the first part
 * is one PutObject, a longer one a multipart upload with at most `queueSize` (2) parts in flight, so
 * an upload holds at most (queueSize + 1) × partSize in memory however large it is. The upload is
 * completed under `staging/`, because the content key (the SHA-256) is only known after the last
 * byte and an S3 object cannot be renamed. commit(key) then copies server side: CopyObject up to
 * 5 GiB, UploadPartCopy in `copyPartSize` parts above that; if the key already exists it is copied
 * onto itself instead (refreshing Last-Modified for the garbage collector's grace period) and the
 * staged object is dropped. The trade-off: the store writes every new blob twice (upload + copy,
 * both on the store's side, none through Depot); the alternative, a multipart upload that is kept
 * open and completed under the final key, needs the key when the upload starts. Multipart stores
 * cap the number of parts (AWS 10,000, Swift s3api 1,000): the largest blob is partSize × that cap
 * (16 MiB × 1,000 = 15.6 GiB on Swift); raise partSize for larger ones.
 */
export interface S3StoreOptions extends S3ClientOptions {
  /** Key prefix inside the bucket, e.g. "depot/" (a trailing slash is added when missing). */
  prefix: string;
  partSize: number;
  queueSize: number;
  copyPartSize: number;
  /** Objects above this size are copied with UploadPartCopy; at most 5 GiB (CopyObject's limit). */
  copyThreshold: number;
  maxParts: number;
}

const MiB = 2 ** 20;
const GiB = 2 ** 30;
/** The largest object a single CopyObject may copy. */
const COPY_LIMIT = 5 * GiB;

export function parseS3Options(o: Record<string, unknown>, readFile: (p: string) => string = (p) => fs.readFileSync(p, 'utf8')): S3StoreOptions {
  const str = (name: string): string | undefined => {
    const v = o[name];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new Error(`stores (s3): ${name} must be a string`);
    return v;
  };
  const num = (name: string, dflt: number, min: number, max = Infinity, size = false): number => {
    const v = o[name];
    if (v === undefined) return dflt;
    const n = size ? parseSize(v, `stores (s3): ${name}`) : typeof v === 'number' ? v : Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`stores (s3): ${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
    return n;
  };
  const bucket = str('bucket');
  if (!bucket) throw new Error('stores (s3): bucket is required');
  const region = str('region') ?? 'us-east-1';
  const accessKeyId = str('accessKeyId');
  const secretFile = str('secretAccessKeyFile');
  const secretAccessKey = str('secretAccessKey') ?? (secretFile ? readFile(secretFile).trim() : undefined);
  if (!accessKeyId || !secretAccessKey) throw new Error('stores (s3): accessKeyId and secretAccessKey (or secretAccessKeyFile) are required');
  let prefix = str('prefix') ?? '';
  if (prefix.startsWith('/')) prefix = prefix.replace(/^\/+/, '');
  if (prefix && !prefix.endsWith('/')) prefix += '/';
  return {
    endpoint: str('endpoint') ?? `https://s3.${region}.amazonaws.com`,
    bucket,
    region,
    accessKeyId,
    secretAccessKey,
    sessionToken: str('sessionToken'),
    ca: str('caFile') ? readFile(str('caFile')!) : undefined,
    forcePathStyle: o.forcePathStyle === undefined ? false : o.forcePathStyle === true || o.forcePathStyle === 'true',
    prefix,
    partSize: num('partSize', 16 * MiB, 5 * MiB, 5 * GiB, true),
    queueSize: num('queueSize', 2, 1, 16),
    copyPartSize: num('copyPartSize', 1 * GiB, 5 * MiB, 5 * GiB, true),
    copyThreshold: num('copyThreshold', COPY_LIMIT, 0, COPY_LIMIT, true),
    maxParts: num('maxParts', 10_000, 1, 10_000),
    timeoutMs: num('timeoutMs', 120_000, 1000),
    retries: num('retries', 3, 0, 10),
  };
}

export class S3BlobStore implements BlobStore {
  readonly driver = 's3';
  readonly client: S3Client;
  readonly prefix: string;
  private readonly objects: string;
  readonly staging: string;
  /** Staging keys of this instance's open writes: sweepStaging never removes them. */
  private readonly open = new Set<string>();

  private readonly opts: Pick<S3StoreOptions, 'partSize' | 'queueSize' | 'copyPartSize' | 'copyThreshold' | 'maxParts'>;

  constructor(opts: S3StoreOptions) {
    this.client = new S3Client(opts);
    // Only sizes are kept here; the credentials live in the client's private fields.
    this.opts = { partSize: opts.partSize, queueSize: opts.queueSize, copyPartSize: opts.copyPartSize, copyThreshold: opts.copyThreshold, maxParts: opts.maxParts };
    this.prefix = opts.prefix;
    this.objects = `${opts.prefix}objects/`;
    this.staging = `${opts.prefix}staging/`;
  }

  private keyOf(key: string): string {
    if (!/^[A-Za-z0-9._-]{3,200}$/.test(key) || key.startsWith('.')) throw new Error(`invalid object key ${JSON.stringify(key)}`);
    return this.objects + key;
  }

  async stage(): Promise<StagedWrite> {
    const name = this.staging + randomUUID();
    const writer = new MultipartWriter(this.client, name, this.opts);
    this.open.add(name);
    const finished = new Promise<void>((resolve, reject) => {
      writer.once('finish', resolve);
      writer.once('error', reject);
      writer.once('close', () => reject(new Error('the staged write was closed before it finished')));
    });
    finished.catch(() => undefined);
    let done = false;
    return {
      stream: writer,
      commit: async (key) => {
        const dest = this.keyOf(key);
        await finished;
        if (done) throw new Error('staged write already committed or aborted');
        const existing = await this.client.head(dest);
        let touched = false;
        if (existing) {
          // Same key, same bytes: keep the stored object, refresh its Last-Modified. (Gone meanwhile,
          // which the content lock rules out for Depot itself: publish the staged copy instead.)
          touched = await this.copy(dest, dest, existing.size).then(
            () => true,
            (err) => {
              if (err instanceof S3Error && (err.code === 'NoSuchKey' || err.status === 404)) return false;
              throw err;
            },
          );
        }
        if (!touched) {
          await this.copy(name, dest, writer.bytes);
        }
        done = true;
        this.open.delete(name);
        await this.client.delete(name).catch(() => undefined); // the sweep removes it otherwise
      },
      abort: async () => {
        if (done) return;
        done = true;
        try {
          await writer.cancel();
        } finally {
          this.open.delete(name);
        }
      },
    };
  }

  /** Server-side copy; over 5 GiB as a multipart upload of UploadPartCopy parts. */
  private async copy(source: string, dest: string, size: number): Promise<void> {
    if (size <= this.opts.copyThreshold) return this.client.copy(source, dest, source === dest);
    const partSize = Math.max(this.opts.copyPartSize, Math.ceil(size / this.opts.maxParts));
    const uploadId = await this.client.createMultipart(dest);
    try {
      const ranges: [number, number][] = [];
      for (let start = 0; start < size; start += partSize) ranges.push([start, Math.min(size, start + partSize) - 1]);
      const etags: string[] = new Array(ranges.length);
      let next = 0;
      const worker = async () => {
        while (next < ranges.length) {
          const i = next++;
          etags[i] = await this.client.uploadPartCopy(dest, uploadId, i + 1, source, ranges[i][0], ranges[i][1]);
        }
      };
      await Promise.all(Array.from({ length: Math.min(4, ranges.length) }, worker));
      await this.client.completeMultipart(dest, uploadId, etags);
    } catch (err) {
      await this.client.abortMultipart(dest, uploadId).catch(() => undefined);
      throw err;
    }
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const h = await this.client.head(this.keyOf(key));
    return h ? { key, size: h.size, mtime: h.lastModified } : null;
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const res = await this.client.get(this.keyOf(key), range);
    if (!res) throw new ObjectNotFoundError(key);
    return res;
  }

  async delete(key: string): Promise<void> {
    await this.client.delete(this.keyOf(key));
  }

  async *list(): AsyncIterable<ObjectInfo> {
    for await (const o of this.client.list(this.objects, '/')) {
      yield { key: o.key.slice(this.objects.length), size: o.size, mtime: o.lastModified };
    }
  }

  /**
   * Deletes staged objects older than the threshold (except this instance's open writes), and aborts multipart uploads under staging/
   * whose newest part is older (a live upload adds a part every partSize bytes, so it is spared).
   * Stores without ListMultipartUploads (s3rver) only get the first half; a bucket lifecycle rule
   * (AbortIncompleteMultipartUpload) is the belt to these braces.
   */
  async sweepStaging(olderThanMs: number): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    let n = 0;
    for await (const o of this.client.list(this.staging)) {
      if (this.open.has(o.key)) continue;
      if (o.lastModified.getTime() < cutoff || olderThanMs <= 0) {
        await this.client.delete(o.key);
        n++;
      }
    }
    try {
      for await (const u of this.client.listMultipart(this.staging)) {
        if (this.open.has(u.key) || (u.initiated.getTime() >= cutoff && olderThanMs > 0)) continue;
        const last = olderThanMs > 0 ? await this.client.lastPartTime(u.key, u.uploadId).catch(() => undefined) : undefined;
        if (last && last.getTime() >= cutoff) continue;
        await this.client.abortMultipart(u.key, u.uploadId);
        n++;
      }
    } catch (err) {
      if (!(err instanceof S3Error && (err.status === 501 || err.status === 405 || err.code === 'NotImplemented'))) throw err;
    }
    return n;
  }

  async ping(): Promise<void> {
    await this.client.headBucket();
  }

  close(): void {
    this.client.close();
  }
}

/**
 * The staged write's stream: buffers up to one part, then uploads parts while more arrive, with
 * back-pressure once `queueSize` parts are in flight. Ending within the first part is one PutObject.
 */
class MultipartWriter extends Writable {
  bytes = 0;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private uploadId?: Promise<string>;
  private readonly etags: string[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private failure?: Error;
  private cancelled = false;
  private parts = 0;
  /** Every request this writer started, so cancel() can wait for them before cleaning up. */
  private readonly started = new Set<Promise<unknown>>();

  constructor(
    private readonly client: S3Client,
    private readonly key: string,
    private readonly opts: { partSize: number; queueSize: number; maxParts: number },
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.started.add(p);
    const drop = () => this.started.delete(p);
    p.then(drop, drop);
    return p;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.bytes += chunk.length;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.flushParts(false).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.finish().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.cancelled = true;
    cb(err);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    // Views, no copies: a single huge write is cut into parts without copying it again and again.
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return all.subarray(0, n);
  }

  /** Uploads every full part; waits while `queueSize` parts are in flight. */
  private async flushParts(last: boolean): Promise<void> {
    while (this.buffered >= this.opts.partSize || (last && this.buffered > 0)) {
      if (this.failure) throw this.failure;
      if (this.cancelled) throw new Error('staged write aborted');
      const body = this.take(Math.min(this.opts.partSize, this.buffered));
      const number = ++this.parts;
      if (number > this.opts.maxParts) throw new Error(`blob too large for this store: more than ${this.opts.maxParts} parts of ${this.opts.partSize} bytes (raise partSize)`);
      this.uploadId ??= this.track(this.client.createMultipart(this.key));
      const uploadId = await this.uploadId;
      const p: Promise<void> = this.track(this.client.uploadPart(this.key, uploadId, number, body)).then(
        (etag) => {
          this.etags[number - 1] = etag;
        },
        (err: Error) => {
          this.failure ??= err;
        },
      );
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
      while (this.inflight.size >= this.opts.queueSize) await Promise.race(this.inflight);
    }
    if (this.failure) throw this.failure;
  }

  private async finish(): Promise<void> {
    try {
      if (!this.uploadId) {
        // Small object: one request.
        await this.track(this.client.put(this.key, this.take(this.buffered)));
        return;
      }
      await this.flushParts(true);
      await Promise.all(this.inflight);
      if (this.failure) throw this.failure;
      if (this.cancelled) throw new Error('staged write aborted');
      try {
        await this.track(this.client.completeMultipart(this.key, await this.uploadId, this.etags));
      } catch (err) {
        // A retried Complete whose first attempt succeeded (the answer was lost) finds no upload.
        const h = err instanceof S3Error && err.code === 'NoSuchUpload' ? await this.client.head(this.key).catch(() => null) : null;
        if (h?.size !== this.bytes) throw err;
      }
    } catch (err) {
      await this.cleanup();
      throw err;
    }
  }

  private async cleanup(): Promise<void> {
    await Promise.allSettled([...this.started]);
    const uploadId = await this.uploadId?.catch(() => undefined);
    // AbortMultipartUpload is missing on some stores (s3rver: 405); the sweep retries later.
    if (uploadId) await this.client.abortMultipart(this.key, uploadId).catch(() => undefined);
    await this.client.delete(this.key).catch(() => undefined);
  }

  /** Stops the write and removes whatever reached the store. */
  async cancel(): Promise<void> {
    this.cancelled = true;
    if (!this.destroyed) this.destroy();
    // A write still finishing its last request is waited for, then removed.
    await this.cleanup();
  }
}
