import * as http from 'node:http';
import * as https from 'node:https';
import { createHash, createHmac } from 'node:crypto';
import type { LookupFunction } from 'node:net';
import * as tls from 'node:tls';
import { PassThrough, Readable } from 'node:stream';

/**
 * A small S3 client over node:http(s) with AWS Signature V4 header signing: only what the s3 blob
 * store needs, so Depot does not carry the AWS SDK (objectstore.md §3.1). Bodies are Buffers (a
 * multipart part is at most `partSize` bytes in memory), sent with Content-Length and Content-MD5 and
 * `x-amz-content-sha256: UNSIGNED-PAYLOAD` — never `aws-chunked`, which Swift's s3api rejects and
 * s3rver stores as data. node:http keeps back-pressure on response bodies (fetch would not, undici#4058).
 */
export interface S3ClientOptions {
  /** e.g. https://s3.eu-west-1.amazonaws.com, http://127.0.0.1:8080 (Swift s3api), http://minio:9000 */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Path-style (`endpoint/bucket/key`) instead of virtual-hosted (`bucket.endpoint/key`). */
  forcePathStyle: boolean;
  /** Socket idle timeout. */
  timeoutMs?: number;
  /** Extra attempts for requests that can be replayed (no streamed body), on 5xx, 429 and network errors. */
  retries?: number;
  maxSockets?: number;
  /** PEM certificates to trust for https endpoints (a private CA), besides Node's defaults. */
  ca?: string;
  /** Name resolution override (tests; special DNS set-ups). */
  lookup?: LookupFunction;
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
const UNSIGNED = 'UNSIGNED-PAYLOAD';

/** RFC 3986 unreserved characters stay; everything else is %XX (what SigV4 canonicalisation wants). */
export function uriEncode(s: string, keepSlash = false): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
const sha256hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/**
 * Signs a request (AWS Signature V4, Authorization header). Every header given is signed; `headers`
 * must hold `host`, `x-amz-date` and `x-amz-content-sha256` already. Exported for the test vectors.
 */
export function signV4(req: { method: string; path: string; query: Record<string, string>; headers: Record<string, string> }, cred: { accessKeyId: string; secretAccessKey: string; region: string; service?: string }): string {
  const service = cred.service ?? 's3';
  const amzDate = req.headers['x-amz-date'];
  const day = amzDate.slice(0, 8);
  const names = Object.keys(req.headers).map((h) => h.toLowerCase()).sort();
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) lower[k.toLowerCase()] = String(v).trim().replace(/\s+/g, ' ');
  const canonicalQuery = Object.keys(req.query)
    .sort()
    .map((k) => `${uriEncode(k)}=${uriEncode(req.query[k])}`)
    .join('&');
  const canonical = [
    req.method,
    uriEncode(req.path, true),
    canonicalQuery,
    names.map((n) => `${n}:${lower[n]}\n`).join(''),
    names.join(';'),
    lower['x-amz-content-sha256'],
  ].join('\n');
  const scope = `${day}/${cred.region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonical)].join('\n');
  const kDate = hmac('AWS4' + cred.secretAccessKey, day);
  const kSigning = hmac(hmac(hmac(kDate, cred.region), service), 'aws4_request');
  const signature = createHmac('sha256', kSigning).update(toSign, 'utf8').digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${cred.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
}

/** An error answered by the store (or a network failure), with what was asked; never credentials. */
export class S3Error extends Error {
  constructor(
    readonly operation: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
    detail: string,
    readonly target: string,
  ) {
    super(`s3 ${operation} ${target}: ${status ? `HTTP ${status} ` : ''}${code ?? ''}${detail ? `${code ? ': ' : ''}${detail}` : ''}${S3Error.hint(code, status)}`);
  }

  static hint(code: string | undefined, status: number | undefined): string {
    switch (code) {
      case 'SignatureDoesNotMatch':
        return ' (check secretAccessKey, and that region matches the store\'s)';
      case 'InvalidAccessKeyId':
        return ' (unknown accessKeyId)';
      case 'AuthorizationHeaderMalformed':
        return ' (the region setting does not match the store\'s)';
      case 'NoSuchBucket':
        return ' (create the bucket first; Depot does not create it)';
      case 'RequestTimeTooSkewed':
        return ' (this machine\'s clock is off)';
      case 'AccessDenied':
      case 'Forbidden': // a HEAD answer has no body to name the code
        return ' (wrong credentials, or they lack permission on this bucket or prefix; without s3:ListBucket, AWS answers 403 for a missing object too)';
    }
    if (status === 301 || status === 307) return ' (wrong region or addressing style: try the bucket\'s regional endpoint or forcePathStyle)';
    return '';
  }
}

export function xmlUnescape(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_m, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e];
  });
}

const xmlEscape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

/** The text of the first `<tag>` in `xml` (the responses we read are flat enough for this). */
export function xmlTag(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m ? xmlUnescape(m[1]) : undefined;
}

export function xmlBlocks(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]);
}

export interface ListedObject {
  key: string;
  size: number;
  lastModified: Date;
}

export interface RequestOptions {
  method: string;
  key?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Statuses that are not errors; others throw S3Error. */
  ok?: number[];
  operation: string;
}

export class S3Client {
  readonly bucket: string;
  readonly region: string;
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  // Private fields: the secret is not an enumerable property, so logging the store shows no credentials.
  readonly #accessKeyId: string;
  readonly #secretAccessKey: string;
  readonly #sessionToken?: string;
  private readonly forcePathStyle: boolean;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly lookup?: LookupFunction;

  constructor(opts: S3ClientOptions) {
    this.url = new URL(opts.endpoint);
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') throw new Error(`s3 endpoint must be http(s)://…, got ${JSON.stringify(opts.endpoint)}`);
    this.bucket = opts.bucket;
    this.region = opts.region;
    this.#accessKeyId = opts.accessKeyId;
    this.#secretAccessKey = opts.secretAccessKey;
    this.#sessionToken = opts.sessionToken;
    this.forcePathStyle = opts.forcePathStyle;
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.retries = opts.retries ?? 3;
    this.lookup = opts.lookup;
    this.transport = this.url.protocol === 'https:' ? https : http;
    this.agent =
      this.url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 32, ...(opts.ca ? { ca: [...tls.rootCertificates, opts.ca] } : {}) })
        : new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 32 });
  }

  /** Host and path for a key (or the bucket itself when key is undefined). */
  address(key?: string): { host: string; path: string } {
    const base = this.url.pathname.replace(/\/+$/, '');
    const k = key === undefined ? '' : '/' + key;
    if (this.forcePathStyle) return { host: this.url.host, path: `${base}/${this.bucket}${k}` || '/' };
    return { host: `${this.bucket}.${this.url.host}`, path: `${base}${k}` || '/' };
  }

  target(key?: string): string {
    return key === undefined ? this.bucket : `${this.bucket}/${key}`;
  }

  /** One signed request; resolves with the response (body unread) once the status is accepted. */
  async request(o: RequestOptions): Promise<http.IncomingMessage> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(o);
      } catch (err) {
        const status = err instanceof S3Error ? err.status : undefined;
        const retriable = status === undefined ? !(err instanceof S3Error && err.code === 'InvalidResponse') : [500, 502, 503, 504, 429].includes(status);
        if (!retriable || attempt >= this.retries) throw err;
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt + Math.random() * 100));
      }
    }
  }

  private once(o: RequestOptions): Promise<http.IncomingMessage> {
    const { host, path } = this.address(o.key);
    const query = o.query ?? {};
    const body = typeof o.body === 'string' ? Buffer.from(o.body, 'utf8') : o.body;
    const now = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const headers: Record<string, string> = {
      ...Object.fromEntries(Object.entries(o.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
      host,
      'x-amz-date': now,
      // Small XML bodies are signed; data bodies carry Content-MD5 instead (checked by the store).
      'x-amz-content-sha256': !body || body.length === 0 ? EMPTY_SHA256 : body.length <= 64 * 1024 ? sha256hex(body) : UNSIGNED,
    };
    if (this.#sessionToken) headers['x-amz-security-token'] = this.#sessionToken;
    if (body && body.length > 0 && !headers['content-md5']) headers['content-md5'] = createHash('md5').update(body).digest('base64');
    const authorization = signV4({ method: o.method, path, query, headers }, { accessKeyId: this.#accessKeyId, secretAccessKey: this.#secretAccessKey, region: this.region });
    const qs = Object.keys(query).map((k) => (query[k] === '' ? uriEncode(k) : `${uriEncode(k)}=${uriEncode(query[k])}`)).join('&');
    const target = this.target(o.key);
    return new Promise((resolve, reject) => {
      const req = this.transport.request(
        {
          protocol: this.url.protocol,
          // Virtual-hosted: connect to bucket.endpoint (DNS and TLS name), not to the bare endpoint.
          hostname: this.forcePathStyle ? this.url.hostname : `${this.bucket}.${this.url.hostname}`,
          lookup: this.lookup,
          port: this.url.port || undefined,
          method: o.method,
          path: uriEncode(path, true) + (qs ? '?' + qs : ''),
          headers: { ...headers, authorization, 'content-length': String(body?.length ?? 0) },
          agent: this.agent,
          timeout: this.timeoutMs,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          // The socket timeout stays armed while the body streams: a store that stops sending fails
          // the read instead of hanging it.
          if ((o.ok ?? [200, 204, 206]).includes(status)) return resolve(res);
          readText(res, 64 * 1024)
            .then((text) => reject(new S3Error(o.operation, status, xmlTag(text, 'Code') ?? (res.headers['x-amz-error-code'] as string | undefined) ?? statusCode(status), xmlTag(text, 'Message') ?? '', target)))
            .catch(() => reject(new S3Error(o.operation, status, statusCode(status), '', target)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => reject(new S3Error(o.operation, undefined, err.code, err.message, `${target} at ${this.url.origin}`)));
      req.end(body);
    });
  }

  /** A request whose whole (small, XML) answer is wanted. A 200 carrying <Error> (Copy, Complete) throws. */
  async text(o: RequestOptions): Promise<string> {
    const res = await this.request(o);
    const text = await readText(res, 16 * 2 ** 20);
    if (/^\s*(<\?xml[^>]*>\s*)?<Error>/.test(text)) throw new S3Error(o.operation, res.statusCode, xmlTag(text, 'Code'), xmlTag(text, 'Message') ?? '', this.target(o.key));
    return text;
  }

  async discard(o: RequestOptions): Promise<http.IncomingMessage> {
    const res = await this.request(o);
    res.resume();
    await new Promise<void>((resolve, reject) => {
      res.once('end', resolve);
      res.once('error', reject);
      res.once('close', resolve);
    });
    return res;
  }

  /** HeadObject: size and mtime, or null when absent. */
  async head(key: string): Promise<{ size: number; lastModified: Date; etag?: string } | null> {
    const res = await this.discard({ method: 'HEAD', key, ok: [200, 404], operation: 'HeadObject' });
    if (res.statusCode === 404) return null;
    const lm = res.headers['last-modified'];
    return { size: Number(res.headers['content-length'] ?? 0), lastModified: lm ? new Date(lm) : new Date(), etag: res.headers.etag };
  }

  async headBucket(): Promise<void> {
    try {
      await this.discard({ method: 'HEAD', operation: 'HeadBucket' });
    } catch (err) {
      // A HEAD answer has no body to name the error; 404 on the bucket can only mean one thing.
      if (err instanceof S3Error && err.status === 404) throw new S3Error('HeadBucket', 404, 'NoSuchBucket', 'the bucket does not exist', this.target());
      throw err;
    }
  }

  async put(key: string, body: Buffer): Promise<void> {
    await this.discard({ method: 'PUT', key, body, headers: { 'content-type': 'application/octet-stream' }, operation: 'PutObject' });
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable | null> {
    const res = await this.request({ method: 'GET', key, headers: range ? { range: `bytes=${range.start}-${range.end}` } : {}, ok: [200, 206, 404], operation: 'GetObject' });
    if (res.statusCode === 404) {
      res.resume();
      return null;
    }
    if (range && res.statusCode !== 206) {
      res.destroy();
      throw new S3Error('GetObject', res.statusCode, 'InvalidResponse', `asked for bytes ${range.start}-${range.end}, got a whole object`, this.target(key));
    }
    if (range) {
      const m = /^bytes (\d+)-(\d+)\//.exec(String(res.headers['content-range'] ?? ''));
      if (!m || Number(m[1]) !== range.start || Number(m[2]) < range.end) {
        res.destroy();
        throw new S3Error('GetObject', res.statusCode, 'InvalidResponse', `asked for bytes ${range.start}-${range.end}, got ${res.headers['content-range'] ?? 'no Content-Range'}`, this.target(key));
      }
      // A longer answer than asked for (s3rver reads "bytes=0-0" as "bytes=0-") is cut to size.
      if (Number(m[2]) > range.end) return truncate(res, range.end - range.start + 1);
    }
    return res;
  }

  async delete(key: string): Promise<void> {
    await this.discard({ method: 'DELETE', key, ok: [200, 204, 404], operation: 'DeleteObject' });
  }

  /** CopyObject (server side, ≤ 5 GiB). With `replace`, metadata is rewritten: a copy onto itself then refreshes Last-Modified. */
  async copy(source: string, dest: string, replace = false): Promise<void> {
    await this.text({
      method: 'PUT',
      key: dest,
      headers: {
        'x-amz-copy-source': uriEncode(`/${this.bucket}/${source}`, true),
        ...(replace ? { 'x-amz-metadata-directive': 'REPLACE', 'content-type': 'application/octet-stream' } : {}),
      },
      operation: 'CopyObject',
    });
  }

  async createMultipart(key: string): Promise<string> {
    const xml = await this.text({ method: 'POST', key, query: { uploads: '' }, headers: { 'content-type': 'application/octet-stream' }, operation: 'CreateMultipartUpload' });
    const id = xmlTag(xml, 'UploadId');
    if (!id) throw new S3Error('CreateMultipartUpload', 200, 'InvalidResponse', 'no UploadId in the answer', this.target(key));
    return id;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<string> {
    const res = await this.discard({ method: 'PUT', key, query: { partNumber: String(partNumber), uploadId }, body, operation: 'UploadPart' });
    const etag = res.headers.etag;
    if (!etag) throw new S3Error('UploadPart', res.statusCode, 'InvalidResponse', `no ETag for part ${partNumber}`, this.target(key));
    return etag;
  }

  /** UploadPartCopy: bytes [start, end] of `source` become part `partNumber` of the upload. */
  async uploadPartCopy(key: string, uploadId: string, partNumber: number, source: string, start: number, end: number): Promise<string> {
    const xml = await this.text({
      method: 'PUT',
      key,
      query: { partNumber: String(partNumber), uploadId },
      headers: { 'x-amz-copy-source': uriEncode(`/${this.bucket}/${source}`, true), 'x-amz-copy-source-range': `bytes=${start}-${end}` },
      operation: 'UploadPartCopy',
    });
    const etag = xmlTag(xml, 'ETag');
    if (!etag) throw new S3Error('UploadPartCopy', 200, 'InvalidResponse', `no ETag for part ${partNumber}`, this.target(key));
    return etag;
  }

  async completeMultipart(key: string, uploadId: string, etags: string[]): Promise<void> {
    const body = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${xmlEscape(e)}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
    await this.text({ method: 'POST', key, query: { uploadId }, body, headers: { 'content-type': 'application/xml' }, operation: 'CompleteMultipartUpload' });
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await this.discard({ method: 'DELETE', key, query: { uploadId }, ok: [200, 204, 404], operation: 'AbortMultipartUpload' });
  }

  /** ListObjectsV2, every page. */
  async *list(prefix: string, delimiter?: string): AsyncIterable<ListedObject> {
    let token: string | undefined;
    do {
      const query: Record<string, string> = { 'list-type': '2', prefix, 'max-keys': '1000' };
      if (delimiter) query.delimiter = delimiter;
      if (token) query['continuation-token'] = token;
      const xml = await this.text({ method: 'GET', query, operation: 'ListObjectsV2' });
      for (const c of xmlBlocks(xml, 'Contents')) {
        const key = xmlTag(c, 'Key');
        if (key === undefined) continue;
        yield { key, size: Number(xmlTag(c, 'Size') ?? 0), lastModified: new Date(xmlTag(c, 'LastModified') ?? 0) };
      }
      token = xmlTag(xml, 'IsTruncated') === 'true' ? xmlTag(xml, 'NextContinuationToken') : undefined;
    } while (token);
  }

  /** ListMultipartUploads under a prefix, every page: key, upload id and when it began. */
  async *listMultipart(prefix: string): AsyncIterable<{ key: string; uploadId: string; initiated: Date }> {
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    for (;;) {
      const query: Record<string, string> = { uploads: '', prefix };
      if (keyMarker) query['key-marker'] = keyMarker;
      if (idMarker) query['upload-id-marker'] = idMarker;
      const xml = await this.text({ method: 'GET', query, operation: 'ListMultipartUploads' });
      for (const u of xmlBlocks(xml, 'Upload')) {
        const key = xmlTag(u, 'Key');
        const uploadId = xmlTag(u, 'UploadId');
        if (key && uploadId) yield { key, uploadId, initiated: new Date(xmlTag(u, 'Initiated') ?? 0) };
      }
      if (xmlTag(xml, 'IsTruncated') !== 'true') return;
      keyMarker = xmlTag(xml, 'NextKeyMarker');
      idMarker = xmlTag(xml, 'NextUploadIdMarker');
      if (!keyMarker) return;
    }
  }

  /** The newest LastModified among an upload's parts (undefined when it has none). */
  async lastPartTime(key: string, uploadId: string): Promise<Date | undefined> {
    let newest: Date | undefined;
    let marker: string | undefined;
    for (;;) {
      const query: Record<string, string> = { uploadId };
      if (marker) query['part-number-marker'] = marker;
      const xml = await this.text({ method: 'GET', key, query, operation: 'ListParts' });
      for (const p of xmlBlocks(xml, 'Part')) {
        const t = new Date(xmlTag(p, 'LastModified') ?? 0);
        if (!newest || t > newest) newest = t;
      }
      if (xmlTag(xml, 'IsTruncated') !== 'true') return newest;
      marker = xmlTag(xml, 'NextPartNumberMarker');
      if (!marker) return newest;
    }
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The first `n` bytes of `source`; the rest is not read (the connection is closed). */
function truncate(source: http.IncomingMessage, n: number): Readable {
  let left = n;
  const out = new PassThrough();
  source.on('data', (chunk: Buffer) => {
    if (left <= 0) return;
    const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
    left -= part.length;
    if (!out.write(part)) source.pause();
    if (left <= 0) {
      out.end();
      source.destroy();
    }
  });
  out.on('drain', () => source.resume());
  source.on('end', () => out.end());
  source.on('error', (err) => {
    if (left > 0) out.destroy(err);
  });
  out.on('close', () => source.destroy());
  return out;
}

function statusCode(status: number): string {
  return http.STATUS_CODES[status]?.replace(/\s+/g, '') ?? `HTTP${status}`;
}

async function readText(res: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += c.length;
    if (n > limit) {
      res.destroy();
      throw new Error(`answer larger than ${limit} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}
