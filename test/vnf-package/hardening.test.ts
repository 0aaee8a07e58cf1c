import assert from 'node:assert/strict';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { assertOnboarded, buildPackage, createPackage, onboard, problem, putContent, V1, V2, waitFinal } from './helpers';

/** A 200, its body read (or the answer in the message). */
async function ok(res: Response, what: string): Promise<Buffer> {
  const body = Buffer.from(await res.arrayBuffer());
  assert.equal(res.status, 200, `${what}: ${body.toString('utf8', 0, 500)}`);
  return body;
}

/** Issue 9: VNF packages over both APIs — which bytes a disabled package still serves, and to whom. */
describe('VNF packages: hardening (issue 9)', () => {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot();
  });
  after(async () => d?.close());

  describe('a disabled package shared with another project (finding 7)', () => {
    let id: string;
    const MERGE = { 'Content-Type': 'application/merge-patch+json' };
    /** Every route that serves bytes of the package, over both APIs. */
    const byteRoutes = () => [
      `${V1}/vnf_packages/${id}/package_content`, `${V2}/vnf_packages/${id}/package_content`,
      `${V1}/vnf_packages/${id}/vnfd`, `${V2}/vnf_packages/${id}/vnfd`,
      `${V2}/vnf_packages/${id}/manifest`, `${V2}/vnf_packages/${id}/manifest?include_signatures`,
      `${V2}/vnf_packages/${id}/artifacts`,
      `${V1}/vnf_packages/${id}/artifacts/Scripts/install.sh`, `${V2}/vnf_packages/${id}/artifacts/Scripts/install.sh`,
      `/artifacts/vnf_packages/${id}/package`, `/artifacts/vnf_packages/${id}/content/`,
      `/artifacts/vnf_packages/${id}/content/Scripts/install.sh`,
    ];

    before(async () => {
      const info = await onboard(d, await buildPackage({ provider: 'Acme', product: 'Disabled', softwareVersion: '7.0.0', extra: { 'Scripts/install.sh': '#!/bin/sh\n' } }));
      assertOnboarded(info);
      id = info.id;
      const share = await d.request('PATCH', `/artifacts/vnf_packages/${id}`, { json: [{ op: 'add', path: '/shared_with/-', value: d.users.bob.project }], headers: { 'Content-Type': 'application/json-patch+json' } });
      assert.equal(share.status, 200, await share.text());
    });

    it('while ENABLED, the other project reads every byte route', async () => {
      for (const url of byteRoutes()) {
        await ok(await d.request('GET', url, { as: d.users.bob, headers: { Accept: '*/*' } }), url);
      }
    });

    it('once DISABLED, every route that serves bytes answers 403 to the other project (GET and HEAD), 200 to the owner; VnfPkgInfo stays readable', async () => {
      assert.equal((await d.request('PATCH', `${V2}/vnf_packages/${id}`, { json: { operationalState: 'DISABLED' }, headers: MERGE })).status, 200);
      for (const url of byteRoutes()) {
        const body = await problem(await d.request('GET', url, { as: d.users.bob, headers: { Accept: '*/*' } }), 403, /deactivated/);
        assert.equal(body.code, 'LIFECYCLE_RULE', url);
        assert.equal((await d.request('HEAD', url, { as: d.users.bob, headers: { Accept: '*/*' } })).status, 403, `HEAD ${url}`);
      }
      for (const url of byteRoutes()) {
        await ok(await d.request('GET', url, { headers: { Accept: '*/*' } }), `${url} (owner)`);
      }
      const info = await d.request('GET', `${V2}/vnf_packages/${id}`, { as: d.users.bob });
      assert.equal(info.status, 200);
      assert.equal(((await info.json()) as any).operationalState, 'DISABLED');
    });
  });

  describe('downloads of package content (finding 9)', () => {
    const CSP = "default-src 'none'; frame-ancestors 'none'";
    let id: string;
    before(async () => {
      const info = await onboard(d, await buildPackage({ provider: 'Acme', product: 'Headers', softwareVersion: '9.0.0', extra: { 'Scripts/install.sh': '#!/bin/sh\n', 'Files/page.html': '<script>alert(1)</script>' } }));
      assertOnboarded(info);
      id = info.id;
    });

    it('carry nosniff, the CSP and a Content-Disposition: inline for the text/plain VNFD and manifest, attachment for the rest', async () => {
      const cases: [string, Record<string, string>, string][] = [
        [`${V1}/vnf_packages/${id}/vnfd`, { Accept: 'text/plain' }, 'inline; filename="top.yaml"'],
        [`${V2}/vnf_packages/${id}/vnfd`, { Accept: 'text/plain' }, 'inline; filename="top.yaml"'],
        [`${V2}/vnf_packages/${id}/vnfd`, { Accept: 'application/zip' }, 'attachment; filename="vnfd.zip"'],
        [`${V2}/vnf_packages/${id}/manifest`, {}, 'inline; filename="manifest.mf"'],
        [`${V2}/vnf_packages/${id}/artifacts`, {}, 'attachment; filename="artifacts.zip"'],
        [`${V1}/vnf_packages/${id}/artifacts/Scripts/install.sh`, {}, 'attachment; filename="install.sh"'],
        [`${V2}/vnf_packages/${id}/artifacts/Files/page.html`, {}, 'attachment; filename="page.html"'],
        [`${V1}/vnf_packages/${id}/package_content`, {}, `attachment; filename="${id}.zip"`],
        [`${V2}/vnf_packages/${id}/package_content`, {}, `attachment; filename="${id}.zip"`],
        [`/artifacts/vnf_packages/${id}/package`, {}, 'attachment; filename="package"'],
      ];
      for (const [url, headers, disposition] of cases) {
        const res = await d.request('GET', url, { headers });
        await ok(res, url);
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff', url);
        assert.equal(res.headers.get('content-security-policy'), CSP, url);
        assert.equal(res.headers.get('content-disposition'), disposition, url);
      }
    });
  });

  describe('creating a VNF package (finding 10)', () => {
    it('the generic API refuses to create one (403 naming the SOL005 create), and nothing is created', async () => {
      const name = `generic-${Date.now()}`;
      const res = await d.request('POST', '/artifacts/vnf_packages', { json: { name } });
      const body = await problem(res, 403, /POST \/vnfpkgm\/v[12]\/vnf_packages/);
      assert.equal(body.code, 'FORBIDDEN');
      const generic = (await (await d.request('GET', `/artifacts/vnf_packages?name=${name}`)).json()) as any;
      assert.equal(generic.total_count, 0);
      const sol005 = (await (await d.request('GET', `${V2}/vnf_packages`)).json()) as any[];
      assert.ok(sol005.every((p) => p.onboardingState !== undefined), 'every package SOL005 lists has an onboardingState');
      // Nor an admin: the type owns its creation, whoever asks.
      await problem(await d.request('POST', '/artifacts/vnf_packages', { json: { name }, as: d.users.admin }), 403);
    });

    it('a package created through SOL005 shows in the generic API with its SOL005 state, and onboards', async () => {
      const pkg = await createPackage(d, undefined, undefined, V2);
      const a = (await (await d.request('GET', `/artifacts/vnf_packages/${pkg.id}`)).json()) as any;
      assert.equal(a.onboardingState, 'CREATED');
      assert.equal(a.usageState, 'NOT_IN_USE');
      assert.equal(a.name, `vnf-package-${pkg.id}`);
      assert.equal(a.status, 'drafted');
      assert.equal((await putContent(d, pkg.id, await buildPackage({ provider: 'Acme', product: 'Created', softwareVersion: '10.0.0' }))).status, 202);
      assertOnboarded(await waitFinal(d, pkg.id));
    });
  });
});
