import Router from '@koa/router';
import type { Context } from 'koa';
import type { Readable } from 'node:stream';
import yazl from 'yazl';
import type { ArtifactEngine } from '../../../artifacts/engine';
import { etagOf, requireIfMatch } from '../../../artifacts/engine';
import type { ArtifactRecord } from '../../../artifacts/types';
import { lifecycleConflict } from '../../../common/errors';
import { readJson, requestBody } from '../../../http/body';
import { notAcceptable, unsupportedMediaType } from '../../../http/problem';
import { baseName, sendContent } from '../../../http/range';
import { requestValidator } from '../../../http/schemas';
import { accepted, acceptable, listPackages, mergePatch, versionHeader, zipUploadBody } from '../../../http/sol005';
import type { PackageOnboarding } from '../../../packages/onboarding';
import {
  NSD_INFO_ATTRIBUTES, NSD_INFO_DEFAULT_EXCLUDED, NSD_INFO_FILTER_SCHEMA, NSD_INFO_MANDATORY,
  PNFD_INFO_ATTRIBUTES, PNFD_INFO_DEFAULT_EXCLUDED, PNFD_INFO_FILTER_SCHEMA, type AttributeDeclaration,
} from '../../../sol013';
import { NSD_API_VERSIONS } from '../sol005';
import { NS_DESCRIPTORS, PNF_DESCRIPTORS } from '../type';
import { presentNsdInfo, presentPnfdInfo } from './presenter';

/** Media types a single-file descriptor is uploaded as (SOL005: text/plain; YAML's own types are taken too). */
const YAML_TYPES = new Set(['text/plain', 'application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml']);

/** One descriptor resource family of NSD Management: ns_descriptors + nsd_content, pnf_descriptors + pnfd_content. */
interface DescriptorResource {
  collection: string;
  content: string;
  typeName: string;
  /** how a client calls one ("NS descriptor") and its descriptor ("NSD") */
  label: string;
  short: string;
  onboarding: PackageOnboarding<any>;
  present(a: ArtifactRecord): Record<string, unknown>;
  attributes: AttributeDeclaration;
  filterSchema: Parameters<typeof listPackages>[1]['filterSchema'];
  defaultExcluded: readonly string[][];
  validateCreate(body: unknown): void;
  validateModifications(body: unknown): void;
  /** the modifications' operational-state member (PNFDs have none) */
  operationalState?: string;
  /** the name of the file a descriptor uploaded as one YAML file gets in its archive */
  plainName: string;
}

/**
 * ETSI SOL005 NSD Management, served as /nsd/v1 (API 1.2.0, SOL005 v2.6.1): NS and PNF
 * descriptors, their content (a ZIP archive, or a single YAML file), SOL013 filters, selectors and
 * paging. Both families go through the package pipeline with their own profile
 * (../profile.ts); subscriptions are served by the shared SOL005 subscription routes.
 */
export function nsdRoutes(engine: ArtifactEngine, nsd: PackageOnboarding<any>, pnfd: PackageOnboarding<any>, markerKey: Promise<Buffer>): Router {
  const r = new Router();
  const apiVersions = (prefixed: boolean) => ({
    uriPrefix: prefixed ? '/nsd/v1' : '/nsd',
    apiVersions: [{ version: NSD_API_VERSIONS[1], isDeprecated: false }],
  });
  r.get('/nsd/api_versions', (ctx) => {
    ctx.body = apiVersions(false);
  });
  const group = new Router({ prefix: '/nsd/v1' });
  group.use(versionHeader('nsd', 1, NSD_API_VERSIONS[1]));
  group.get('/api_versions', (ctx) => {
    ctx.body = apiVersions(true);
  });

  const resources: DescriptorResource[] = [
    {
      collection: 'ns_descriptors', content: 'nsd_content', typeName: NS_DESCRIPTORS, label: 'NS descriptor', short: 'NSD', onboarding: nsd, present: presentNsdInfo,
      attributes: NSD_INFO_ATTRIBUTES, filterSchema: NSD_INFO_FILTER_SCHEMA, defaultExcluded: NSD_INFO_DEFAULT_EXCLUDED,
      validateCreate: requestValidator('sol005/CreateNsdInfoRequest.json'), validateModifications: requestValidator('sol005/NsdInfoModifications.json'),
      operationalState: 'nsdOperationalState', plainName: 'nsd.yaml',
    },
    {
      collection: 'pnf_descriptors', content: 'pnfd_content', typeName: PNF_DESCRIPTORS, label: 'PNF descriptor', short: 'PNFD', onboarding: pnfd, present: presentPnfdInfo,
      attributes: PNFD_INFO_ATTRIBUTES, filterSchema: PNFD_INFO_FILTER_SCHEMA, defaultExcluded: PNFD_INFO_DEFAULT_EXCLUDED,
      validateCreate: requestValidator('sol005/CreatePnfdInfoRequest.json'), validateModifications: requestValidator('sol005/PnfdInfoModifications.json'),
      plainName: 'pnfd.yaml',
    },
  ];
  for (const res of resources) descriptorRoutes(group, engine, res, markerKey);
  r.use(group.routes(), group.allowedMethods());
  return r;
}

function descriptorRoutes(group: Router, engine: ArtifactEngine, res: DescriptorResource, markerKey: Promise<Buffer>): void {
  const principal = (ctx: Context) => ctx.state.principal;
  const load = (ctx: Context) => res.onboarding.packageOf(principal(ctx), ctx.params.id);
  const item = `/${res.collection}/:id`;

  group.get(`/${res.collection}`, async (ctx) => {
    await listPackages(ctx, {
      engine, typeName: res.typeName, label: res.label, present: res.present, markerKey,
      attributes: res.attributes, filterSchema: res.filterSchema, defaultExcluded: res.defaultExcluded, mandatory: NSD_INFO_MANDATORY,
    });
  });

  group.post(`/${res.collection}`, async (ctx) => {
    const body = (await readJson(ctx, ['application/json'])) as Record<string, unknown>;
    res.validateCreate(body);
    const a = await res.onboarding.create(principal(ctx), body.userDefinedData as Record<string, unknown> | undefined);
    ctx.status = 201;
    ctx.set('Location', `/nsd/v1/${res.collection}/${a.id}`);
    ctx.set('ETag', etagOf(a));
    ctx.body = res.present(a);
  });

  group.get(item, async (ctx) => {
    const a = await load(ctx);
    ctx.set('ETag', etagOf(a));
    ctx.body = res.present(a);
  });

  group.patch(item, async (ctx) => {
    const body = (await readJson(ctx, ['application/merge-patch+json', 'application/json'])) as Record<string, unknown>;
    res.validateModifications(body);
    const udd = body.userDefinedData;
    const state = res.operationalState ? body[res.operationalState] : undefined;
    const ifMatch = ctx.get('If-Match');
    const updated = await engine.transaction(async (t) => {
      const a = await engine.getWritable(principal(ctx), res.typeName, ctx.params.id, t);
      requireIfMatch(ifMatch, a);
      const fields = { userDefinedData: (udd === undefined ? a.fields.userDefinedData : mergePatch(a.fields.userDefinedData ?? {}, udd)) ?? null };
      if (state === undefined) return engine.setSystemFields(a.id, fields, { t });
      if (a.fields.onboardingState !== 'ONBOARDED') throw lifecycleConflict(`the ${res.label} is ${a.fields.onboardingState}, not ONBOARDED`);
      const current = a.status === 'active' ? 'ENABLED' : 'DISABLED';
      if (current === state) throw lifecycleConflict(`${res.operationalState} is already ${current}`);
      // The change notification is written by the type's `updated` hook (../type.ts), in this transaction.
      return state === 'ENABLED' ? engine.activate(t, a, { fields }) : engine.deactivate(t, a, { fields });
    });
    ctx.set('ETag', etagOf(updated));
    ctx.body = body;
  });

  group.delete(item, async (ctx) => {
    const a = await load(ctx);
    const state = a.fields.onboardingState;
    if (state === 'UPLOADING' || state === 'PROCESSING') throw lifecycleConflict(`the ${res.label} is ${state}; wait until it is ONBOARDED or ERROR`);
    if (res.operationalState && state === 'ONBOARDED' && a.status === 'active') throw lifecycleConflict(`the ${res.label} is ENABLED; disable it first (PATCH ${res.operationalState} DISABLED)`);
    if (a.fields.usageState === 'IN_USE') throw lifecycleConflict(`the ${res.label} is IN_USE`);
    // An NSD that refers to this one keeps it (LINKED, 409 naming that NSD); the deletion
    // notification is written by the type's inTransaction.deleting (../type.ts).
    await engine.delete(principal(ctx), res.typeName, a.id, { ifMatch: ctx.get('If-Match') || undefined });
    ctx.status = 204;
  });

  group.put(`${item}/${res.content}`, async (ctx) => {
    const type = (ctx.get('Content-Type') || '').split(';')[0].trim().toLowerCase();
    const upload = YAML_TYPES.has(type) ? { body: singleFileArchive(ctx, res.plainName), length: undefined } : await zipUploadBody(ctx, type);
    if (!upload) throw unsupportedMediaType(`Content-Type ${type || '(none)'}: send the ${res.short} archive as application/zip, or a single-file ${res.short} as text/plain`);
    await res.onboarding.upload(principal(ctx), ctx.params.id, upload.body, upload.length);
    accepted(ctx);
  });

  group.get(`${item}/${res.content}`, async (ctx) => {
    const a = await load(ctx);
    if (a.fields.onboardingState !== 'ONBOARDED') throw lifecycleConflict(`the ${res.label} is ${a.fields.onboardingState}, not ONBOARDED`);
    const d = a.fields.descriptor as { files: string[]; meta?: string; manifest?: string };
    const ok = acceptable(ctx, 'text/plain', 'application/zip');
    // SOL005: a descriptor of one file may be served as that file; the archive is always a ZIP.
    const single = d.files.length === 1;
    const plain = single && !d.meta && !d.manifest;
    if (ok.includes('text/plain') && (plain || !ok.includes('application/zip'))) {
      if (!single) throw notAcceptable(`the ${res.short} spans ${d.files.length} files: ask for application/zip`);
      const [c] = await engine.entries(principal(ctx), res.typeName, a.id, 'content', [d.files[0]]);
      await sendContent(ctx, { size: c.size, sha256: c.blob.digests.sha256, contentType: 'text/plain', fileName: baseName(c.blob.path), open: c.open, files: c.files });
      if (ctx.status === 200 || ctx.status === 206) ctx.set('Content-Type', 'text/plain');
      return;
    }
    if (!ok.includes('application/zip')) throw notAcceptable(`the ${res.short} content is served as text/plain (single file) or application/zip`);
    const c = await engine.blob(principal(ctx), res.typeName, a.id, 'package', undefined);
    await sendContent(ctx, { size: c.size, sha256: c.blob.digests.sha256, contentType: 'application/zip', lastModified: new Date(c.blob.updated_at), fileName: `${a.id}.zip`, open: c.open, files: c.files });
  });
}

/**
 * A descriptor sent as one YAML file becomes an archive of that file alone (SOL004 structure
 * without TOSCA-Metadata), zipped while it streams in: the pipeline takes archives only.
 */
function singleFileArchive(ctx: Context, name: string): Readable {
  const zip = new yazl.ZipFile();
  const out = zip.outputStream as unknown as Readable;
  const body = requestBody(ctx);
  // A body cut short or stalled fails the archive, so the upload fails rather than waits.
  body.once('error', (err) => out.destroy(err));
  zip.addReadStream(body, name);
  zip.end();
  return out;
}
