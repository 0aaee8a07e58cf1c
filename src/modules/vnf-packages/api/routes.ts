import Router from '@koa/router';
import type { Context } from 'koa';
import type { ArtifactEngine, BlobContent } from '../../../artifacts/engine';
import { etagOf, requireIfMatch } from '../../../artifacts/engine';
import type { ArtifactRecord } from '../../../artifacts/types';
import { lifecycleConflict, notFound } from '../../../common/errors';
import { readJson } from '../../../http/body';
import { badRequest, notAcceptable, unsupportedMediaType } from '../../../http/problem';
import { baseName, sendContent } from '../../../http/range';
import { requestValidator } from '../../../http/schemas';
import { accepted, acceptable as sol005Acceptable, listPackages, mergePatch, versionHeader, zipOf, zipUploadBody } from '../../../http/sol005';
import { VNF_PKG_INFO_ATTRIBUTES, VNF_PKG_INFO_DEFAULT_EXCLUDED, VNF_PKG_INFO_FILTER_SCHEMA, VNF_PKG_INFO_MANDATORY } from '../../../sol013';
import type { PackageOnboarding } from '../../../packages/onboarding';
import type { VnfdFacts } from '../../../tosca';
import { artifactFiles, manifestFiles, vnfdFiles, type PackageDescriptor } from '../package-files';
import { presentVnfPkgInfo } from './presenter';
import { API_VERSIONS, ApiMajor } from '../sol005';
import { VNF_PACKAGES } from '../type';

const validateCreate = requestValidator('sol005/CreateVnfPkgInfoRequest.json');
const validateModifications = requestValidator('sol005/VnfPkgInfoModifications.json');
const validateUploadFromUri = requestValidator('sol005/UploadVnfPkgFromUriRequest.json');


/**
 * The SOL003 interface (a VNFM's view): `onboarded_vnf_packages/{vnfdId}` serves the onboarded package
 * of that VNFD through the same handlers as `vnf_packages/{id}`.
 */
const ONBOARDED = '/onboarded_vnf_packages';
const isSol003 = (ctx: Context) => /^\/vnfpkgm\/v\d+\/onboarded_vnf_packages(\/|$)/.test(ctx.path);

function acceptable(ctx: Context, ...types: string[]): string[] {
  // Tacker's VNFM sends the same `Accept: application/json` for its SOL003 VNFD download and unzips
  // whatever comes (a single-file VNFD as text/plain breaks it): there, JSON means the zip.
  if (isSol003(ctx) && types.includes('application/zip') && /^\s*application\/json\s*(;[^,]*)?$/i.test(ctx.get('Accept'))) return ['application/zip'];
  return sol005Acceptable(ctx, ...types);
}

/** ETSI SOL005 VNF Package Management, served as /vnfpkgm/v1 (API 1.3.0) and /vnfpkgm/v2 (2.1.0). */
export function vnfPackageRoutes(engine: ArtifactEngine, onboarding: PackageOnboarding<VnfdFacts>, markerKey: Promise<Buffer>): Router {
  const r = new Router();
  const principal = (ctx: Context) => ctx.state.principal;

  const apiVersions = (major?: ApiMajor) => ({
    uriPrefix: major ? `/vnfpkgm/v${major}` : '/vnfpkgm',
    apiVersions: (major ? [major] : ([1, 2] as ApiMajor[])).map((m) => ({ version: API_VERSIONS[m], isDeprecated: false })),
  });
  r.get('/vnfpkgm/api_versions', (ctx) => {
    ctx.body = apiVersions();
  });

  for (const major of [1, 2] as ApiMajor[]) {
    const prefix = `/vnfpkgm/v${major}`;
    const group = new Router({ prefix });
    group.use(versionHeader('vnfpkgm', major, API_VERSIONS[major]));

    group.get('/api_versions', (ctx) => {
      ctx.body = apiVersions(major);
    });

    const load = (ctx: Context) => (isSol003(ctx) ? onboarding.onboardedBy(principal(ctx), 'vnfdId', ctx.params.vnfdId) : onboarding.packageOf(principal(ctx), ctx.params.id));
    const requireOnboarded = (a: ArtifactRecord) => {
      if (a.fields.onboardingState !== 'ONBOARDED') throw lifecycleConflict(`the VNF package is ${a.fields.onboardingState}, not ONBOARDED`);
    };
    const present = (a: ArtifactRecord, ctx?: Context) => presentVnfPkgInfo(a, major, ctx && isSol003(ctx) ? 'onboarded' : 'package');

    group.get(['/vnf_packages', ONBOARDED], async (ctx) => {
      await listPackages(ctx, {
        engine, typeName: VNF_PACKAGES, label: 'VNF package', present: (a, c) => present(a, c), markerKey,
        where: isSol003(ctx) ? { onboardingState: 'eq:ONBOARDED' } : undefined,
        attributes: VNF_PKG_INFO_ATTRIBUTES, filterSchema: VNF_PKG_INFO_FILTER_SCHEMA, defaultExcluded: VNF_PKG_INFO_DEFAULT_EXCLUDED, mandatory: VNF_PKG_INFO_MANDATORY,
      });
    });

    group.post('/vnf_packages', async (ctx) => {
      const body = (await readJson(ctx, ['application/json'])) as Record<string, unknown>;
      validateCreate(body);
      const udd = body.userDefinedData;
      const a = await onboarding.create(principal(ctx), udd as Record<string, unknown> | undefined);
      ctx.status = 201;
      ctx.set('Location', `${prefix}/vnf_packages/${a.id}`);
      ctx.set('ETag', etagOf(a));
      ctx.body = present(a);
    });

    group.get(['/vnf_packages/:id', `${ONBOARDED}/:vnfdId`], async (ctx) => {
      const a = await load(ctx);
      ctx.set('ETag', etagOf(a));
      ctx.body = present(a, ctx);
    });

    group.patch('/vnf_packages/:id', async (ctx) => {
      const body = (await readJson(ctx, ['application/merge-patch+json', 'application/json'])) as Record<string, unknown>;
      validateModifications(body);
      const udd = body.userDefinedData;
      const ifMatch = ctx.get('If-Match');
      const updated = await engine.transaction(async (t) => {
        const a = await engine.getWritable(principal(ctx), VNF_PACKAGES, ctx.params.id, t);
        requireIfMatch(ifMatch, a);
        const fields = { userDefinedData: (udd === undefined ? a.fields.userDefinedData : mergePatch(a.fields.userDefinedData ?? {}, udd)) ?? null };
        if (body.operationalState === undefined) return engine.setSystemFields(a.id, fields, { t });
        requireOnboarded(a);
        const current = a.status === 'active' ? 'ENABLED' : 'DISABLED';
        if (current === body.operationalState) throw lifecycleConflict(`operationalState is already ${current}`);
        // The SOL005 VnfPackageChangeNotification is written by the type's `updated` hook (type.ts),
        // in the outbox of this very transaction, as for a status change through the generic API.
        return body.operationalState === 'ENABLED' ? engine.activate(t, a, { fields }) : engine.deactivate(t, a, { fields });
      });
      ctx.set('ETag', etagOf(updated));
      ctx.body = body;
    });

    group.delete('/vnf_packages/:id', async (ctx) => {
      const a = await load(ctx);
      const state = a.fields.onboardingState;
      if (state === 'UPLOADING' || state === 'PROCESSING') throw lifecycleConflict(`the VNF package is ${state}; wait until it is ONBOARDED or ERROR`);
      if (state === 'ONBOARDED' && a.status === 'active') throw lifecycleConflict('the VNF package is ENABLED; disable it first (PATCH operationalState DISABLED)');
      if (a.fields.usageState === 'IN_USE') throw lifecycleConflict('the VNF package is IN_USE');
      // PKG_DELETE is written by the type's inTransaction.deleting (type.ts), whichever API deletes.
      await engine.delete(principal(ctx), VNF_PACKAGES, a.id, { ifMatch: ctx.get('If-Match') || undefined });
      ctx.status = 204;
    });

    group.put('/vnf_packages/:id/package_content', async (ctx) => {
      const type = (ctx.get('Content-Type') || '').split(';')[0].trim().toLowerCase();
      const upload = await zipUploadBody(ctx, type);
      if (!upload) throw unsupportedMediaType(`Content-Type ${type || '(none)'}: send the CSAR as application/zip, or as the "file" part of multipart/form-data`);
      const { body, length } = upload;
      await onboarding.upload(principal(ctx), ctx.params.id, body, length);
      accepted(ctx);
    });

    group.post('/vnf_packages/:id/package_content/upload_from_uri', async (ctx) => {
      const body = (await readJson(ctx, ['application/json'])) as Record<string, any>;
      validateUploadFromUri(body);
      const uri = body.addressInformation as string;
      let url: URL;
      try {
        url = new URL(uri);
      } catch {
        throw badRequest('addressInformation is not a valid URI');
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badRequest(`addressInformation: scheme ${url.protocol} is not allowed (http or https)`);
      const basic = body.authentication?.paramsBasic ?? {};
      const userName = body.userName ?? body.username ?? basic.userName;
      const password = body.password ?? basic.password;
      await onboarding.uploadFromUri(principal(ctx), ctx.params.id, { addressInformation: uri, userName, password });
      accepted(ctx);
    });

    group.get(['/vnf_packages/:id/package_content', `${ONBOARDED}/:vnfdId/package_content`], async (ctx) => {
      const a = await load(ctx);
      requireOnboarded(a);
      const c = await engine.blob(principal(ctx), VNF_PACKAGES, a.id, 'package', undefined);
      await sendContent(ctx, { size: c.size, sha256: c.blob.digests.sha256, contentType: 'application/zip', lastModified: new Date(c.blob.updated_at), fileName: `${a.id}.zip`, open: c.open, files: c.files });
    });

    // Files of the package, read through the engine's one read rule (a disabled package's bytes
    // are for its owner and admins), whichever route serves them.
    const filesOf = (ctx: Context, a: ArtifactRecord, paths: string[]): Promise<BlobContent[]> => engine.entries(principal(ctx), VNF_PACKAGES, a.id, 'content', paths);
    const fileOf = async (ctx: Context, a: ArtifactRecord, path: string): Promise<BlobContent> => (await filesOf(ctx, a, [path]))[0];
    const flag = (ctx: Context, name: string) => ctx.query[name] !== undefined;

    group.get(['/vnf_packages/:id/vnfd', `${ONBOARDED}/:vnfdId/vnfd`], async (ctx) => {
      const a = await load(ctx);
      requireOnboarded(a);
      const d = a.fields.descriptor as PackageDescriptor;
      const signatures = major === 2 && flag(ctx, 'include_signatures');
      const ok = acceptable(ctx, 'text/plain', 'application/zip');
      const single = d.files.length === 1 && !signatures;
      if (ok.includes('text/plain') && (single || !ok.includes('application/zip'))) {
        if (!single) throw notAcceptable(`the VNFD spans ${d.files.length} files${signatures ? ' (with signatures)' : ''}: ask for application/zip`);
        const c = await fileOf(ctx, a, d.files[0]);
        await sendContent(ctx, { size: c.size, sha256: c.blob.digests.sha256, contentType: 'text/plain', fileName: baseName(c.blob.path), open: c.open, files: c.files });
        // Exactly `text/plain` (koa would add "; charset=utf-8"): python-tackerclient compares the
        // Content-Type with == to decide to hand back the text instead of parsing it as JSON.
        if (ctx.status === 200 || ctx.status === 206) ctx.set('Content-Type', 'text/plain');
        return;
      }
      if (!ok.includes('application/zip')) throw notAcceptable('the VNFD is served as text/plain (single file) or application/zip');
      zipOf(ctx, await filesOf(ctx, a, vnfdFiles(d, signatures)), 'vnfd.zip');
    });

    if (major === 2) {
      group.get(['/vnf_packages/:id/manifest', `${ONBOARDED}/:vnfdId/manifest`], async (ctx) => {
        const a = await load(ctx);
        requireOnboarded(a);
        const d = a.fields.descriptor as PackageDescriptor;
        if (!d.manifest) throw notFound('the package has no manifest file');
        if (flag(ctx, 'include_signatures')) {
          if (!acceptable(ctx, 'application/zip').length) throw notAcceptable('with include_signatures the manifest is served as application/zip');
          return zipOf(ctx, await filesOf(ctx, a, manifestFiles(d, true)), 'manifest.zip');
        }
        const c = await fileOf(ctx, a, d.manifest);
        if (!acceptable(ctx, 'text/plain').length) throw notAcceptable('the manifest is served as text/plain');
        return sendContent(ctx, { size: c.size, sha256: c.blob.digests.sha256, contentType: 'text/plain', fileName: baseName(c.blob.path), open: c.open, files: c.files });
      });

      group.get(['/vnf_packages/:id/artifacts', `${ONBOARDED}/:vnfdId/artifacts`], async (ctx) => {
        const a = await load(ctx);
        requireOnboarded(a);
        // The archive is only ever application/zip; `Accept: text/plain` got a zip with a 200.
        if (!acceptable(ctx, 'application/zip').length) throw notAcceptable('the artifacts of a package are served as application/zip');
        const excludeMano = flag(ctx, 'exclude_all_mano_artifacts');
        const excludeNonMano = flag(ctx, 'exclude_all_non_mano_artifacts');
        const sets = ctx.query.select_non_mano_artifact_sets;
        if (excludeNonMano && sets !== undefined) throw badRequest('exclude_all_non_mano_artifacts and select_non_mano_artifact_sets cannot be combined');
        const selected = sets === undefined ? undefined : new Set(String(sets).split(',').filter(Boolean));
        const artifacts = (a.fields.additionalArtifacts ?? []) as { artifactPath?: string; nonManoArtifactSetId?: string }[];
        const chosen = artifacts.filter((x) => {
          if (!x.artifactPath) return false;
          if (!x.nonManoArtifactSetId) return !excludeMano;
          if (excludeNonMano) return false;
          return !selected || selected.has(x.nonManoArtifactSetId);
        });
        zipOf(ctx, await filesOf(ctx, a, chosen.map((x) => x.artifactPath!)), 'artifacts.zip');
      });
    }

    group.get(['/vnf_packages/:id/artifacts/*artifactPath', `${ONBOARDED}/:vnfdId/artifacts/*artifactPath`], async (ctx) => {
      const a = await load(ctx);
      requireOnboarded(a);
      const raw = ctx.params.artifactPath as unknown;
      const path = Array.isArray(raw) ? raw.join('/') : String(raw);
      if (major === 2 && flag(ctx, 'include_signatures')) {
        if (!acceptable(ctx, 'application/zip').length) throw notAcceptable('with include_signatures the artifact is served as application/zip');
        return zipOf(ctx, await filesOf(ctx, a, artifactFiles(a.fields.descriptor as PackageDescriptor, path)), `${baseName(path)}.zip`);
      }
      // Any file of the package is served (as Tacker does), byte-exact, with its own content type.
      const c = await fileOf(ctx, a, path);
      await sendContent(ctx, { size: c.size, sha256: c.blob.digests.sha256, contentType: c.blob.content_type ?? 'application/octet-stream', lastModified: new Date(c.blob.updated_at), fileName: baseName(c.blob.path), open: c.open, files: c.files });
    });
    r.use(group.routes(), group.allowedMethods());
  }
  return r;
}
