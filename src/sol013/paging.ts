import { createHmac, timingSafeEqual } from 'node:crypto';
import { Sol013Error } from './errors';

/*
 * Paging, ETSI GS NFV-SOL 013 clause 5.4 (alternative 2): the NFVO returns one page and a
 * `Link: <...?nextpage_opaque_marker=...>; rel="next"` header. The marker is opaque to the consumer
 * but we must not trust it: it is base64url(JSON cursor) signed with an HMAC, so an edited or
 * foreign marker is a 400 rather than an arbitrary cursor (e.g. one skipping an authorisation
 * predicate the cursor encodes).
 */

export const NEXTPAGE_PARAM = 'nextpage_opaque_marker';

interface Envelope {
  v: 1;
  /** issued at, ms since epoch; lets the caller expire markers */
  t: number;
  c: unknown;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function sign(secret: string | Buffer, body: string): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}

export function encodeNextpageMarker(cursor: unknown, secret: string | Buffer, now = Date.now()): string {
  const envelope: Envelope = { v: 1, t: now, c: cursor };
  const body = Buffer.from(JSON.stringify(envelope)).toString('base64url');
  return `${body}.${sign(secret, body).toString('base64url')}`;
}

export interface DecodeMarkerOptions {
  /** markers older than this are rejected (400) */
  maxAgeMs?: number;
  now?: number;
}

export function decodeNextpageMarker<T = unknown>(
  marker: string,
  secret: string | Buffer,
  options: DecodeMarkerOptions = {},
): T {
  const invalid = (why: string) => new Sol013Error(`${NEXTPAGE_PARAM}: ${why}`);
  const parts = typeof marker === 'string' ? marker.split('.') : [];
  if (parts.length !== 2 || !B64URL.test(parts[0]) || !B64URL.test(parts[1])) throw invalid('malformed marker');
  const [body, mac] = parts;
  const expected = sign(secret, body);
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid('marker is not valid for this server');
  let envelope: Envelope;
  try {
    envelope = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Envelope;
  } catch {
    throw invalid('malformed marker');
  }
  if (envelope === null || typeof envelope !== 'object' || envelope.v !== 1 || typeof envelope.t !== 'number') {
    throw invalid('unsupported marker version');
  }
  if (options.maxAgeMs !== undefined && (options.now ?? Date.now()) - envelope.t > options.maxAgeMs) {
    throw invalid('marker has expired');
  }
  return envelope.c as T;
}

/**
 * Value of the `Link` header pointing at the next page: `<url>; rel="next"`.
 * `requestUrl` is the URI of the request, absolute or relative (a path and query, RFC 8288 resolves
 * it against the request's URI); the link is of the same kind. Filter and selector parameters are
 * kept verbatim, any previous marker is replaced. The existing query string is not re-serialised on
 * purpose: URLSearchParams would rewrite e.g. "%20" into "+", which a SOL013 filter value must not see.
 */
export function linkHeader(requestUrl: string, marker: string): string {
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(requestUrl);
  const url = new URL(requestUrl, 'http://relative.invalid');
  const kept = url.search
    .replace(/^\?/, '')
    .split('&')
    .filter((pair) => pair !== '' && pair.split('=')[0] !== NEXTPAGE_PARAM);
  kept.push(`${NEXTPAGE_PARAM}=${encodeURIComponent(marker)}`);
  url.search = `?${kept.join('&')}`;
  url.hash = '';
  return `<${absolute ? url.href : `${url.pathname}${url.search}`}>; rel="next"`;
}
