import type { Context } from 'koa';
import type { Readable } from 'node:stream';
import { describeStall, StallGuard, type StallPolicy } from '../common/stall-guard';
import { badRequest, HttpError, tooLarge, unsupportedMediaType } from './problem';
import { httpSettings } from './settings';

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;

/**
 * Where `text` first nests objects/arrays deeper than `max`, as "line L, column C", or undefined.
 * One loop over the text, no recursion: it runs before JSON.parse, so a document thousands of levels
 * deep never reaches code that walks it recursively (JSON.stringify, merge patch, the patch engine,
 * Ajv), whose stack it would overflow. Brackets inside strings do not count; malformed JSON is left
 * to the parser.
 */
export function jsonTooDeep(text: string, max: number): string | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > max) {
        let line = 1;
        let lineStart = 0;
        for (let j = 0; j < i; j++) if (text.charCodeAt(j) === NEWLINE) line++, (lineStart = j + 1);
        return `line ${line}, column ${i - lineStart + 1}`;
      }
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
  }
  return undefined;
}

/**
 * The request body as every route reads it: through a stall guard, so a client that sends a few
 * bytes and then nothing (or a byte every few seconds) ends the request instead of holding its
 * socket and its upload reservation. The guard fails the reader (the upload rolls back at once) and
 * leaves the connection up, so the client still gets its 408 ProblemDetails; the connection is
 * closed after that answer. A client that leaves ends the body with the error it left with.
 */
export function requestBody(ctx: Context): Readable {
  if (ctx.state.requestBody) return ctx.state.requestBody;
  const stalls = httpSettings(ctx).stalls ?? { requestBodySeconds: 30, minBytesPerSecond: 1024 };
  const policy: StallPolicy = { stallMs: stalls.requestBodySeconds * 1000, minBytesPerSecond: stalls.minBytesPerSecond };
  const req = ctx.req;
  const guard = new StallGuard(req, policy, (s) =>
    new HttpError('BODY_STALLED', `the request body stalled: ${describeStall(s)}; the request is ended (stalls.requestBodySeconds, stalls.minBytesPerSecond)`, { Connection: 'close' }));
  req.pipe(guard);
  req.once('error', (err) => guard.destroy(err));
  req.once('close', () => {
    if (!req.complete) guard.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
  });
  ctx.state.requestBody = guard;
  return guard;
}

/** After an error answer: the unread rest of the body is dropped, so it cannot hold the connection. */
export function dropBody(ctx: Context): void {
  const guard = ctx.state.requestBody as Readable | undefined;
  if (guard && !guard.destroyed && !guard.readableEnded) guard.resume();
  if (!ctx.req.readableEnded) ctx.req.resume();
}

/**
 * Reads a small JSON body with a byte cap. Not a global body parser: upload routes stream their body
 * to a store, and a parser in front of them would buffer gigabytes.
 */
export async function readJson(ctx: Context, mediaTypes: string[], limit = 1 << 20): Promise<unknown> {
  const text = await readText(ctx, mediaTypes, limit);
  if (!text.trim()) throw badRequest('empty request body: a JSON document is expected');
  const max = httpSettings(ctx).http.maxJsonDepth;
  const at = jsonTooDeep(text, max);
  if (at) throw badRequest(`request body: JSON nested deeper than ${max} levels (http.maxJsonDepth) at ${at}`);
  try {
    return JSON.parse(text);
  } catch (err: any) {
    throw badRequest(`malformed JSON: ${err.message}`);
  }
}

/** A small text body of one of `mediaTypes` (e.g. a form), read whole with a byte cap. */
export async function readText(ctx: Context, mediaTypes: string[], limit: number): Promise<string> {
  const type = (ctx.get('Content-Type') || '').split(';')[0].trim().toLowerCase();
  if (!type) throw badRequest(`missing Content-Type (expected ${mediaTypes.join(' or ')})`);
  if (!mediaTypes.includes(type)) throw unsupportedMediaType(`Content-Type ${type} is not accepted here (expected ${mediaTypes.join(' or ')})`);
  const declared = Number(ctx.get('Content-Length') || 0);
  if (declared > limit) throw tooLarge(`request body over ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of requestBody(ctx)) {
    size += chunk.length;
    if (size > limit) throw tooLarge(`request body over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function rejectBody(ctx: Context): void {
  const len = ctx.get('Content-Length');
  if ((len && len !== '0') || ctx.get('Transfer-Encoding')) throw badRequest('a body is not expected with this request');
}
