import assert from 'node:assert/strict';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { buildZip, sha256 } from '../helpers/csar-builder';
import { sharedDir, sharedDirOrSkip } from '../helpers/shared';
import {
  assertError, assertOnboarded, buildPackage, bytes, createPackage, DEFAULT_META_BLOCK, imageBytes, IMAGE_PATH, packageFiles, problem, putContent, V1, V2, waitFinal,
  unzip,
} from './helpers';
import { assertValid, loadSchemas, type Sol005Schemas } from './sol005-schemas';

/**
 * The SOL005 VNF Package Management surface over one service: create, query (SOL013 filter,
 * selectors, paging), read, modify, delete, upload (raw and multipart), content and artifact
 * downloads with Range, the VNFD and manifest, version negotiation, 405s, ProblemDetails and auth.
 * /vnfpkgm/v1 responses are validated against the ETSI TST010 JSON schemas when ../shared exists.
 */
describe('VNF packages: SOL005 API', function () {
  let d: TestDepot;
  let schemas: Sol005Schemas | undefined;
  const check = (kind: keyof Sol005Schemas, body: unknown, what?: string) => schemas && assertValid(schemas[kind], body, what);

  // Package A: TOSCA-Metadata, multi-file VNFD, deflated image, a MANO script and a non-MANO set.
  const imageA = imageBytes(30_000, 11);
  const installSh = '#!/bin/sh\necho install\n';
  const ves = 'events:\n  - fault\n';
  const filesA = packageFiles({ multiFile: true, image: imageA, provider: 'Acme', product: 'Router', softwareVersion: '1.0.0', vnfdVersion: '1.0', extra: { 'Scripts/install.sh': installSh, 'Artifacts/Events/ves.yaml': ves } });
  let zipA: Buffer;
  let A: any; // v2 VnfPkgInfo
  // Package B: single root YAML, provider/product with characters that need filter escaping.
  let B: any;
  let C: any; // CREATED, never uploaded
  let E: any; // ERROR

  before(async function () {
    const shared = sharedDir();
    if (shared) schemas = loadSchemas(shared);
    d = await startTestDepot();
    zipA = await buildZip(filesA.files, {
      manifest: { metadata: { ...DEFAULT_META_BLOCK, vnf_provider_id: 'Acme', vnf_product_name: 'Router' }, append: '\nnon_mano_artifact_sets:\n  onap_ves_events:\n    Source: Artifacts/Events/ves.yaml\n' },
    });
    const a = await createPackage(d, undefined, { team: 'core', tier: { level: 'gold', zone: 'eu' } });
    assert.equal((await putContent(d, a.id, zipA)).status, 202);
    A = await waitFinal(d, a.id);
    assertOnboarded(A);
    const b = await createPackage(d, undefined, { team: 'edge' });
    assert.equal((await putContent(d, b.id, await buildPackage({ structure: 'single', provider: 'Acme, Inc.', product: "O'Brien (edge)", softwareVersion: '2.5.0', vnfdVersion: '3' }))).status, 202);
    B = await waitFinal(d, b.id);
    assertOnboarded(B);
    C = await createPackage(d, undefined, { team: 'core', draft: true });
    E = await createPackage(d);
    assert.equal((await putContent(d, E.id, Buffer.from('not a zip'))).status, 202);
    E = await waitFinal(d, E.id);
    assertError(E, 'CSAR-ZIP-CORRUPT');
  });
  after(async () => d?.close());

  const list = async (query: string, as = d.users.alice) => {
    const res = await d.request('GET', `${V1}/vnf_packages${query}`, { as });
    const body: any = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    check('vnfPkgsInfo', body, `GET vnf_packages${query}`);
    return body as any[];
  };
  const ids = (l: any[]) => l.map((p) => p.id).sort();
  const byFilter = async (filter: string) => ids(await list(`?filter=${encodeURIComponent(filter)}`));

  it('the ETSI schemas are there (else schema validation in this file is skipped)', function () {
    sharedDirOrSkip(this);
    assert.ok(schemas);
  });

  describe('api_versions and the Version header', () => {
    it('/vnfpkgm/api_versions lists both majors without a token; /vnfpkgm/v{1,2}/api_versions their own', async () => {
      const all = await d.request('GET', '/vnfpkgm/api_versions', { as: null as any });
      assert.equal(all.status, 200);
      const body: any = await all.json();
      check('apiVersions', body);
      assert.deepEqual(body, { uriPrefix: '/vnfpkgm', apiVersions: [{ version: '1.3.0', isDeprecated: false }, { version: '2.1.0', isDeprecated: false }] });
      for (const [p, v] of [[V1, '1.3.0'], [V2, '2.1.0']]) {
        const res = await d.request('GET', `${p}/api_versions`, { as: null as any });
        assert.equal(res.status, 200, p);
        assert.equal(res.headers.get('version'), v);
        const b: any = await res.json();
        check('apiVersions', b);
        assert.deepEqual(b, { uriPrefix: p, apiVersions: [{ version: v, isDeprecated: false }] });
      }
    });

    it('Version: the served version is echoed; a wrong major is 406, a malformed one 400 (ProblemDetails)', async () => {
      const ok = await d.request('GET', `${V1}/vnf_packages/${A.id}`, { headers: { Version: '1.3.0' } });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('version'), '1.3.0');
      check('problemDetails', await problem(await d.request('GET', `${V1}/vnf_packages`, { headers: { Version: '2.1.0' } }), 406));
      check('problemDetails', await problem(await d.request('GET', `${V2}/vnf_packages`, { headers: { Version: '1.3.0' } }), 406));
      await problem(await d.request('GET', `${V1}/vnf_packages`, { headers: { Version: '1.9.0' } }), 406);
      await problem(await d.request('GET', `${V1}/vnf_packages`, { headers: { Version: 'one' } }), 400);
      assert.equal((await d.request('GET', `${V2}/vnf_packages`, { headers: { Version: '2.0.0' } })).status, 200);
    });
  });

  describe('auth', () => {
    it('401 without or with a bad token (ProblemDetails); another project sees 404', async () => {
      check('problemDetails', await problem(await d.request('GET', `${V1}/vnf_packages`, { as: null as any }), 401));
      await problem(await d.request('GET', `${V1}/vnf_packages/${A.id}`, { as: { token: 'nope', user: 'x', project: 'y' } }), 401);
      check('problemDetails', await problem(await d.request('GET', `${V1}/vnf_packages/${A.id}`, { as: d.users.bob }), 404));
      await problem(await d.request('GET', `${V1}/vnf_packages/${A.id}/package_content`, { as: d.users.bob }), 404);
      await problem(await d.request('DELETE', `${V1}/vnf_packages/${C.id}`, { as: d.users.bob }), 404);
      assert.deepEqual(await list('', d.users.bob), []);
      // The same project's other member sees them; so does the admin.
      assert.equal((await d.request('GET', `${V1}/vnf_packages/${A.id}`, { as: d.users.alice2 })).status, 200);
      assert.equal((await d.request('GET', `${V1}/vnf_packages/${A.id}`, { as: d.users.admin })).status, 200);
    });

    it('a reader may read but not create', async () => {
      assert.equal((await d.request('GET', `${V1}/vnf_packages/${A.id}`, { as: d.users.reader })).status, 200);
      await problem(await d.request('POST', `${V1}/vnf_packages`, { as: d.users.reader, json: {} }), 403);
    });
  });

  describe('POST /vnf_packages', () => {
    it('201 with Location, ETag and a CREATED VnfPkgInfo echoing userDefinedData', async () => {
      const res = await d.request('POST', `${V1}/vnf_packages`, { json: { userDefinedData: { a: '1', nested: { b: [1, 2] } } } });
      assert.equal(res.status, 201);
      const body: any = await res.json();
      check('vnfPkgInfo', body);
      assert.equal(res.headers.get('location'), `${V1}/vnf_packages/${body.id}`);
      assert.ok(res.headers.get('etag'));
      assert.equal(res.headers.get('version'), '1.3.0');
      assert.deepEqual(body, {
        id: body.id, onboardingState: 'CREATED', operationalState: 'DISABLED', usageState: 'NOT_IN_USE', userDefinedData: { a: '1', nested: { b: [1, 2] } },
        _links: { self: { href: `${V1}/vnf_packages/${body.id}` }, packageContent: { href: `${V1}/vnf_packages/${body.id}/package_content` } },
      });
      const loc = await d.request('GET', res.headers.get('location')!);
      assert.equal(loc.status, 200);
      assert.equal(((await d.request('DELETE', `${V1}/vnf_packages/${body.id}`)).status), 204);
    });

    it('400 for a body that is not a CreateVnfPkgInfoRequest; 415 for another content type', async () => {
      check('problemDetails', await problem(await d.request('POST', `${V1}/vnf_packages`, { json: { userDefinedData: [1] } }), 400));
      await problem(await d.request('POST', `${V1}/vnf_packages`, { json: { vnfdId: 'x' } }), 400);
      await problem(await d.request('POST', `${V1}/vnf_packages`, { body: '{', headers: { 'Content-Type': 'application/json' } }), 400);
      await problem(await d.request('POST', `${V1}/vnf_packages`, { body: 'x', headers: { 'Content-Type': 'text/plain' } }), 415);
    });
  });

  describe('GET /vnf_packages: selectors and the default-excluded attributes', () => {
    it('by default the complex attributes SOL005 excludes are left out; vnfmInfo and _links stay', async () => {
      const l = await list('');
      assert.deepEqual(ids(l), [A.id, B.id, C.id, E.id].sort());
      const a = l.find((p) => p.id === A.id);
      for (const k of ['softwareImages', 'additionalArtifacts', 'userDefinedData', 'checksum']) assert.equal(a[k], undefined, k);
      assert.equal(l.find((p) => p.id === E.id).onboardingFailureDetails, undefined);
      assert.deepEqual(a.vnfmInfo, ['etsivnfm:v3.3.1']);
      assert.deepEqual(a._links, { self: { href: `${V1}/vnf_packages/${A.id}` }, vnfd: { href: `${V1}/vnf_packages/${A.id}/vnfd` }, packageContent: { href: `${V1}/vnf_packages/${A.id}/package_content` } });
      assert.equal(a.vnfProvider, 'Acme');
    });

    it('all_fields returns everything; exclude_default the same as no selector', async () => {
      const all: any = (await list('?all_fields')).find((p) => p.id === A.id);
      const single: any = await (await d.request('GET', `${V1}/vnf_packages/${A.id}`)).json();
      assert.deepEqual(all, single);
      assert.deepEqual(all.checksum, { algorithm: 'SHA-256', hash: sha256(zipA) });
      assert.deepEqual(all.userDefinedData, { team: 'core', tier: { level: 'gold', zone: 'eu' } });
      assert.equal(all.softwareImages.length, 1);
      assert.deepEqual(await list('?exclude_default'), await list(''));
    });

    it('fields adds default-excluded attributes (also nested); exclude_fields removes complex ones', async () => {
      const f = (await list('?fields=softwareImages,userDefinedData/tier')).find((p) => p.id === A.id);
      assert.equal(f.softwareImages.length, 1);
      // Selectors only remove complex attributes (src/sol013/selectors.ts): the simple `team` stays.
      assert.deepEqual(f.userDefinedData, { team: 'core', tier: { level: 'gold', zone: 'eu' } });
      assert.equal(f.checksum, undefined);
      assert.equal(f.additionalArtifacts, undefined);
      const x = (await list('?exclude_fields=softwareImages,checksum')).find((p) => p.id === A.id);
      assert.equal(x.softwareImages, undefined);
      assert.equal(x.checksum, undefined);
      assert.ok(x.additionalArtifacts, 'exclude_fields alone returns all the others');
      assert.deepEqual(x.userDefinedData, { team: 'core', tier: { level: 'gold', zone: 'eu' } });
      // Mandatory attributes can not be excluded: asking for it is a 400.
      await problem(await d.request('GET', `${V1}/vnf_packages?exclude_fields=_links`), 400, /_links/);
    });

    it('400 for contradicting selectors, unknown attributes and unknown parameters', async () => {
      await problem(await d.request('GET', `${V1}/vnf_packages?all_fields&fields=checksum`), 400);
      await problem(await d.request('GET', `${V1}/vnf_packages?fields=checksum&exclude_fields=softwareImages`), 400);
      await problem(await d.request('GET', `${V1}/vnf_packages?fields=noSuchThing`), 400);
      await problem(await d.request('GET', `${V1}/vnf_packages?colour=red`), 400, /colour/);
    });
  });

  describe('GET /vnf_packages: SOL013 filter', () => {
    it('eq / neq on simple attributes, enums and states', async () => {
      assert.deepEqual(await byFilter('(eq,vnfProvider,Acme)'), [A.id]);
      assert.deepEqual(await byFilter('(neq,vnfProvider,Acme)'), [B.id, C.id, E.id].sort());
      assert.deepEqual(await byFilter('(eq,onboardingState,ONBOARDED)'), [A.id, B.id].sort());
      assert.deepEqual(await byFilter('(eq,onboardingState,ERROR)'), [E.id]);
      assert.deepEqual(await byFilter('(eq,operationalState,DISABLED)'), [C.id, E.id].sort());
      assert.deepEqual(await byFilter(`(eq,id,${B.id})`), [B.id]);
    });

    it('in / nin, cont / ncont', async () => {
      assert.deepEqual(await byFilter('(in,onboardingState,CREATED,ERROR)'), [C.id, E.id].sort());
      assert.deepEqual(await byFilter('(nin,onboardingState,CREATED,ERROR)'), [A.id, B.id].sort());
      assert.deepEqual(await byFilter('(cont,vnfProductName,out)'), [A.id]);
      assert.deepEqual(await byFilter('(cont,vnfProductName,xyz,Rout)'), [A.id]);
      assert.deepEqual(await byFilter('(ncont,vnfProductName,Rout)'), [B.id, C.id, E.id].sort());
    });

    it('gt / gte / lt / lte', async () => {
      assert.deepEqual(await byFilter('(gt,vnfSoftwareVersion,1.0.0)'), [B.id]);
      assert.deepEqual(await byFilter('(gte,vnfSoftwareVersion,1.0.0)'), [A.id, B.id].sort());
      assert.deepEqual(await byFilter('(lt,vnfSoftwareVersion,2.5.0)'), [A.id]);
      assert.deepEqual(await byFilter('(lte,vnfSoftwareVersion,2.5.0)'), [A.id, B.id].sort());
      assert.deepEqual(await byFilter('(gt,softwareImages/size,29999)'), [A.id]);
      assert.deepEqual(await byFilter('(gt,softwareImages/size,30000)'), []);
    });

    it('nested attributes: userDefinedData, arrays of objects (softwareImages, additionalArtifacts), _links', async () => {
      assert.deepEqual(await byFilter('(eq,userDefinedData/team,core)'), [A.id, C.id].sort());
      assert.deepEqual(await byFilter('(eq,userDefinedData/tier/level,gold)'), [A.id]);
      assert.deepEqual(await byFilter('(eq,softwareImages/diskFormat,QCOW2)'), [A.id]);
      assert.deepEqual(await byFilter('(eq,additionalArtifacts/artifactPath,Scripts/install.sh)'), [A.id]);
      assert.deepEqual(await byFilter(`(eq,checksum/hash,${sha256(zipA)})`), [A.id]);
      assert.deepEqual(await byFilter('(eq,vnfmInfo,etsivnfm:v3.3.1)'), [A.id, B.id].sort());
    });

    it('several terms are a logical AND', async () => {
      assert.deepEqual(await byFilter('(eq,userDefinedData/team,core);(eq,onboardingState,ONBOARDED)'), [A.id]);
      assert.deepEqual(await byFilter('(eq,userDefinedData/team,core);(eq,onboardingState,ERROR)'), []);
    });

    it("escaping: values with ',' ')' and quotes are single-quoted, a quote doubled", async () => {
      assert.deepEqual(await byFilter("(eq,vnfProvider,'Acme, Inc.')"), [B.id]);
      assert.deepEqual(await byFilter("(eq,vnfProductName,'O''Brien (edge)')"), [B.id]);
      assert.deepEqual(await byFilter("(in,vnfProductName,Router,'O''Brien (edge)')"), [A.id, B.id].sort());
      assert.deepEqual(await byFilter("(cont,vnfProductName,'n (e')"), [B.id]);
    });

    it('400 with a useful detail for a bad filter', async () => {
      const cases: [string, RegExp][] = [
        ['(eq,vnfProvider', /unbalanced parenthesis.*position 0/],
        ['(like,vnfProvider,Acme)', /unknown operator 'like' at position 1/],
        ['(eq,noSuchAttr,1)', /unknown attribute 'noSuchAttr'/],
        ['(eq,vnfProvider,a,b)', /'eq' takes exactly one value, got 2/],
        ["(eq,vnfProductName,O'Brien)", /unescaped quote in value at position 20/],
        ['(gt,operationalState,ENABLED)', /gt/],
      ];
      for (const [filter, detail] of cases) {
        const res = await d.request('GET', `${V1}/vnf_packages?filter=${encodeURIComponent(filter)}`);
        assert.equal(res.status, 400, filter);
        const body = await problem(res, 400, detail);
        check('problemDetails', body, filter);
      }
    });

    it('the legacy attribute=value form (TST010 v2.6.1) still filters', async () => {
      assert.deepEqual(ids(await list('?vnfProvider=Acme')), [A.id]);
    });
  });

  describe('paging', () => {
    it('100 per page, Link rel="next" with nextpage_opaque_marker, every package exactly once', async () => {
      // Bob's project holds only these.
      const made = await Promise.all(Array.from({ length: 105 }, () => createPackage(d, d.users.bob)));
      const first = await d.request('GET', `${V1}/vnf_packages`, { as: d.users.bob });
      assert.equal(first.status, 200);
      const page1 = (await first.json()) as any[];
      assert.equal(page1.length, 100);
      const link = first.headers.get('link');
      const m = /^<([^>]+)>;\s*rel="next"$/.exec(link ?? '');
      assert.ok(m, `Link: ${link}`);
      const next = new URL(m[1]);
      assert.equal(next.origin, d.url);
      assert.ok(next.searchParams.get('nextpage_opaque_marker'));
      const second = await d.request('GET', `${next.pathname}${next.search}`, { as: d.users.bob });
      const page2 = (await second.json()) as any[];
      assert.equal(second.status, 200);
      assert.equal(page2.length, 5);
      assert.equal(second.headers.get('link'), null, 'the last page has no next link');
      assert.deepEqual([...page1, ...page2].map((p) => p.id).sort(), made.map((p) => p.id).sort());
      // A filter carries over to the next page.
      const f = await d.request('GET', `${V1}/vnf_packages?filter=${encodeURIComponent('(eq,onboardingState,CREATED)')}`, { as: d.users.bob });
      assert.match(f.headers.get('link') ?? '', /filter=/);
      // A forged marker is a 400.
      await problem(await d.request('GET', `${V1}/vnf_packages?nextpage_opaque_marker=forged`, { as: d.users.bob }), 400);
    });
  });

  describe('individual package: GET, PATCH, DELETE', () => {
    it('GET: 200 with ETag; v1 and v2 presenters differ only where the data models do', async () => {
      const r1 = await d.request('GET', `${V1}/vnf_packages/${A.id}`);
      assert.equal(r1.status, 200);
      assert.ok(r1.headers.get('etag'));
      const v1: any = await r1.json();
      check('vnfPkgInfo', v1);
      assert.equal(v1.softwareImages[0].imagePath, IMAGE_PATH);
      assert.equal(v1.softwareImages[0].isEncrypted, undefined, 'isEncrypted is a 2.x attribute');
      assert.deepEqual(v1.additionalArtifacts.map((x: any) => x.artifactPath).sort(), ['Artifacts/Events/ves.yaml', 'Scripts/install.sh']);
      const v2: any = A;
      assert.equal(v2.softwareImages[0].isEncrypted, false);
      assert.equal(v2.additionalArtifacts.find((x: any) => x.artifactPath === 'Artifacts/Events/ves.yaml').nonManoArtifactSetId, 'onap_ves_events');
      assert.equal(v2._links.self.href, `${V2}/vnf_packages/${A.id}`);
      check('vnfPkgInfo', await (await d.request('GET', `${V1}/vnf_packages/${E.id}`)).json(), 'ERROR package');
      check('problemDetails', await problem(await d.request('GET', `${V1}/vnf_packages/00000000-0000-4000-8000-000000000000`), 404));
    });

    it('PATCH userDefinedData is a JSON merge patch; the response is the modifications', async () => {
      const res = await d.request('PATCH', `${V1}/vnf_packages/${C.id}`, { body: JSON.stringify({ userDefinedData: { draft: null, owner: 'ops', tier: { level: 'silver' } } }), headers: { 'Content-Type': 'application/merge-patch+json' } });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { userDefinedData: { draft: null, owner: 'ops', tier: { level: 'silver' } } });
      const now: any = await (await d.request('GET', `${V1}/vnf_packages/${C.id}`)).json();
      assert.deepEqual(now.userDefinedData, { team: 'core', owner: 'ops', tier: { level: 'silver' } });
    });

    it('PATCH operationalState: DISABLED/ENABLED on an onboarded package; 409 when already so or not onboarded', async () => {
      const dis = await d.request('PATCH', `${V1}/vnf_packages/${B.id}`, { json: { operationalState: 'DISABLED' }, headers: { 'Content-Type': 'application/merge-patch+json' } });
      assert.equal(dis.status, 200);
      assert.deepEqual(await dis.json(), { operationalState: 'DISABLED' });
      assert.equal(((await (await d.request('GET', `${V1}/vnf_packages/${B.id}`)).json()) as any).operationalState, 'DISABLED');
      check('problemDetails', await problem(await d.request('PATCH', `${V1}/vnf_packages/${B.id}`, { json: { operationalState: 'DISABLED' }, headers: { 'Content-Type': 'application/merge-patch+json' } }), 409));
      assert.equal((await d.request('PATCH', `${V1}/vnf_packages/${B.id}`, { json: { operationalState: 'ENABLED' }, headers: { 'Content-Type': 'application/merge-patch+json' } })).status, 200);
      await problem(await d.request('PATCH', `${V1}/vnf_packages/${C.id}`, { json: { operationalState: 'ENABLED' }, headers: { 'Content-Type': 'application/merge-patch+json' } }), 409);
      await problem(await d.request('PATCH', `${V1}/vnf_packages/${E.id}`, { json: { operationalState: 'DISABLED' }, headers: { 'Content-Type': 'application/merge-patch+json' } }), 409);
    });

    it('PATCH: 400 for an invalid body; If-Match: 412 when stale, 200 when current (new ETag)', async () => {
      await problem(await d.request('PATCH', `${V1}/vnf_packages/${C.id}`, { json: { operationalState: 'ON' }, headers: { 'Content-Type': 'application/merge-patch+json' } }), 400);
      await problem(await d.request('PATCH', `${V1}/vnf_packages/${C.id}`, { json: { vnfdId: 'x' }, headers: { 'Content-Type': 'application/merge-patch+json' } }), 400);
      await problem(await d.request('PATCH', `${V1}/vnf_packages/${C.id}`, { json: {}, headers: { 'Content-Type': 'application/merge-patch+json' } }), 400);
      const cur = await d.request('GET', `${V1}/vnf_packages/${C.id}`);
      const etag = cur.headers.get('etag')!;
      check('problemDetails', await problem(await d.request('PATCH', `${V1}/vnf_packages/${C.id}`, { json: { userDefinedData: { x: 1 } }, headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': '"stale"' } }), 412));
      const ok = await d.request('PATCH', `${V1}/vnf_packages/${C.id}`, { json: { userDefinedData: { x: 1 } }, headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': etag } });
      assert.equal(ok.status, 200);
      assert.notEqual(ok.headers.get('etag'), etag);
      await problem(await d.request('PATCH', `${V1}/vnf_packages/${C.id}`, { json: { userDefinedData: { x: 2 } }, headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': etag } }), 412);
    });

    it('DELETE: 409 while ENABLED, 204 once DISABLED, 204 for CREATED and ERROR; then 404', async () => {
      const p = await createPackage(d);
      assert.equal((await putContent(d, p.id, await buildPackage({}))).status, 202);
      assertOnboarded(await waitFinal(d, p.id));
      check('problemDetails', await problem(await d.request('DELETE', `${V1}/vnf_packages/${p.id}`), 409, /ENABLED/));
      assert.equal((await d.request('PATCH', `${V1}/vnf_packages/${p.id}`, { json: { operationalState: 'DISABLED' }, headers: { 'Content-Type': 'application/merge-patch+json' } })).status, 200);
      const del = await d.request('DELETE', `${V1}/vnf_packages/${p.id}`);
      assert.equal(del.status, 204);
      assert.equal((await del.text()), '');
      await problem(await d.request('GET', `${V1}/vnf_packages/${p.id}`), 404);
      await problem(await d.request('DELETE', `${V1}/vnf_packages/${p.id}`), 404);
      const c = await createPackage(d);
      assert.equal((await d.request('DELETE', `${V1}/vnf_packages/${c.id}`)).status, 204);
      const e = await createPackage(d);
      await putContent(d, e.id, Buffer.from('junk'));
      assertError(await waitFinal(d, e.id), 'CSAR-ZIP-CORRUPT');
      assert.equal((await d.request('DELETE', `${V1}/vnf_packages/${e.id}`)).status, 204);
    });

    it('DELETE and a second upload are 409 while UPLOADING', async () => {
      const p = await createPackage(d);
      const zip = await buildPackage({});
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const body = new ReadableStream({
        async start(c) {
          c.enqueue(zip.subarray(0, 100));
          await gate;
          c.enqueue(zip.subarray(100));
          c.close();
        },
      });
      const uploading = d.request('PUT', `${V1}/vnf_packages/${p.id}/package_content`, { body, headers: { 'Content-Type': 'application/zip' } });
      const until = Date.now() + 5000;
      while ((((await (await d.request('GET', `${V1}/vnf_packages/${p.id}`)).json()) as any).onboardingState) !== 'UPLOADING') {
        assert.ok(Date.now() < until, 'never UPLOADING');
        await new Promise((r) => setTimeout(r, 20));
      }
      await problem(await d.request('DELETE', `${V1}/vnf_packages/${p.id}`), 409, /UPLOADING/);
      await problem(await putContent(d, p.id, zip), 409);
      release();
      assert.equal((await uploading).status, 202);
      assertOnboarded(await waitFinal(d, p.id));
    });
  });

  describe('package_content', () => {
    it('PUT multipart/form-data with a "file" part: 202, onboarded, content byte-exact', async () => {
      const zip = await buildPackage({ softwareVersion: '9.9.9' });
      const p = await createPackage(d);
      const form = new FormData();
      form.append('file', new Blob([zip], { type: 'application/zip' }), 'pkg.zip');
      const res = await d.request('PUT', `${V1}/vnf_packages/${p.id}/package_content`, { body: form });
      assert.equal(res.status, 202);
      assert.equal(await res.text(), '', 'a 202 has an empty body (SOL005)');
      assert.equal(res.headers.get('content-type'), null);
      const info = await waitFinal(d, p.id);
      assertOnboarded(info);
      assert.deepEqual(info.checksum, { algorithm: 'SHA-256', hash: sha256(zip) });
      const got = await d.request('GET', `${V1}/vnf_packages/${p.id}/package_content`);
      assert.equal(got.status, 200);
      assert.equal(got.headers.get('content-type'), 'application/zip');
      assert.ok((await bytes(got)).equals(zip));
    });

    it('PUT: 409 in the wrong state, 415 for another media type, 400 for multipart without a file part', async () => {
      await problem(await putContent(d, A.id, zipA), 409);
      const p = await createPackage(d);
      await problem(await d.request('PUT', `${V1}/vnf_packages/${p.id}/package_content`, { body: 'x', headers: { 'Content-Type': 'text/plain' } }), 415);
      const form = new FormData();
      form.append('note', 'no file here');
      await problem(await d.request('PUT', `${V1}/vnf_packages/${p.id}/package_content`, { body: form }), 400);
      assert.equal((((await (await d.request('GET', `${V1}/vnf_packages/${p.id}`)).json()) as any).onboardingState), 'CREATED', 'a refused upload leaves the package as it was');
    });

    it('two concurrent uploads of one package: exactly one is accepted, the other is 409', async () => {
      const p = await createPackage(d);
      const zips = [await buildPackage({}), await buildPackage({})];
      const res = await Promise.all(zips.map((z) => putContent(d, p.id, z)));
      assert.deepEqual(res.map((r) => r.status).sort(), [202, 409]);
      const info = await waitFinal(d, p.id);
      assertOnboarded(info);
      const winner = zips[res.findIndex((r) => r.status === 202)];
      assert.equal(info.checksum.hash, sha256(winner));
    });

    it('GET with Range: 206 and Content-Range; 416 outside; 409 before onboarding', async () => {
      const r = await d.request('GET', `${V1}/vnf_packages/${A.id}/package_content`, { headers: { Range: 'bytes=10-29' } });
      assert.equal(r.status, 206);
      assert.equal(r.headers.get('content-range'), `bytes 10-29/${zipA.length}`);
      assert.ok((await bytes(r)).equals(zipA.subarray(10, 30)));
      const tail = await d.request('GET', `${V1}/vnf_packages/${A.id}/package_content`, { headers: { Range: 'bytes=-16' } });
      assert.equal(tail.status, 206);
      assert.ok((await bytes(tail)).equals(zipA.subarray(zipA.length - 16)));
      const bad = await d.request('GET', `${V1}/vnf_packages/${A.id}/package_content`, { headers: { Range: `bytes=${zipA.length + 10}-` } });
      assert.equal(bad.status, 416);
      assert.equal(bad.headers.get('content-range'), `bytes */${zipA.length}`);
      await problem(await d.request('GET', `${V1}/vnf_packages/${C.id}/package_content`), 409);
      await problem(await d.request('GET', `${V1}/vnf_packages/${E.id}/package_content`), 409);
    });
  });

  describe('vnfd, manifest, artifacts', () => {
    it('vnfd of a multi-file VNFD: 406 for text/plain; application/zip holds every descriptor file at its path', async () => {
      check('problemDetails', await problem(await d.request('GET', `${V1}/vnf_packages/${A.id}/vnfd`, { headers: { Accept: 'text/plain' } }), 406));
      const res = await d.request('GET', `${V1}/vnf_packages/${A.id}/vnfd`, { headers: { Accept: 'application/zip' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/zip');
      const entries = await unzip(await bytes(res));
      assert.deepEqual([...entries.keys()].sort(), ['Definitions/top.yaml', 'Definitions/types.yaml', 'TOSCA-Metadata/TOSCA.meta']);
      for (const [k, v] of entries) assert.equal(v.toString(), String(filesA.files[k]), k);
      // Either accepted: the zip.
      assert.equal((await d.request('GET', `${V1}/vnf_packages/${A.id}/vnfd`, { headers: { Accept: 'text/plain, application/zip' } })).headers.get('content-type'), 'application/zip');
      await problem(await d.request('GET', `${V1}/vnf_packages/${A.id}/vnfd`, { headers: { Accept: 'application/xml' } }), 406);
      await problem(await d.request('GET', `${V1}/vnf_packages/${C.id}/vnfd`), 409);
    });

    it('v2 vnfd with include_signatures adds the manifest to the zip', async () => {
      const res = await d.request('GET', `${V2}/vnf_packages/${A.id}/vnfd?include_signatures`, { headers: { Accept: 'application/zip' } });
      assert.equal(res.status, 200);
      const entries = await unzip(await bytes(res));
      assert.deepEqual([...entries.keys()].sort(), ['Definitions/top.yaml', 'Definitions/types.yaml', 'TOSCA-Metadata/TOSCA.meta', 'manifest.mf']);
    });

    it('v2 manifest: text/plain byte-exact; include_signatures → application/zip; v1 has no manifest resource', async () => {
      const manifest = (await unzip(zipA)).get('manifest.mf')!;
      const res = await d.request('GET', `${V2}/vnf_packages/${A.id}/manifest`, { headers: { Accept: 'text/plain' } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      assert.ok((await bytes(res)).equals(manifest));
      const z = await d.request('GET', `${V2}/vnf_packages/${A.id}/manifest?include_signatures`, { headers: { Accept: 'application/zip' } });
      assert.equal(z.status, 200);
      assert.deepEqual([...(await unzip(await bytes(z))).keys()], ['manifest.mf']);
      await problem(await d.request('GET', `${V2}/vnf_packages/${A.id}/manifest?include_signatures`, { headers: { Accept: 'text/plain' } }), 406);
      assert.equal((await d.request('GET', `${V1}/vnf_packages/${A.id}/manifest`)).status, 404);
    });

    it('artifacts/{artifactPath}: byte-exact, with Range; 404 for a path not in the package', async () => {
      const r = await d.request('GET', `${V1}/vnf_packages/${A.id}/artifacts/Scripts/install.sh`);
      assert.equal(r.status, 200);
      assert.equal((await r.text()), installSh);
      const img = await d.request('GET', `${V2}/vnf_packages/${A.id}/artifacts/${IMAGE_PATH}`, { headers: { Range: 'bytes=100-199' } });
      assert.equal(img.status, 206);
      assert.equal(img.headers.get('content-range'), `bytes 100-199/${imageA.length}`);
      assert.ok((await bytes(img)).equals(imageA.subarray(100, 200)));
      check('problemDetails', await problem(await d.request('GET', `${V1}/vnf_packages/${A.id}/artifacts/Scripts/nope.sh`), 404));
      await problem(await d.request('GET', `${V1}/vnf_packages/${A.id}/artifacts/../../etc/passwd`), 404);
    });

    it('v2 artifacts archive: all, exclude_all_mano_artifacts, exclude_all_non_mano_artifacts, select_non_mano_artifact_sets', async () => {
      const get = async (q: string) => {
        const res = await d.request('GET', `${V2}/vnf_packages/${A.id}/artifacts${q}`, { headers: { Accept: 'application/zip' } });
        assert.equal(res.status, 200, q);
        const e = await unzip(await bytes(res));
        return Object.fromEntries([...e].map(([k, v]) => [k, v.toString()]));
      };
      assert.deepEqual(await get(''), { 'Scripts/install.sh': installSh, 'Artifacts/Events/ves.yaml': ves });
      assert.deepEqual(await get('?exclude_all_mano_artifacts'), { 'Artifacts/Events/ves.yaml': ves });
      assert.deepEqual(await get('?exclude_all_non_mano_artifacts'), { 'Scripts/install.sh': installSh });
      assert.deepEqual(await get('?select_non_mano_artifact_sets=onap_ves_events'), { 'Scripts/install.sh': installSh, 'Artifacts/Events/ves.yaml': ves });
      assert.deepEqual(await get('?select_non_mano_artifact_sets=other_set'), { 'Scripts/install.sh': installSh });
      assert.deepEqual(await get('?exclude_all_mano_artifacts&select_non_mano_artifact_sets=other_set'), {});
      await problem(await d.request('GET', `${V2}/vnf_packages/${A.id}/artifacts?exclude_all_non_mano_artifacts&select_non_mano_artifact_sets=onap_ves_events`), 400);
      await problem(await d.request('GET', `${V2}/vnf_packages/${A.id}/artifacts`, { headers: { Accept: 'text/plain' } }), 406);
      await problem(await d.request('GET', `${V2}/vnf_packages/${C.id}/artifacts`), 409);
    });
  });

  describe('405 and ProblemDetails everywhere', () => {
    const cases: [string, string][] = [
      ['PUT', '/vnf_packages'], ['DELETE', '/vnf_packages'], ['PATCH', '/vnf_packages'],
      ['POST', '/vnf_packages/{id}'], ['PUT', '/vnf_packages/{id}'],
      ['POST', '/vnf_packages/{id}/package_content'], ['DELETE', '/vnf_packages/{id}/package_content'], ['PATCH', '/vnf_packages/{id}/package_content'],
      ['GET', '/vnf_packages/{id}/package_content/upload_from_uri'], ['PUT', '/vnf_packages/{id}/package_content/upload_from_uri'],
      ['POST', '/vnf_packages/{id}/vnfd'], ['PUT', '/vnf_packages/{id}/vnfd'], ['DELETE', '/vnf_packages/{id}/vnfd'],
      ['POST', '/vnf_packages/{id}/artifacts/Scripts/install.sh'], ['DELETE', '/vnf_packages/{id}/artifacts/Scripts/install.sh'],
      ['POST', '/api_versions'], ['DELETE', '/api_versions'],
    ];
    for (const [method, p] of cases) {
      it(`${method} ${p} → 405 with Allow`, async () => {
        const res = await d.request(method, `${V1}${p.replace('{id}', A.id)}`, { body: method === 'GET' ? undefined : '{}', headers: method === 'GET' ? {} : { 'Content-Type': 'application/json' } });
        const body = await problem(res, 405);
        check('problemDetails', body);
        assert.ok(res.headers.get('allow'), 'Allow header');
      });
    }
    it('v2-only resources: POST manifest / PUT artifacts → 405', async () => {
      await problem(await d.request('POST', `${V2}/vnf_packages/${A.id}/manifest`, { json: {} }), 405);
      await problem(await d.request('PUT', `${V2}/vnf_packages/${A.id}/artifacts`, { json: {} }), 405);
    });
  });
});
