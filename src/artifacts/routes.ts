import Router from '@koa/router';
import type { Context } from 'koa';
import { readJson, rejectBody, requestBody } from '../http/body';
import { forbidden, invalidInput, notFound } from '../common/errors';
import { baseName, sendContent } from '../http/range';
import { publicLink } from '../http/settings';
import type { ArtifactEngine } from './engine';
import { etagOf } from './engine';
import { presentArtifacts, presentBlob } from './presenter';
import { typeSchema } from './schema';
import { ALL_TYPE } from './engine';

/** Glare-shaped generic API (ARCHITECTURE §3): /artifacts/{type}/..., /schemas, /quotas. */
export function artifactRoutes(engine: ArtifactEngine): Router {
  const r = new Router();
  const principal = (ctx: Context) => ctx.state.principal;

  const show = async (ctx: Context, record: Awaited<ReturnType<ArtifactEngine['get']>>) => {
    ctx.set('ETag', etagOf(record));
    ctx.body = (await presentArtifacts(engine, [record]))[0];
  };

  r.get('/schemas', (ctx) => {
    rejectBody(ctx);
    ctx.type = 'application/schema+json';
    ctx.body = { schemas: Object.fromEntries(engine.types.all().map((t) => [t.name, typeSchema(t)])) };
  });
  r.get('/schemas/:type', (ctx) => {
    rejectBody(ctx);
    ctx.type = 'application/schema+json';
    ctx.body = { schemas: { [ctx.params.type]: typeSchema(engine.type(ctx.params.type)) } };
  });

  r.get('/artifacts/:type', async (ctx) => {
    rejectBody(ctx);
    const type = ctx.params.type;
    if (type !== 'all') engine.type(type);
    const params = new URLSearchParams(ctx.querystring);
    const result = await engine.list(principal(ctx), type, params);
    params.delete('marker');
    params.delete('marker_keys');
    const base = `/artifacts/${type}`;
    const first = `${base}${params.size ? `?${params}` : ''}`;
    const body: Record<string, unknown> = {
      type_name: type === 'all' ? ALL_TYPE.name : type,
      artifacts: await presentArtifacts(engine, result.artifacts),
      first,
      schema: `/schemas/${type}`,
      total_count: result.total,
    };
    if (result.next) {
      // marker (Glare's: the last id) comes last; marker_keys is where the next page starts even
      // when that artifact is deleted meanwhile.
      params.set('marker_keys', result.nextKeys!);
      params.set('marker', result.next);
      body.next = `${base}?${params}`;
      ctx.append('Link', `<${publicLink(ctx, body.next as string)}>; rel="next"`);
    }
    ctx.body = body;
  });

  r.post('/artifacts/:type', async (ctx) => {
    if (ctx.params.type === 'all') throw forbidden('the all view is read-only');
    const body = await readJson(ctx, ['application/json']);
    const record = await engine.create(principal(ctx), ctx.params.type, body);
    ctx.status = 201;
    ctx.set('Location', `/artifacts/${record.type_name}/${record.id}`);
    await show(ctx, record);
  });

  r.get('/artifacts/:type/:id', async (ctx) => {
    rejectBody(ctx);
    if (ctx.params.type === 'all') {
      // An unknown (or malformed) id is 404 like on every other type, not 400.
      const valid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(ctx.params.id);
      const [row] = valid ? (await engine.list(principal(ctx), 'all', new URLSearchParams({ id: ctx.params.id, limit: '1' }))).artifacts : [];
      if (!row) throw notFound(`no artifact with id ${ctx.params.id}`);
      return show(ctx, row);
    }
    await show(ctx, await engine.get(principal(ctx), ctx.params.type, ctx.params.id));
  });

  r.patch('/artifacts/:type/:id', async (ctx) => {
    const body = await readJson(ctx, ['application/json-patch+json']);
    await show(ctx, await engine.update(principal(ctx), ctx.params.type, ctx.params.id, body, { ifMatch: ctx.get('If-Match') || undefined }));
  });

  r.delete('/artifacts/:type/:id', async (ctx) => {
    rejectBody(ctx);
    const force = ctx.query.force === 'true';
    await engine.delete(principal(ctx), ctx.params.type, ctx.params.id, { ifMatch: ctx.get('If-Match') || undefined, force });
    ctx.status = 204;
  });

  // Reverse lookup: who links to this artifact. Field names cannot contain '-', so no clash with blobs.
  r.get('/artifacts/:type/:id/linked-from', async (ctx) => {
    ctx.body = { linked_from: await engine.linkedFrom(principal(ctx), ctx.params.type, ctx.params.id) };
  });

  const blobPath = '/artifacts/:type/:id/:field{/*path}';
  const pathOf = (ctx: Context): string | undefined => {
    const p = ctx.params.path as unknown;
    const joined = Array.isArray(p) ? p.join('/') : (p as string | undefined);
    return joined === '' ? undefined : joined;
  };

  r.put(blobPath, async (ctx) => {
    const len = ctx.get('Content-Length');
    if (len && !/^\d+$/.test(len)) throw invalidInput('Content-Length must be a non-negative integer');
    const type = (ctx.get('Content-Type') || '').trim();
    if (!type) throw invalidInput('missing Content-Type (e.g. application/octet-stream)');
    const record = await engine.upload(principal(ctx), ctx.params.type, ctx.params.id, ctx.params.field, pathOf(ctx), requestBody(ctx), {
      contentType: type,
      contentLength: len ? Number(len) : undefined,
      ifMatch: ctx.get('If-Match') || undefined,
    });
    await show(ctx, record);
  });

  const download = async (ctx: Context) => {
    rejectBody(ctx);
    const path = pathOf(ctx);
    const type = engine.type(ctx.params.type);
    const def = type.fields[ctx.params.field];
    // A folder path that names a directory (or the folder itself) lists entries.
    if (def?.kind === 'folder' && (!path || ctx.path.endsWith('/'))) {
      const prefix = path ? `${path.replace(/\/$/, '')}/` : '';
      const rows = await engine.folder(principal(ctx), ctx.params.type, ctx.params.id, ctx.params.field, prefix);
      const base = `/artifacts/${type.name}/${ctx.params.id}/${ctx.params.field}`;
      ctx.body = { path: prefix, entries: rows.map((b) => ({ path: b.path, ...presentBlob(b, `${base}/${b.path.split('/').map(encodeURIComponent).join('/')}`) })) };
      return;
    }
    const c = await engine.blob(principal(ctx), ctx.params.type, ctx.params.id, ctx.params.field, path);
    const extra: Record<string, string> = {};
    if (c.blob.digests.md5) extra['Content-MD5'] = Buffer.from(c.blob.digests.md5, 'hex').toString('base64');
    if (c.blob.digests.sha512) extra['X-Checksum-Sha512'] = c.blob.digests.sha512;
    await sendContent(ctx, {
      size: c.size, sha256: c.blob.digests.sha256, contentType: c.blob.content_type, lastModified: new Date(c.blob.updated_at), fileName: baseName(path ?? ctx.params.field),
      extraHeaders: extra, open: c.open, files: c.files,
    });
  };
  r.get(blobPath, download);
  r.head(blobPath, download);

  r.delete(blobPath, async (ctx) => {
    await show(ctx, await engine.deleteBlob(principal(ctx), ctx.params.type, ctx.params.id, ctx.params.field, pathOf(ctx)));
  });

  r.get('/quotas/:project', async (ctx) => {
    const p = principal(ctx);
    if (!p.isAdmin && p.project !== ctx.params.project) throw forbidden('a project may only read its own quotas');
    const types = engine.types.names();
    const out: Record<string, unknown> = {};
    for (const t of types) out[t] = await engine.quotaFor(undefined, ctx.params.project, t);
    ctx.body = { project: ctx.params.project, quotas: out };
  });
  r.put('/quotas/:project', async (ctx) => {
    const body = await readJson(ctx, ['application/json']);
    if (!Array.isArray(body)) throw invalidInput('expected a JSON array of {type_name?, maxArtifacts?, maxBytes?}');
    for (const [i, q] of body.entries()) {
      if (!q || typeof q !== 'object') throw invalidInput(`[${i}]: expected an object`);
      if (q.type_name !== undefined && !engine.types.get(q.type_name)) throw invalidInput(`[${i}].type_name: unknown type ${q.type_name}`);
      for (const k of ['maxArtifacts', 'maxBytes']) {
        if (q[k] !== undefined && q[k] !== null && (!Number.isInteger(q[k]) || q[k] < -1)) throw invalidInput(`[${i}].${k}: expected an integer >= -1`);
      }
      for (const k of Object.keys(q)) if (!['type_name', 'maxArtifacts', 'maxBytes'].includes(k)) throw invalidInput(`[${i}]: unknown key ${k}`);
    }
    await engine.setQuotas(principal(ctx), ctx.params.project, body);
    ctx.status = 204;
  });
  return r;
}
