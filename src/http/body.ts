import type { Context } from 'koa';
import { badRequest, tooLarge, unsupportedMediaType } from './problem';

/**
 * Reads a small JSON body with a byte cap. Not a global body parser: upload routes stream their body
 * to a store, and a parser in front of them would buffer gigabytes.
 */
export async function readJson(ctx: Context, mediaTypes: string[], limit = 1 << 20): Promise<unknown> {
  const type = (ctx.get('Content-Type') || '').split(';')[0].trim().toLowerCase();
  if (!type) throw badRequest(`missing Content-Type (expected ${mediaTypes.join(' or ')})`);
  if (!mediaTypes.includes(type)) throw unsupportedMediaType(`Content-Type ${type} is not accepted here (expected ${mediaTypes.join(' or ')})`);
  const declared = Number(ctx.get('Content-Length') || 0);
  if (declared > limit) throw tooLarge(`request body over ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > limit) throw tooLarge(`request body over ${limit} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) throw badRequest('empty request body: a JSON document is expected');
  try {
    return JSON.parse(text);
  } catch (err: any) {
    throw badRequest(`malformed JSON: ${err.message}`);
  }
}

export function rejectBody(ctx: Context): void {
  const len = ctx.get('Content-Length');
  if ((len && len !== '0') || ctx.get('Transfer-Encoding')) throw badRequest('a body is not expected with this request');
}
