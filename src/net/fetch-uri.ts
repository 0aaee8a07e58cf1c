import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import type { Socket } from 'node:net';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describeStall, StallGuard, type StallPolicy } from '../common/stall-guard';
import { TargetPolicy } from './ip-policy';

/*
 * Download for SOL005 `POST .../package_content/upload_from_uri` (UploadVnfPkgFromUriRequest:
 * addressInformation + optional authentication.paramsBasic). The URI comes from an API consumer,
 * so the fetch is an SSRF vector: every hop (first request and each redirect) is resolved here,
 * every resolved address is vetted, and the socket is then connected to exactly those vetted
 * addresses through a pinned `lookup` -- a second DNS answer (rebinding) is never consulted.
 */

export type FetchUriErrorCode = 'FORBIDDEN_TARGET' | 'TIMEOUT' | 'STALLED' | 'TOO_LARGE' | 'HTTP_STATUS' | 'BAD_URI' | 'NETWORK';

export class FetchUriError extends Error {
  override readonly name = 'FetchUriError';
  constructor(
    readonly code: FetchUriErrorCode,
    message: string,
    /** the HTTP status for HTTP_STATUS */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** SOL005 ParamsBasic: both members are 0..1; a missing one is sent as empty. */
export interface BasicCredentials {
  userName?: string;
  password?: string;
}

export type HostLookup = (hostname: string) => Promise<readonly LookupAddress[]>;

export interface FetchUriOptions {
  /** size cap of the body in bytes; exceeding it aborts with TOO_LARGE */
  maxBytes: number;
  /** authentication.paramsBasic of the request; sent to the original origin only */
  auth?: BasicCredentials;
  /** operator exceptions to the public-address rule: CIDRs, addresses, host names, "*.suffix" */
  allow?: readonly string[];
  /** default 5 */
  maxRedirects?: number;
  /** TCP (+TLS) connection establishment, per hop; default 10 s */
  connectTimeoutMs?: number;
  /** longest silence on an open connection, per hop; default 30 s */
  idleTimeoutMs?: number;
  /** whole operation including redirects and body; default 15 min */
  totalTimeoutMs?: number;
  /**
   * the body stalls (STALLED) when, while the destination waits for it, fewer than
   * minBytesPerSecond × stallMs bytes arrive within stallMs: a server trickling a byte every few
   * seconds stalls too; default 30 s and 1 KiB/s
   */
  stall?: StallPolicy;
  /** name resolution; default dns.lookup(all) -- injectable for tests */
  lookup?: HostLookup;
  /** extra trust anchors for https (private repository CAs) */
  ca?: string | Buffer | (string | Buffer)[];
  signal?: AbortSignal;
}

export interface FetchUriResult {
  bytes: number;
  contentType?: string;
  /** Content-Length announced by the server, if any */
  contentLength?: number;
  /** final URI after redirects, without userinfo and query */
  uri: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const defaultLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** How a URI may appear in messages and logs: no userinfo, no query (pre-signed URL tokens). */
export function redactUri(uri: URL | string): string {
  try {
    const u = typeof uri === 'string' ? new URL(uri) : uri;
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<unparsable URI>';
  }
}

function parseHttpUri(raw: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FetchUriError('BAD_URI', `${what} is not a valid absolute URI`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FetchUriError('BAD_URI', `${what} has unsupported scheme '${url.protocol.replace(/:$/, '')}' (only http and https)`);
  }
  if (url.hostname === '') throw new FetchUriError('BAD_URI', `${what} has no host`);
  return url;
}

const bareHost = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** Resolves and vets one hop; returns the addresses the connection is pinned to. */
async function resolveTarget(url: URL, policy: TargetPolicy, lookup: HostLookup): Promise<LookupAddress[]> {
  const host = bareHost(url);
  const family = isIP(host);
  let addresses: LookupAddress[];
  if (family !== 0) {
    addresses = [{ address: host, family }];
  } else {
    try {
      addresses = [...(await lookup(host))];
    } catch (e) {
      throw new FetchUriError('NETWORK', `cannot resolve host '${host}' (${(e as NodeJS.ErrnoException).code ?? 'lookup failed'})`);
    }
    if (addresses.length === 0) throw new FetchUriError('NETWORK', `cannot resolve host '${host}'`);
    if (policy.allowsHost(host)) return addresses;
  }
  // Every address must pass, not just one: the connection may use any of them.
  for (const { address } of addresses) {
    const refusal = policy.refusal(address);
    if (refusal !== undefined) {
      throw new FetchUriError(
        'FORBIDDEN_TARGET',
        `refusing to fetch ${redactUri(url)}: ${family ? 'address' : `host '${host}' resolves to`} ${address} is not a public address (${refusal})`,
      );
    }
  }
  return addresses;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

function pinnedLookup(addresses: readonly LookupAddress[]) {
  return (_hostname: string, opts: { all?: boolean; family?: number | string }, cb: LookupCallback) => {
    const wanted = opts.family === 4 || opts.family === 'IPv4' ? 4 : opts.family === 6 || opts.family === 'IPv6' ? 6 : 0;
    const usable = addresses.filter((a) => wanted === 0 || a.family === wanted);
    if (usable.length === 0) {
      const err: NodeJS.ErrnoException = new Error('no vetted address of the requested family');
      err.code = 'ENOTFOUND';
      cb(err, '', 0);
    } else if (opts.all) cb(null, usable);
    else cb(null, usable[0].address, usable[0].family);
  };
}

/** Removes secrets from a message that may embed text from lower layers. */
function scrub(message: string, secrets: readonly string[]): string {
  return secrets.filter((s) => s.length > 0).reduce((m, s) => m.split(s).join('***'), message);
}

interface Hop {
  response: Promise<http.IncomingMessage>;
  /** aborts the hop's request and response with the given error */
  abort(err: Error): void;
}

/**
 * Userinfo in the URI is an alternative spelling of paramsBasic: it is moved off the URL object (so
 * it never reaches a message) into the credentials. Returns the strings to scrub from messages;
 * only passwords of 4+ characters are scrubbed (blanking every "a" of a message helps nobody).
 */
function takeCredentials(url: URL, auth: BasicCredentials | undefined): { credentials?: BasicCredentials; secrets: string[] } {
  let credentials = auth;
  if (url.username !== '' || url.password !== '') {
    credentials ??= { userName: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
    url.username = '';
    url.password = '';
  }
  const password = credentials?.password ?? '';
  return { credentials, secrets: password.length >= 4 ? [password, encodeURIComponent(password)] : [] };
}

/**
 * The first failure of an exchange (timeout, cancellation, cap, network): it is kept, rejects
 * `failed` (which lets a timeout interrupt phases with no socket to destroy, such as DNS) and aborts
 * the hop in flight.
 */
class FailureLatch {
  failure?: Error;
  readonly failed: Promise<never>;
  private reject!: (err: Error) => void;

  constructor(private readonly currentHop: () => Hop | undefined) {
    this.failed = new Promise<never>((_, reject) => (this.reject = reject));
    this.failed.catch(() => {});
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.reject(this.failure);
    this.currentHop()?.abort(this.failure);
  }
}

export async function fetchUriToWritable(uri: string, destination: Writable, options: FetchUriOptions): Promise<FetchUriResult> {
  const maxRedirects = options.maxRedirects ?? 5;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const totalTimeoutMs = options.totalTimeoutMs ?? 15 * 60_000;
  const lookup = options.lookup ?? defaultLookup;
  const policy = new TargetPolicy(options.allow ?? []);

  const first = parseHttpUri(uri, 'URI');
  const { credentials, secrets } = takeCredentials(first, options.auth);
  const credentialOrigin = first.origin;

  let current: Hop | undefined;
  const latch = new FailureLatch(() => current);
  const { failed } = latch;
  const fail = (err: Error) => latch.fail(err);
  const total = setTimeout(
    () => fail(new FetchUriError('TIMEOUT', `download of ${redactUri(first)} did not complete within ${totalTimeoutMs} ms`)),
    totalTimeoutMs,
  );
  const onAbort = () => fail(new FetchUriError('NETWORK', `download of ${redactUri(first)} was cancelled`));
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let destinationError: unknown;
  const onDestinationError = (e: unknown) => (destinationError ??= e);
  destination.once('error', onDestinationError);

  try {
    let url = first;
    for (let hop = 0; ; hop++) {
      if (latch.failure) throw latch.failure;
      const addresses = await Promise.race([resolveTarget(url, policy, lookup), failed]);
      const auth = credentials && url.origin === credentialOrigin ? credentials : undefined;
      current = request(url, addresses, auth, { connectTimeoutMs, idleTimeoutMs, ca: options.ca });
      const res = await Promise.race([current.response, failed]);
      const status = res.statusCode ?? 0;

      if (REDIRECTS.has(status)) {
        res.resume();
        const location = res.headers.location;
        if (!location) throw new FetchUriError('HTTP_STATUS', `${redactUri(url)} answered ${status} without a Location`, status);
        if (hop >= maxRedirects) throw new FetchUriError('HTTP_STATUS', `too many redirects (more than ${maxRedirects}) fetching ${redactUri(first)}`, status);
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new FetchUriError('BAD_URI', `${redactUri(url)} redirected to an invalid URI`);
        }
        next = parseHttpUri(next.href, `redirect from ${redactUri(url)}`);
        next.username = '';
        next.password = '';
        url = next;
        continue;
      }
      if (status < 200 || status > 299) {
        res.resume();
        throw new FetchUriError('HTTP_STATUS', `${redactUri(url)} answered HTTP ${status}`, status);
      }

      const announced = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
      const contentLength = announced !== undefined && Number.isFinite(announced) ? announced : undefined;
      if (contentLength !== undefined && contentLength > options.maxBytes) {
        throw new FetchUriError('TOO_LARGE', `${redactUri(url)} announces ${contentLength} bytes, more than the limit of ${options.maxBytes}`);
      }
      let bytes = 0;
      const cap = new Transform({
        transform(chunk: Buffer, _enc, done) {
          bytes += chunk.length;
          if (bytes > options.maxBytes) {
            done(new FetchUriError('TOO_LARGE', `${redactUri(url)} sent more than the limit of ${options.maxBytes} bytes`));
          } else done(null, chunk);
        },
      });
      const stall = options.stall ?? { stallMs: 30_000, minBytesPerSecond: 1024 };
      const guard = new StallGuard(res, stall, (s) => new FetchUriError('STALLED', `${redactUri(url)} stalled: ${describeStall(s)}`));
      await pipeline(res, guard, cap, destination);
      if (latch.failure) throw latch.failure;
      const contentType = res.headers['content-type'];
      return { bytes, contentType, contentLength, uri: redactUri(url) };
    }
  } catch (e) {
    current?.abort(latch.failure ?? (e as Error));
    if (latch.failure) throw latch.failure;
    if (e instanceof FetchUriError) throw new FetchUriError(e.code, scrub(e.message, secrets), e.status);
    if (destinationError !== undefined && e === destinationError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new FetchUriError('NETWORK', scrub(`fetching ${redactUri(first)} failed: ${err.code ?? err.message}`, secrets));
  } finally {
    clearTimeout(total);
    options.signal?.removeEventListener('abort', onAbort);
    destination.removeListener('error', onDestinationError);
  }
}

export interface RequestUriOptions {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  headers?: Record<string, string>;
  /** request body (e.g. JSON text); sent with Content-Length */
  body?: string | Buffer;
  /** HTTP Basic credentials for this request */
  auth?: BasicCredentials;
  /** operator exceptions to the public-address rule (see FetchUriOptions.allow) */
  allow?: readonly string[];
  /** default 5 s */
  connectTimeoutMs?: number;
  /** default 10 s */
  idleTimeoutMs?: number;
  /** whole exchange; default 15 s */
  totalTimeoutMs?: number;
  /** response bytes kept (the rest is read and dropped); default 64 KiB */
  maxResponseBytes?: number;
  lookup?: HostLookup;
  ca?: FetchUriOptions['ca'];
  signal?: AbortSignal;
}

export interface RequestUriResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** the first maxResponseBytes of the body */
  body: Buffer;
}

/**
 * One HTTP exchange (e.g. a SOL005 notification POST or the subscription endpoint test GET) with
 * the same vetting as fetchUriToWritable: the host is resolved here, every address must be public
 * (or allowed), the connection is pinned to the vetted addresses. Redirects are not followed (a
 * 3xx is returned as the status): a notification is never re-sent to a second target. Any HTTP
 * status resolves; vetting, network failures and timeouts reject with FetchUriError.
 */
export async function requestUri(uri: string, options: RequestUriOptions): Promise<RequestUriResult> {
  const totalTimeoutMs = options.totalTimeoutMs ?? 15_000;
  const maxResponseBytes = options.maxResponseBytes ?? 64 * 1024;
  const policy = new TargetPolicy(options.allow ?? []);
  const url = parseHttpUri(uri, 'URI');
  const { credentials, secrets } = takeCredentials(url, options.auth);
  let hop: Hop | undefined;
  const latch = new FailureLatch(() => hop);
  const { failed } = latch;
  const fail = (err: Error) => latch.fail(err);
  const total = setTimeout(() => fail(new FetchUriError('TIMEOUT', `${options.method} ${redactUri(url)} did not complete within ${totalTimeoutMs} ms`)), totalTimeoutMs);
  const onAbort = () => fail(new FetchUriError('NETWORK', `${options.method} ${redactUri(url)} was cancelled`));
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const addresses = await Promise.race([resolveTarget(url, policy, options.lookup ?? defaultLookup), failed]);
    hop = request(url, addresses, credentials, { connectTimeoutMs: options.connectTimeoutMs ?? 5_000, idleTimeoutMs: options.idleTimeoutMs ?? 10_000, ca: options.ca }, {
      method: options.method, headers: options.headers, body: options.body,
    });
    const res = await Promise.race([hop.response, failed]);
    const chunks: Buffer[] = [];
    let kept = 0;
    const read = new Promise<void>((resolve, reject) => {
      res.on('data', (c: Buffer) => {
        if (kept < maxResponseBytes) {
          chunks.push(c.subarray(0, maxResponseBytes - kept));
          kept += Math.min(c.length, maxResponseBytes - kept);
        }
      });
      res.once('end', resolve);
      res.once('error', reject);
    });
    await Promise.race([read, failed]);
    if (latch.failure) throw latch.failure;
    return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
  } catch (e) {
    hop?.abort(latch.failure ?? (e as Error));
    if (latch.failure) throw latch.failure;
    if (e instanceof FetchUriError) throw new FetchUriError(e.code, scrub(e.message, secrets), e.status);
    const err = e as NodeJS.ErrnoException;
    throw new FetchUriError('NETWORK', scrub(`${options.method} ${redactUri(url)} failed: ${err.code ?? err.message}`, secrets));
  } finally {
    clearTimeout(total);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

function request(
  url: URL,
  addresses: readonly LookupAddress[],
  auth: BasicCredentials | undefined,
  opts: { connectTimeoutMs: number; idleTimeoutMs: number; ca: FetchUriOptions['ca'] },
  extra: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Hop {
  let abort: (err: Error) => void = () => {};
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { accept: '*/*', 'user-agent': extra.method ? 'depot' : 'depot-upload-from-uri' };
    for (const [k, v] of Object.entries(extra.headers ?? {})) headers[k.toLowerCase()] = v;
    if (extra.body !== undefined) headers['content-length'] = Buffer.byteLength(extra.body);
    if (auth) headers.authorization = `Basic ${Buffer.from(`${auth.userName ?? ''}:${auth.password ?? ''}`).toString('base64')}`;
    const isHttps = url.protocol === 'https:';
    const common: https.RequestOptions = {
      host: bareHost(url),
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      method: extra.method ?? 'GET',
      headers,
      agent: false, // no pooled socket may outlive the vetting of its hop
      lookup: pinnedLookup(addresses) as unknown as https.RequestOptions['lookup'],
    };
    const req = isHttps ? https.request({ ...common, ca: opts.ca }) : http.request(common);

    let received: http.IncomingMessage | undefined;
    abort = (err: Error) => {
      clearTimeout(connectTimer);
      req.destroy(err);
      received?.destroy(err);
    };
    const connectTimer = setTimeout(
      () => abort(new FetchUriError('TIMEOUT', `connection to ${redactUri(url)} not established within ${opts.connectTimeoutMs} ms`)),
      opts.connectTimeoutMs,
    );
    req.once('socket', (socket: Socket) => {
      socket.once(isHttps ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    });
    req.setTimeout(opts.idleTimeoutMs, () =>
      abort(new FetchUriError('TIMEOUT', `no data from ${redactUri(url)} for ${opts.idleTimeoutMs} ms`)),
    );
    // `on`, not `once`: a late second error (abort after failure) must not become an uncaught one.
    req.on('error', (e) => {
      clearTimeout(connectTimer);
      reject(e);
    });
    req.once('response', (res) => {
      clearTimeout(connectTimer);
      received = res;
      // body errors reach the caller through pipeline(); this only keeps aborts of an
      // already-abandoned response (redirect, non-2xx) from being uncaught
      res.on('error', () => {});
      resolve(res);
    });
    req.end(extra.body);
  });
  response.catch(() => {}); // may lose the race against `failed` and never be awaited
  return { response, abort: (err) => abort(err) };
}
