import type { Context } from 'koa';
import type { ByteRange, FileSpan } from '../storage/blob-store';
import { HttpError } from './problem';
import { sendFileSpans } from './send-files';

/**
 * Sends stored content with HTTP semantics (RFC 9110): ETag from the SHA-256, conditional GET,
 * single Range (206/416; multi-range answers the whole content, which RFC 9110 allows), If-Range, HEAD.
 */
export interface Sendable {
  size: number;
  sha256?: string;
  contentType?: string | null;
  lastModified?: Date;
  fileName?: string;
  extraHeaders?: Record<string, string>;
  open(range?: ByteRange): Promise<NodeJS.ReadableStream>;
  /** The same bytes as local file spans, when the store has them as files: sent without a stream. */
  files?(range?: ByteRange): FileSpan[] | undefined;
}

export function parseRange(header: string, size: number): ByteRange | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // not a single byte range: ignore it
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(size - suffix, 0);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

export async function sendContent(ctx: Context, c: Sendable): Promise<void> {
  const etag = c.sha256 ? `"${c.sha256}"` : undefined;
  ctx.set('Accept-Ranges', 'bytes');
  if (etag) {
    ctx.set('ETag', etag);
    ctx.set('Digest', `sha-256=${Buffer.from(c.sha256!, 'hex').toString('base64')}`);
    ctx.set('X-Checksum-Sha256', c.sha256!);
  }
  for (const [k, v] of Object.entries(c.extraHeaders ?? {})) ctx.set(k, v);
  if (c.lastModified) ctx.set('Last-Modified', c.lastModified.toUTCString());
  if (c.fileName) ctx.set('Content-Disposition', `attachment; filename="${c.fileName.replace(/["\\\r\n]/g, '_')}"`);
  // Exactly the stored type: Koa's ctx.type would add '; charset=utf-8' to text types.
  ctx.set('Content-Type', c.contentType || 'application/octet-stream');

  const inm = ctx.get('If-None-Match');
  if (etag && inm && inm.split(',').map((s) => s.trim().replace(/^W\//, '')).some((s) => s === etag || s === '*')) {
    ctx.status = 304;
    return;
  }
  let range: ByteRange | undefined;
  const rangeHeader = ctx.get('Range');
  const ifRange = ctx.get('If-Range');
  if (rangeHeader && (!ifRange || (etag && ifRange.trim() === etag))) {
    const r = parseRange(rangeHeader, c.size);
    if (r === 'unsatisfiable') {
      throw new HttpError('RANGE_NOT_SATISFIABLE', `range ${rangeHeader} is outside the ${c.size} bytes of the content`, { 'Content-Range': `bytes */${c.size}` });
    }
    range = r;
  }
  if (range) {
    ctx.status = 206;
    ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${c.size}`);
    ctx.length = range.end - range.start + 1;
  } else {
    ctx.status = 200;
    ctx.length = c.size;
  }
  if (ctx.method === 'HEAD') return;
  if (c.size === 0) {
    ctx.body = '';
    return;
  }
  const files = c.files?.(range);
  if (files) {
    ctx.respond = false;
    try {
      await sendFileSpans(ctx.res, files);
    } catch (err) {
      ctx.respond = true;
      throw err;
    }
    return;
  }
  ctx.body = await c.open(range);
}
