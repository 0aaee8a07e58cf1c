import Router from '@koa/router';
import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';
import type { ArtifactEngine, BlobRow } from '../../../artifacts/engine';
import type { ArtifactRecord } from '../../../artifacts/types';
import { DomainError, forbidden, invalidInput, isDomainError, notFound } from '../../../common/errors';
import type { Principal } from '../../../common/principal';
import { readJson, rejectBody, requestBody } from '../../../http/body';
import { HttpError } from '../../../http/problem';
import { sendContent } from '../../../http/range';
import { publicLink } from '../../../http/settings';
import { glanceTime, imageOfArtifact, presentImage, statusOf } from './image';
import { depotListParams, parseImageQuery } from './list';
import { amendmentOf, PATCH_MEDIA_TYPES, readPatch } from './patch';
import { imageSchema, imagesSchema, memberSchema, membersSchema } from './schemas';
import { versionsDocument } from './versions';

const TYPE = 'images';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Failures after which an image is still `queued` (nothing was stored); any other failed upload kills it, as in Glance. */
const UPLOAD_RETRYABLE = new Set(['UPLOAD_IN_PROGRESS', 'TOO_LARGE', 'STORAGE_QUOTA_EXCEEDED', 'FORBIDDEN', 'LIFECYCLE_RULE', 'NOT_FOUND', 'LIFECYCLE_CONFLICT']);

const conflict = (detail: string) => new DomainError('LIFECYCLE_CONFLICT', detail);

/**
 * The OpenStack Image API v2 over the `images` type, under /image (where devstack publishes Glance):
 * the same artifacts as /artifacts/images, through the engine's operations. Shapes, status codes and
 * dialects follow Glance as python-glanceclient, openstacksdk, Nova and Cinder use it.
 */
export function imageApiRoutes(engine: ArtifactEngine): Router {
  const r = new Router({ prefix: '/image' });
  const principal = (ctx: Context): Principal => ctx.state.principal;

  r.use(async (ctx, next) => {
    ctx.set('X-Openstack-Request-Id', `req-${ctx.state.requestId ?? randomUUID()}`);
    await next();
  });

  /** The engine's 404 for an image that is not there (or not visible) in Glance's words. */
  const noImage = (id: string) => (e: unknown): never => {
    throw isDomainError(e, 'NOT_FOUND') && /artifact with id/.test(e.detail) ? notFound(`No image found with ID ${id}`) : e;
  };
  const get = (p: Principal, id: string) => engine.get(p, TYPE, id).catch(noImage(id));
  const amend = (p: Principal, id: string, fn: Parameters<ArtifactEngine['amend']>[3], opts?: Parameters<ArtifactEngine['amend']>[4]) =>
    engine.amend(p, TYPE, id, fn, opts).catch(noImage(id));
  /** A visible image with its `image` blob row (whatever its state). */
  const load = async (p: Principal, id: string): Promise<{ a: ArtifactRecord; blob: BlobRow | undefined }> => {
    const a = await get(p, id);
    const { blobs } = await engine.blobSummary([a.id]);
    return { a, blob: blobs.find((b) => b.field === 'image') };
  };
  const present = async (records: ArtifactRecord[]) => {
    const { blobs } = await engine.blobSummary(records.map((a) => a.id));
    return records.map((a) => presentImage(imageOfArtifact(a, blobs.find((b) => b.artifact_id === a.id && b.field === 'image'))));
  };
  /**
   * An image another artifact brings with it (a VNF package's software image) is read-only: Glance's
   * 403 for what may not change. The engine refuses every change of it too, whichever API asks.
   */
  const readOnly = (a: ArtifactRecord) => {
    if (a.derived_from) throw forbidden(`Image ${a.id} is a software image of artifact ${a.derived_from} (a VNF package): it is read-only and changes only with the package.`);
  };
  const show = async (ctx: Context, a: ArtifactRecord) => {
    ctx.body = (await present([a]))[0];
  };

  // ── versions ─────────────────────────────────────────────────────────────────────────────────
  const versions = (status: number) => (ctx: Context) => {
    rejectBody(ctx);
    ctx.status = status;
    ctx.body = versionsDocument(publicLink(ctx, '/image/v2/'));
  };
  r.get('/', versions(300));
  r.get('/versions', versions(200));
  r.get('/v2', versions(200));
  r.get('/v2/', versions(200));

  // ── schemas and discovery ────────────────────────────────────────────────────────────────────
  const schemas: Record<string, () => Record<string, unknown>> = { image: imageSchema, images: imagesSchema, member: memberSchema, members: membersSchema };
  r.get('/v2/schemas/:name', (ctx) => {
    const s = schemas[ctx.params.name];
    if (!s) throw notFound(`no schema ${ctx.params.name}`);
    ctx.body = s();
  });
  r.get('/v2/info/import', (ctx) => {
    ctx.body = { 'import-methods': { description: 'Import methods available.', type: 'array', value: [] } };
  });
  r.get('/v2/info/stores', () => {
    throw notFound('Multi backend is not supported at this site.');
  });

  // ── images ───────────────────────────────────────────────────────────────────────────────────
  r.get('/v2/images', async (ctx) => {
    rejectBody(ctx);
    const p = principal(ctx);
    const params = new URLSearchParams(ctx.querystring);
    const q = parseImageQuery(params);
    let result;
    try {
      result = await engine.list(p, TYPE, depotListParams(q, p));
    } catch (e) {
      if (q.marker !== undefined && isDomainError(e, 'NOT_FOUND')) throw invalidInput(`marker ${q.marker} could not be found`);
      throw e;
    }
    params.delete('marker');
    const first = `/v2/images${params.size ? `?${params}` : ''}`;
    const body: Record<string, unknown> = { images: await present(result.artifacts), first, schema: '/v2/schemas/images' };
    if (result.next) {
      params.set('marker', result.next);
      body.next = `/v2/images?${params}`;
    }
    ctx.body = body;
  });

  r.post('/v2/images', async (ctx) => {
    const p = principal(ctx);
    const body = await readJson(ctx, ['application/json']);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidInput('the request body must be a JSON object of image properties');
    const { id: given, ...props } = body as Record<string, unknown>;
    if (given !== undefined && (typeof given !== 'string' || !UUID.test(given))) throw invalidInput('id must be a UUID');
    const id = (given as string | undefined) ?? randomUUID();
    if (props.owner !== undefined && props.owner !== null && props.owner !== p.project) throw forbidden('an image is created in the project of the token: owner cannot name another');
    delete props.owner;
    const blank: ArtifactRecord = {
      id, type_name: TYPE, owner: p.project, name: id, version: '0.0.0', status: 'drafted', visibility: 'private', description: '', tags: [],
      metadata: {}, fields: { image_visibility: 'shared' }, shared_with: [], revision: 0, created_at: new Date(), updated_at: new Date(), activated_at: null,
    };
    const c = amendmentOf(blank, Object.entries(props).map(([name, value]) => ({ op: 'add' as const, name, value })), true);
    if (c.visibility === 'public' && !p.isAdmin) throw forbidden('only an admin may create a public or community image (Depot publishes with an admin)');
    // Image API names are not unique: the version (a pre-release named after the id) keeps each
    // image apart under the generic API's unique (name, version).
    let a = await engine.create(p, TYPE, { name: c.name, version: `0.0.0-${id}`, description: c.description, tags: c.tags, ...c.fields }, { id });
    if (c.visibility === 'public') a = await amend(p, id, () => ({ visibility: 'public' }));
    ctx.status = 201;
    ctx.set('Location', publicLink(ctx, `/image/v2/images/${id}`));
    await show(ctx, a);
  });

  r.get('/v2/images/:id', async (ctx) => {
    rejectBody(ctx);
    await show(ctx, await get(principal(ctx), ctx.params.id));
  });

  r.patch('/v2/images/:id', async (ctx) => {
    const type = (ctx.get('Content-Type') || '').split(';')[0].trim().toLowerCase();
    if (!PATCH_MEDIA_TYPES.includes(type)) {
      throw new HttpError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${type || '(none)'} is not a patch this API reads (use ${PATCH_MEDIA_TYPES[0]})`, { 'Accept-Patch': PATCH_MEDIA_TYPES.join(', ') });
    }
    const ops = readPatch(await readJson(ctx, PATCH_MEDIA_TYPES), type);
    const p = principal(ctx);
    const { a, blob } = await load(p, ctx.params.id);
    readOnly(a);
    const queued = statusOf(a, blob) === 'queued';
    await show(ctx, await amend(p, a.id, (cur) => amendmentOf(cur, ops, queued)));
  });

  r.delete('/v2/images/:id', async (ctx) => {
    rejectBody(ctx);
    const p = principal(ctx);
    const a = await get(p, ctx.params.id);
    readOnly(a);
    if (a.fields.protected === true) throw forbidden(`Image ${a.id} is protected and cannot be deleted.`);
    await engine.delete(p, TYPE, a.id);
    ctx.status = 204;
  });

  // ── data ─────────────────────────────────────────────────────────────────────────────────────
  r.put('/v2/images/:id/file', async (ctx) => {
    const type = (ctx.get('Content-Type') || '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/octet-stream') throw new HttpError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${type || '(none)'} is not accepted: image data is application/octet-stream`);
    const p = principal(ctx);
    const { a, blob } = await load(p, ctx.params.id);
    readOnly(a);
    if (!engine.canWrite(p, a)) throw forbidden(`project '${p.project}' may not upload data to this image`);
    const status = statusOf(a, blob);
    if (status !== 'queued') throw conflict(`Image status transition from ${status} to saving is not allowed`);
    const missing = ['disk_format', 'container_format'].filter((f) => a.fields[f] === null || a.fields[f] === undefined);
    if (missing.length) throw invalidInput(`Properties ${missing.join(', ')} must be set prior to saving data.`);
    const length = sizeHeader(ctx, 'Content-Length');
    const announced = sizeHeader(ctx, 'x-openstack-image-size');
    if (length !== undefined && announced !== undefined && length !== announced) throw invalidInput(`x-openstack-image-size ${announced} differs from Content-Length ${length}`);
    try {
      await engine.upload(p, TYPE, a.id, 'image', undefined, requestBody(ctx), { contentType: 'application/octet-stream', contentLength: length ?? announced });
    } catch (err) {
      if (!(err instanceof DomainError && UPLOAD_RETRYABLE.has(err.code))) {
        await engine.setSystemFields(a.id, { killed: true }).catch(() => undefined);
      }
      throw err;
    }
    // queued → saving → active: the image is active once its data is stored, as in Glance.
    await engine.transaction(async (t) => {
      const cur = await engine.load(a.id, t);
      if (!cur) throw notFound(`no image with id ${a.id}`);
      const b = await engine.storedBlob(a.id, 'image', '', t);
      if (!b) throw conflict('the image data was removed while it was being activated');
      await engine.activate(t, cur, { fields: { size: Number(b.size), checksum: b.digests.md5 ?? null, os_hash_value: b.digests.sha512 ?? null, killed: false } });
    });
    ctx.status = 204;
  });

  const download = async (ctx: Context) => {
    rejectBody(ctx);
    const p = principal(ctx);
    const { a, blob } = await load(p, ctx.params.id);
    if (a.status === 'deactivated' && !p.isAdmin) throw forbidden('The requested image has been deactivated. Image data download is prohibited.');
    if (!blob || blob.status !== 'active' || !blob.content_key) {
      ctx.status = 204;
      return;
    }
    const c = await engine.blob(p, TYPE, a.id, 'image', undefined);
    const extra: Record<string, string> = {};
    // Hex, not RFC 1864's base64: glanceclient and openstacksdk compare it with a hexdigest.
    if (c.blob.digests.md5) extra['Content-MD5'] = c.blob.digests.md5;
    await sendContent(ctx, {
      size: c.size, sha256: c.blob.digests.sha256, contentType: 'application/octet-stream', lastModified: new Date(c.blob.updated_at),
      fileName: a.id, extraHeaders: extra, open: c.open, files: c.files,
    });
  };
  r.get('/v2/images/:id/file', download);
  r.head('/v2/images/:id/file', download);

  // ── actions ──────────────────────────────────────────────────────────────────────────────────
  const action = (to: 'deactivated' | 'active') => async (ctx: Context) => {
    const p = principal(ctx);
    const a = await engine.getWritable(p, TYPE, ctx.params.id).catch(noImage(ctx.params.id));
    if (a.status === to) {
      ctx.status = 204;
      return;
    }
    const from = to === 'deactivated' ? 'active' : 'deactivated';
    if (a.status !== from) throw forbidden(`Not allowed to ${to === 'active' ? 'reactivate' : 'deactivate'} an image in status '${statusOf(a, undefined)}'`);
    await engine.transaction(async (t) => {
      const cur = await engine.load(a.id, t);
      if (!cur || cur.status !== from) throw conflict('the image changed status meanwhile; retry');
      await (to === 'active' ? engine.activate(t, cur) : engine.deactivate(t, cur));
    });
    ctx.status = 204;
  };
  r.post('/v2/images/:id/actions/deactivate', action('deactivated'));
  r.post('/v2/images/:id/actions/reactivate', action('active'));

  // ── tags ─────────────────────────────────────────────────────────────────────────────────────
  r.put('/v2/images/:id/tags/:tag', async (ctx) => {
    const tag = ctx.params.tag;
    if (!tag || tag.length > 255) throw invalidInput('a tag has 1 to 255 characters');
    await amend(principal(ctx), ctx.params.id, (a) => (a.tags.includes(tag) ? undefined : { tags: [...a.tags, tag] }));
    ctx.status = 204;
  });
  r.delete('/v2/images/:id/tags/:tag', async (ctx) => {
    const tag = ctx.params.tag;
    await amend(principal(ctx), ctx.params.id, (a) => {
      if (!a.tags.includes(tag)) throw notFound(`Tag ${tag} not found`);
      return { tags: a.tags.filter((t) => t !== tag) };
    });
    ctx.status = 204;
  });

  // ── members ──────────────────────────────────────────────────────────────────────────────────
  const membersOf = (a: ArtifactRecord) => (a.fields.members as Record<string, string> | null) ?? {};
  const sharedOnly = (a: ArtifactRecord) => {
    if (imageOfArtifact(a, undefined).visibility !== 'shared') throw forbidden('Only shared images have members.');
  };
  const presentMember = (a: ArtifactRecord, member: string, status: string) => ({
    created_at: glanceTime(a.created_at), updated_at: glanceTime(a.updated_at), image_id: a.id, member_id: member, schema: '/v2/schemas/member', status,
  });

  r.get('/v2/images/:id/members', async (ctx) => {
    const p = principal(ctx);
    const a = await get(p, ctx.params.id);
    sharedOnly(a);
    // A member sees its own membership only; the owner (and an admin) every one.
    const all = Object.entries(membersOf(a)).filter(([m]) => p.isAdmin || a.owner === p.project || m === p.project);
    ctx.body = { members: all.map(([m, s]) => presentMember(a, m, s)), schema: '/v2/schemas/members' };
  });

  r.post('/v2/images/:id/members', async (ctx) => {
    const body = (await readJson(ctx, ['application/json'])) as { member?: unknown } | null;
    const member = body?.member;
    if (typeof member !== 'string' || !member || member.length > 255) throw invalidInput('member must be a project id');
    const a = await amend(principal(ctx), ctx.params.id, (cur) => {
      sharedOnly(cur);
      const members = membersOf(cur);
      if (member in members) throw new DomainError('UNIQUE_VIOLATION', `Member ${member} already exists for this image.`);
      return { fields: { members: { ...members, [member]: 'pending' } }, shared_with: [...new Set([...cur.shared_with, member])].sort() };
    });
    ctx.body = presentMember(a, member, 'pending');
  });

  r.get('/v2/images/:id/members/:member', async (ctx) => {
    const p = principal(ctx);
    const a = await get(p, ctx.params.id);
    sharedOnly(a);
    const status = membersOf(a)[ctx.params.member];
    if (!status || !(p.isAdmin || a.owner === p.project || ctx.params.member === p.project)) throw notFound(`no member ${ctx.params.member} of image ${a.id}`);
    ctx.body = presentMember(a, ctx.params.member, status);
  });

  r.put('/v2/images/:id/members/:member', async (ctx) => {
    const p = principal(ctx);
    const body = (await readJson(ctx, ['application/json'])) as { status?: unknown } | null;
    const status = body?.status;
    if (!['pending', 'accepted', 'rejected'].includes(status as string)) throw invalidInput('status must be pending, accepted or rejected');
    const member = ctx.params.member;
    // The member answers for its own project; the owner cannot accept on its behalf.
    const a = await amend(p, ctx.params.id, (cur) => {
      sharedOnly(cur);
      const members = membersOf(cur);
      if (!(member in members)) throw notFound(`no member ${member} of image ${cur.id}`);
      if (member !== p.project) throw forbidden('only the member itself may change its membership status');
      return members[member] === status ? undefined : { fields: { members: { ...members, [member]: status as string } } };
    }, { access: 'read' });
    ctx.body = presentMember(a, member, status as string);
  });

  r.delete('/v2/images/:id/members/:member', async (ctx) => {
    const member = ctx.params.member;
    await amend(principal(ctx), ctx.params.id, (cur) => {
      sharedOnly(cur);
      const { [member]: gone, ...rest } = membersOf(cur);
      if (gone === undefined) throw notFound(`no member ${member} of image ${cur.id}`);
      return { fields: { members: rest }, shared_with: cur.shared_with.filter((s) => s !== member) };
    });
    ctx.status = 204;
  });

  return r;
}

function sizeHeader(ctx: Context, name: string): number | undefined {
  const v = ctx.get(name);
  if (!v) return undefined;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw invalidInput(`${name} must be a non-negative integer`);
  return Number(v);
}
