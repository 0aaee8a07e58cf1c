import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { buildZip } from '../helpers/csar-builder';
import { sharedDirOrSkip } from '../helpers/shared';
import { accessToken, knownUsers } from '../helpers/oauth2';
import { patch } from '../artifacts/helpers';
import {
  assertError, assertOnboarded, buildPackage, bytes, createPackage, DEFAULT_META_BLOCK, imageBytes, IMAGE_PATH, onboard, packageFiles, problem, putContent, unzip, V1, V2, waitFinal,
} from './helpers';
import { assertValid, loadSchemas } from './sol005-schemas';

const ONB = (prefix: string) => `${prefix}/onboarded_vnf_packages`;

/**
 * The SOL003 VNF package interface (the VNFM's view): onboarded_vnf_packages/{vnfdId} and its vnfd,
 * package_content, manifest, artifacts, served by the vnf_packages handlers once the vnfdId is
 * resolved to the caller's onboarded package; an OAuth 2.0 client's token reads it.
 */
describe('VNF packages: SOL003 onboarded_vnf_packages', function () {
  let d: TestDepot;
  const secret = randomUUID();
  let vnfm: string; // an OAuth 2.0 access token of a reader client in alice's project

  const imageA = imageBytes(20_000, 3);
  const filesA = packageFiles({ multiFile: true, image: imageA, provider: 'Acme', product: 'Router', softwareVersion: '1.0.0', extra: { 'Scripts/install.sh': '#!/bin/sh\necho hi\n', 'Artifacts/Events/ves.yaml': 'events: []\n' } });
  let zipA: Buffer;
  let zipB: Buffer;
  let A: any; // ENABLED, multi-file VNFD with TOSCA-Metadata
  let B: any; // single-file root YAML, DISABLED
  let Bob: any; // another project's
  let C: any; // CREATED
  let E: any; // ERROR

  before(async function () {
    const users = knownUsers();
    d = await startTestDepot({ oauth2: { clients: [{ clientId: 'vnfm', clientSecret: secret, project: users.alice.project, roles: ['reader'] }] } }, { users });
    zipA = await buildZip(filesA.files, { manifest: { metadata: { ...DEFAULT_META_BLOCK, vnf_product_name: 'Router' }, append: '\nnon_mano_artifact_sets:\n  onap_ves_events:\n    Source: Artifacts/Events/ves.yaml\n' } });
    A = await onboard(d, zipA);
    assertOnboarded(A);
    zipB = await buildPackage({ structure: 'single', product: 'Edge', softwareVersion: '2.0.0' });
    B = await onboard(d, zipB);
    assertOnboarded(B);
    const dis = await d.request('PATCH', `${V2}/vnf_packages/${B.id}`, { json: { operationalState: 'DISABLED' }, headers: { 'Content-Type': 'application/merge-patch+json' } });
    assert.equal(dis.status, 200, await dis.text());
    Bob = await onboard(d, await buildPackage({ product: 'Bob VNF' }), d.users.bob);
    assertOnboarded(Bob);
    C = await createPackage(d);
    E = await createPackage(d);
    assert.equal((await putContent(d, E.id, Buffer.from('not a zip'))).status, 202);
    assertError(await waitFinal(d, E.id), 'CSAR-ZIP-CORRUPT');
    vnfm = await accessToken(d.url, 'vnfm', secret);
  });
  after(async () => d?.close());

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${d.url}${path}`, { headers: { Authorization: `Bearer ${vnfm}`, ...headers } });
  const json = async (path: string, headers?: Record<string, string>) => {
    const res = await get(path, headers);
    const body: any = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    return body;
  };

  describe('list: onboarded packages of the caller only, SOL013 filter and selectors', () => {
    for (const prefix of [V1, V2]) {
      it(`${prefix}: ONBOARDED ones (ENABLED and DISABLED), not CREATED, ERROR or another project's`, async () => {
        // (Public packages of other projects, e.g. of other tests on this database, are listed too.)
        const list: any[] = await json(ONB(prefix));
        const ids = list.map((x) => x.id);
        assert.ok(ids.includes(A.id) && ids.includes(B.id), ids.join());
        for (const x of [C, E, Bob]) assert.ok(!ids.includes(x.id), x.id);
        assert.ok(list.every((x) => x.onboardingState === 'ONBOARDED'));
        const b = list.find((x) => x.id === B.id);
        assert.equal(b.operationalState, 'DISABLED');
        assert.equal(b.onboardingState, 'ONBOARDED');
        assert.deepEqual(b._links.self, { href: `${prefix}/onboarded_vnf_packages/${B.vnfdId}` });
        assert.deepEqual(b._links.packageContent, { href: `${prefix}/onboarded_vnf_packages/${B.vnfdId}/package_content` });
        // The same list through vnf_packages also shows the CREATED and ERROR ones.
        const all: string[] = ((await json(`${prefix}/vnf_packages`)) as any[]).map((x) => x.id);
        for (const x of [A, B, C, E]) assert.ok(all.includes(x.id), x.id);
      });
    }
    it('filter: (eq,vnfdId,…), (eq,operationalState,DISABLED), (cont,…) on vnfProductName; a bad filter is 400', async () => {
      const ids = async (f: string) => ((await json(`${ONB(V2)}?filter=${encodeURIComponent(f)}`)) as any[]).map((x) => x.id);
      assert.deepEqual(await ids(`(eq,vnfdId,${A.vnfdId})`), [A.id]);
      assert.deepEqual(await ids(`(eq,vnfdId,${Bob.vnfdId})`), []);
      assert.deepEqual(await ids('(eq,operationalState,DISABLED)'), [B.id]);
      assert.deepEqual(await ids('(cont,vnfProductName,Rout)'), [A.id]);
      await problem(await get(`${ONB(V2)}?filter=${encodeURIComponent('(eq,noSuchAttribute,1)')}`), 400);
    });
    it('selectors: default excludes the complex attributes; all_fields, fields and exclude_fields as for vnf_packages', async () => {
      const [dflt] = (await json(`${ONB(V2)}?filter=${encodeURIComponent(`(eq,vnfdId,${A.vnfdId})`)}`)) as any[];
      assert.equal(dflt.softwareImages, undefined);
      assert.equal(dflt.checksum, undefined);
      const [all] = (await json(`${ONB(V2)}?all_fields&filter=${encodeURIComponent(`(eq,vnfdId,${A.vnfdId})`)}`)) as any[];
      assert.equal(all.softwareImages.length, 1);
      assert.equal(all.checksum.hash, A.checksum.hash);
      const [some] = (await json(`${ONB(V2)}?fields=softwareImages&filter=${encodeURIComponent(`(eq,vnfdId,${A.vnfdId})`)}`)) as any[];
      assert.equal(some.softwareImages[0].name, 'img');
      assert.equal(some.additionalArtifacts, undefined);
      const [less] = (await json(`${ONB(V2)}?exclude_fields=vnfProvider&filter=${encodeURIComponent(`(eq,vnfdId,${A.vnfdId})`)}`)) as any[];
      assert.equal(less.vnfProvider, undefined);
      assert.equal(less.vnfProductName, 'Router');
      await problem(await get(`${ONB(V2)}?fields=x&exclude_fields=y`), 400);
    });
  });

  describe('onboarded_vnf_packages/{vnfdId}', () => {
    it('GET: the package of that VNFD (v1 and v2 shapes), ETag, links under onboarded_vnf_packages', async () => {
      for (const prefix of [V1, V2]) {
        const res = await get(`${ONB(prefix)}/${A.vnfdId}`, { Accept: 'application/json' });
        const info: any = await res.json();
        assert.equal(res.status, 200, JSON.stringify(info));
        assert.ok(res.headers.get('etag'));
        assert.equal(res.headers.get('version'), prefix === V1 ? '1.3.0' : '2.1.0');
        assert.equal(info.id, A.id);
        assert.equal(info.vnfdId, A.vnfdId);
        assert.equal(info.operationalState, 'ENABLED');
        assert.equal(info.softwareImages.length, 1);
        assert.deepEqual(info._links, {
          self: { href: `${prefix}/onboarded_vnf_packages/${A.vnfdId}` },
          vnfd: { href: `${prefix}/onboarded_vnf_packages/${A.vnfdId}/vnfd` },
          packageContent: { href: `${prefix}/onboarded_vnf_packages/${A.vnfdId}/package_content` },
        });
        // Same data as the SOL005 resource, links aside.
        const { _links: l1, ...viaSol003 } = info;
        const { _links: l2, ...viaSol005 } = await json(`${prefix}/vnf_packages/${A.id}`);
        void l1, void l2;
        assert.deepEqual(viaSol003, viaSol005);
      }
    });
    it('a disabled package is readable and reported DISABLED (info, vnfd, package_content)', async () => {
      const info = await json(`${ONB(V2)}/${B.vnfdId}`);
      assert.equal(info.operationalState, 'DISABLED');
      assert.equal(info.id, B.id);
      const vnfd = await get(`${ONB(V2)}/${B.vnfdId}/vnfd`, { Accept: 'application/zip' });
      assert.equal(vnfd.status, 200);
      const pc = await get(`${ONB(V2)}/${B.vnfdId}/package_content`);
      assert.equal(pc.status, 200);
      assert.deepEqual(await bytes(pc), zipB);
    });
    it('404 for an unknown vnfdId and for another project\'s, alike (no existence oracle), on every sub-resource', async () => {
      const unknown = randomUUID();
      for (const sub of ['', '/vnfd', '/package_content', '/manifest', '/artifacts', '/artifacts/Scripts/install.sh']) {
        const a = await problem(await get(`${ONB(V2)}/${unknown}${sub}`), 404);
        const b = await problem(await get(`${ONB(V2)}/${Bob.vnfdId}${sub}`), 404);
        assert.equal(b.detail.replace(Bob.vnfdId, 'X'), a.detail.replace(unknown, 'X'), sub);
        assert.ok(!JSON.stringify(b).includes(Bob.id), 'no id of another project');
      }
      // Bob sees his own; a package id is not a vnfdId.
      const own = await d.request('GET', `${ONB(V2)}/${Bob.vnfdId}`, { as: d.users.bob });
      assert.equal(own.status, 200);
      await problem(await get(`${ONB(V2)}/${A.id}`), 404);
    });
    it('another project\'s public package is found by its vnfdId; the caller\'s own package of that vnfdId comes first', async () => {
      const vnfdId = randomUUID();
      const theirs = await onboard(d, await buildPackage({ vnfdId, product: 'Shared VNF' }), d.users.bob);
      assertOnboarded(theirs);
      let ours: any;
      const drop = async (x: any, as: any) => {
        const dis = await d.request('PATCH', `${V2}/vnf_packages/${x.id}`, { as, json: { operationalState: 'DISABLED' }, headers: { 'Content-Type': 'application/merge-patch+json' } });
        assert.equal(dis.status, 200, await dis.text());
        const del = await d.request('DELETE', `${V2}/vnf_packages/${x.id}`, { as });
        assert.equal(del.status, 204, await del.text());
      };
      try {
        await problem(await get(`${ONB(V2)}/${vnfdId}`), 404);
        assert.equal((await patch(d, 'vnf_packages', theirs.id, [{ op: 'replace', path: '/visibility', value: 'public' }], { as: d.users.admin })).status, 200);
        assert.equal((await json(`${ONB(V2)}/${vnfdId}`)).id, theirs.id);
        ours = await onboard(d, await buildPackage({ vnfdId, product: 'Shared VNF', softwareVersion: '9.9.9' }));
        assertOnboarded(ours);
        assert.equal((await json(`${ONB(V2)}/${vnfdId}`)).id, ours.id);
      } finally {
        if (ours) await drop(ours, d.users.alice);
        await drop(theirs, d.users.admin); // public: the admin's to change
      }
    });
    it('a vnfdId that reads like query syntax (or:…,…) is a plain value', async () => {
      const odd = await onboard(d, await buildPackage({ vnfdId: 'or:odd,id', product: 'Odd' }), d.users.alice2);
      assertOnboarded(odd);
      try {
        const info = await json(`${ONB(V2)}/${encodeURIComponent('or:odd,id')}`);
        assert.equal(info.id, odd.id);
        assert.equal(info._links.self.href, `${V2}/onboarded_vnf_packages/or%3Aodd%2Cid`);
        await problem(await get(`${ONB(V2)}/${encodeURIComponent('or:odd')}`), 404);
      } finally {
        await d.request('PATCH', `${V2}/vnf_packages/${odd.id}`, { json: { operationalState: 'DISABLED' }, headers: { 'Content-Type': 'application/merge-patch+json' } });
        assert.equal((await d.request('DELETE', `${V2}/vnf_packages/${odd.id}`)).status, 204);
      }
    });
    it('other methods: 405', async () => {
      await problem(await fetch(`${d.url}${ONB(V2)}/${A.vnfdId}`, { method: 'DELETE', headers: { Authorization: `Bearer ${vnfm}` } }), 405);
      await problem(await fetch(`${d.url}${ONB(V2)}/${A.vnfdId}/package_content`, { method: 'PUT', headers: { Authorization: `Bearer ${vnfm}`, 'Content-Type': 'application/zip' }, body: zipA }), 405);
    });
  });

  describe('content: same negotiation as vnf_packages, but Accept: application/json means the zip', () => {
    it('package_content with Accept: application/json → exactly application/zip, the uploaded bytes; Range works', async () => {
      for (const prefix of [V1, V2]) {
        const res = await get(`${ONB(prefix)}/${A.vnfdId}/package_content`, { Accept: 'application/json' });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-type'), 'application/zip');
        assert.deepEqual(await bytes(res), zipA);
      }
      const part = await get(`${ONB(V2)}/${A.vnfdId}/package_content`, { Range: 'bytes=0-3' });
      assert.equal(part.status, 206);
      assert.deepEqual(await bytes(part), zipA.subarray(0, 4));
    });
    it('vnfd with Accept: application/json → a zip (TOSCA.meta and Definitions), also for a single-file VNFD', async () => {
      const res = await get(`${ONB(V2)}/${A.vnfdId}/vnfd`, { Accept: 'application/json' });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/zip');
      const files = await unzip(await bytes(res));
      assert.deepEqual([...files.keys()].sort(), ['Definitions/top.yaml', 'Definitions/types.yaml', 'TOSCA-Metadata/TOSCA.meta']);
      assert.equal(files.get('Definitions/top.yaml')!.toString(), filesA.files['Definitions/top.yaml']);
      const single = await get(`${ONB(V1)}/${B.vnfdId}/vnfd`, { Accept: 'application/json' });
      assert.equal(single.headers.get('content-type'), 'application/zip');
      assert.deepEqual([...(await unzip(await bytes(single))).keys()], ['vnfd.yaml']);
      // The SOL005 resource keeps its own reading of that Accept (python-tackerclient: text/plain).
      const sol005 = await get(`${V1}/vnf_packages/${B.id}/vnfd`, { Accept: 'application/json' });
      assert.equal(sol005.headers.get('content-type'), 'text/plain');
    });
    it('vnfd: text/plain when asked for a single file; 406 for a multi-file VNFD', async () => {
      const single = await get(`${ONB(V2)}/${B.vnfdId}/vnfd`, { Accept: 'text/plain' });
      assert.equal(single.status, 200);
      assert.equal(single.headers.get('content-type'), 'text/plain');
      await problem(await get(`${ONB(V2)}/${A.vnfdId}/vnfd`, { Accept: 'text/plain' }), 406);
    });
    it('v2 manifest (text/plain) and artifacts (zip, with the non-MANO selection)', async () => {
      const m = await get(`${ONB(V2)}/${A.vnfdId}/manifest`);
      assert.equal(m.status, 200);
      assert.equal(m.headers.get('content-type'), 'text/plain');
      assert.match(await m.text(), /Source: Definitions\/top.yaml/);
      const arts = await get(`${ONB(V2)}/${A.vnfdId}/artifacts`, { Accept: 'application/json' });
      assert.equal(arts.headers.get('content-type'), 'application/zip');
      const names = [...(await unzip(await bytes(arts))).keys()].sort();
      assert.ok(names.includes('Scripts/install.sh') && names.includes('Artifacts/Events/ves.yaml'), names.join());
      const mano = await get(`${ONB(V2)}/${A.vnfdId}/artifacts?exclude_all_non_mano_artifacts`);
      assert.ok(![...(await unzip(await bytes(mano))).keys()].includes('Artifacts/Events/ves.yaml'));
      await problem(await get(`${ONB(V1)}/${A.vnfdId}/manifest`), 404);
    });
    it('artifacts/{path}: the file, byte-exact, in v1 and v2; 404 for a path not in the package', async () => {
      for (const prefix of [V1, V2]) {
        const res = await get(`${ONB(prefix)}/${A.vnfdId}/artifacts/${IMAGE_PATH}`);
        assert.equal(res.status, 200);
        assert.deepEqual(await bytes(res), imageA);
      }
      await problem(await get(`${ONB(V2)}/${A.vnfdId}/artifacts/Scripts/none.sh`), 404);
    });
  });

  describe('the TST010 SOL003 schemas', () => {
    it('list, individual VnfPkgInfo (v1), ProblemDetails and api_versions validate', async function () {
      const schemas = loadSchemas(sharedDirOrSkip(this), 'SOL003');
      assertValid(schemas.vnfPkgsInfo, await json(`${ONB(V1)}?all_fields`), 'onboarded_vnf_packages');
      for (const p of [A, B]) assertValid(schemas.vnfPkgInfo, await json(`${ONB(V1)}/${p.vnfdId}`), `onboarded_vnf_packages/${p.vnfdId}`);
      assertValid(schemas.problemDetails, await problem(await get(`${ONB(V1)}/${randomUUID()}`), 404), 'ProblemDetails');
      assertValid(schemas.apiVersions, await json(`${V1}/api_versions`), 'api_versions');
    });
  });
});
