import type { Context, Next } from 'koa';
import type { Readable } from 'node:stream';
import Busboy from '@fastify/busboy';
import yazl from 'yazl';
import type { ArtifactEngine, BlobContent } from '../artifacts/engine';
import { isPageCursor, type PageCursor } from '../artifacts/query';
import type { ArtifactRecord } from '../artifacts/types';
import { invalidInput } from '../common/errors';
import type { Principal } from '../common/principal';
import {
  applySelectors, compileFilter, decodeNextpageMarker, encodeNextpageMarker, linkHeader, parseFilter, parseSelectors,
  type AttributeDeclaration, type FilterAst,
} from '../sol013';
import { requestBody } from './body';
import { badRequest, notAcceptable } from './problem';
import { contentDisposition } from './range';
import { publicLink } from './settings';
import { sol013 } from './sol013';

/*
 * HTTP details shared by the SOL005 APIs (VNF package management, NSD management): the SOL013
 * Version header, the listing of a package collection (filter, selectors, paging), content
 * negotiation of package downloads, package upload bodies, ZIP answers, 202 answers and JSON
 * Merge Patch. Subscriptions: ./sol005-subscriptions.ts.
 */

/**
 * SOL013 `Version` header for everything under /{apiName}/v{major}: every response says which version
 * served it; a request for another major (or a newer minor) is 406; none is fine (python-tackerclient
 * and the TST010 v2.6.1 robot tests send none).
 */
/** A representation without its absent (undefined) attributes: SOL005 omits them rather than sending null. */
export function withoutUndefined<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

export function versionHeader(apiName: string, major: number, version: string) {
  const [served, servedMinor] = version.split('.').map(Number);
  return async (ctx: Context, next: Next) => {
    ctx.set('Version', version);
    const asked = ctx.get('Version');
    if (asked) {
      const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(asked.trim());
      if (!m) throw invalidInput(`Version header ${JSON.stringify(asked)} is not MAJOR.MINOR.PATCH`);
      if (Number(m[1]) !== served || Number(m[2]) > servedMinor) throw notAcceptable(`API version ${asked} is not served under /${apiName}/v${major} (it serves ${version})`);
    }
    await next();
  };
}

/** Which of `types` the request's Accept allows, in that order. */
export function acceptable(ctx: Context, ...types: string[]): string[] {
  const accept = ctx.get('Accept');
  if (!accept) return types;
  // python-tackerclient's HTTPClient (endpoint_url + token) sends `Accept: application/json` on every
  // request, the VNFD/manifest download included (it drops the Accept it computed). JSON is never
  // an answer here, so such an Accept is read as "no preference" rather than a 406 that makes
  // `download_vnfd_from_vnf_package` unusable. Any Accept naming a real alternative is honoured.
  if (/^\s*application\/json\s*(;[^,]*)?$/i.test(accept)) return types;
  return types.filter((t) => ctx.accepts(t));
}

/** Whether a request body starts with a ZIP signature (local header or empty archive); it stays unread. */
export function startsWithZip(req: Readable): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let seen = Buffer.alloc(0);
    const onReadable = () => {
      let chunk: Buffer | null;
      while (seen.length < 4 && (chunk = req.read() as Buffer | null) !== null) seen = Buffer.concat([seen, chunk]);
      if (seen.length >= 4) done();
    };
    const done = () => {
      req.off('readable', onReadable).off('end', done).off('error', reject);
      if (seen.length) req.unshift(seen);
      resolve(seen.length >= 4 && seen[0] === 0x50 && seen[1] === 0x4b && ((seen[2] === 3 && seen[3] === 4) || (seen[2] === 5 && seen[3] === 6)));
    };
    req.on('readable', onReadable).once('end', done).once('error', reject);
  });
}

/**
 * 202 with the empty body SOL005 specifies for package uploads. A bare `ctx.status = 202` made Koa
 * answer "Accepted" as text/plain (found by test/vnf-package/sol005-api.test.ts).
 */
export function accepted(ctx: Context): void {
  ctx.status = 202;
  ctx.body = '';
  ctx.remove('Content-Type');
}

/** RFC 7396 JSON Merge Patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** The `file` part of a multipart/form-data upload (the form the ETSI OpenAPI and Tacker use). */
export function multipartFile(ctx: Context): Promise<Readable> {
  return new Promise((resolve, reject) => {
    let bb;
    try {
      bb = Busboy({ headers: ctx.req.headers as any, limits: { files: 1, fields: 20, fieldSize: 1 << 16 } });
    } catch (e: any) {
      return reject(badRequest(`multipart body: ${e.message}`));
    }
    let found = false;
    bb.on('file', (field: string, stream: Readable) => {
      if (found) return stream.resume();
      found = true;
      void field;
      resolve(stream);
    });
    bb.on('error', (e: Error) => reject(badRequest(`multipart body: ${e.message}`)));
    bb.on('finish', () => {
      if (!found) reject(badRequest('multipart body has no file part (send the CSAR as the "file" part)'));
    });
    // A body that stalls or is cut short fails the file stream too (pipe() would leave it waiting).
    const source = requestBody(ctx);
    let file: Readable | undefined;
    source.once('error', (e) => (file ? file.destroy(e) : reject(e)));
    bb.on('file', (_field: string, stream: Readable) => (file ??= stream));
    source.pipe(bb);
  });
}

const PAGE_SIZE = 100;

export interface PackageListing {
  engine: ArtifactEngine;
  typeName: string;
  /** what one is called in messages ("VNF package") */
  label: string;
  /** the representation of one item (it may depend on the request, e.g. the URI it was asked under) */
  present(a: ArtifactRecord, ctx: Context): Record<string, unknown>;
  /** generic-API conditions every listed artifact meets (e.g. `{ onboardingState: 'eq:ONBOARDED' }`) */
  where?: Record<string, string>;
  markerKey: Promise<Buffer>;
  /** the representation's attributes (SOL013 filters and selectors) */
  attributes: AttributeDeclaration;
  filterSchema: Parameters<typeof compileFilter>[1];
  defaultExcluded: readonly string[][];
  mandatory: readonly string[][];
}

/**
 * GET of a SOL005 package collection (VnfPkgInfo, NsdInfo, PnfdInfo): the SOL013 filter (and the
 * legacy `?attribute=value` form TST010 v2.6.1 uses, on top-level attributes), attribute selectors
 * and paging (a signed marker holding the position after the last item shown, so a page starts
 * there even if that item is deleted meanwhile). Filters apply to the representation, so the
 * artifacts are read in keyset batches and filtered in memory.
 */
export async function listPackages(ctx: Context, o: PackageListing): Promise<void> {
  const q = ctx.query as Record<string, string | string[] | undefined>;
  const knownPath = (path: readonly string[]) => {
    let decl: any = o.attributes;
    for (const seg of path) {
      if (Array.isArray(decl)) decl = decl[0];
      if (!decl || typeof decl !== 'object') return false;
      decl = seg in decl ? decl[seg] : decl['*'];
      if (decl === undefined) return false;
    }
    return true;
  };
  const selector = sol013(() => parseSelectors(q, { mandatory: o.mandatory, knownPaths: knownPath }));
  let ast: FilterAst = [];
  if (q.filter !== undefined) {
    if (Array.isArray(q.filter)) throw badRequest('filter: give the parameter once (terms are separated by ";")');
    ast = sol013(() => parseFilter(q.filter as string));
  }
  const topLevel = new Set(Object.keys(o.attributes));
  for (const [k, v] of Object.entries(q)) {
    if (['filter', 'all_fields', 'fields', 'exclude_fields', 'exclude_default', 'nextpage_opaque_marker'].includes(k)) continue;
    if (!topLevel.has(k)) throw badRequest(`unknown query parameter '${k}'`);
    ast.push((Array.isArray(v) ? { op: 'in', path: [k], values: v, position: 0 } : { op: 'eq', path: [k], values: [v], position: 0 }) as any);
  }
  const match = sol013(() => compileFilter(ast, o.filterSchema));
  const markerSecret = await o.markerKey;
  let after: PageCursor | undefined;
  if (q.nextpage_opaque_marker !== undefined) {
    const c = sol013(() => decodeNextpageMarker<{ after?: unknown }>(String(q.nextpage_opaque_marker), markerSecret))?.after;
    if (!isPageCursor(c)) throw badRequest(`nextpage_opaque_marker is not a ${o.label} page marker`);
    after = c;
  }
  const page: Record<string, unknown>[] = [];
  let last: PageCursor | undefined;
  let more = false;
  for await (const { a, cursor } of allOfType(o.engine, ctx.state.principal, o.typeName, after, o.where)) {
    const info = o.present(a, ctx);
    if (!match(info)) continue;
    if (page.length === PAGE_SIZE) {
      more = true;
      break;
    }
    page.push(applySelectors(info, selector, o.defaultExcluded, { mandatory: o.mandatory }));
    last = cursor;
  }
  if (more && last) ctx.set('Link', linkHeader(publicLink(ctx, ctx.originalUrl), encodeNextpageMarker({ after: last }, markerSecret)));
  ctx.body = page;
}

/** The artifacts of a type the principal sees, oldest first, from after `after`, each with the position after it. */
async function* allOfType(engine: ArtifactEngine, p: Principal, typeName: string, after?: PageCursor, where: Record<string, string> = {}): AsyncIterable<{ a: ArtifactRecord; cursor: PageCursor }> {
  for (;;) {
    const page = await engine.list(p, typeName, new URLSearchParams({ limit: '1000', sort: 'created_at:asc', ...where }), { after });
    for (const [i, a] of page.artifacts.entries()) yield { a, cursor: page.cursors[i] };
    if (!page.next) return;
    after = page.cursors[page.cursors.length - 1];
  }
}

/**
 * The body of a package upload when it is a ZIP: application/zip (and its aliases), the `file`
 * part of multipart/form-data, or a body labelled application/json that starts with a ZIP
 * signature. Undefined for any other type: the route says what it takes.
 */
export async function zipUploadBody(ctx: Context, type: string): Promise<{ body: Readable; length?: number } | undefined> {
  if (type === 'multipart/form-data') return { body: await multipartFile(ctx) };
  if (type === 'application/zip' || type === 'application/octet-stream' || type === 'application/x-zip-compressed' || (type === 'application/json' && (await startsWithZip(requestBody(ctx))))) {
    // python-tackerclient's HTTPClient (endpoint_url + token, no Keystone session) loses the
    // content type on its way to `requests` and labels every body application/json, the CSAR
    // too; a body that starts with a ZIP signature is the package whatever its label says.
    // Tacker itself never looks at the Content-Type of this PUT.
    // (Callers that send sane types are not affected: JSON never starts with "PK".)
    const len = ctx.get('Content-Length');
    if (len && !/^\d+$/.test(len)) throw badRequest('Content-Length must be a non-negative integer');
    return { body: requestBody(ctx), length: len ? Number(len) : undefined };
  }
  return undefined;
}

/** Answers a ZIP of these files, built while it is sent. */
export function zipOf(ctx: Context, files: BlobContent[], name: string): void {
  const zip = new yazl.ZipFile();
  for (const c of files) {
    zip.addReadStreamLazy(c.blob.path, { size: c.size }, (cb) => c.open().then((s) => cb(null, s), (e) => cb(e, undefined as any)));
  }
  zip.end();
  ctx.type = 'application/zip';
  ctx.set('Content-Disposition', contentDisposition('application/zip', name));
  ctx.body = zip.outputStream;
}
