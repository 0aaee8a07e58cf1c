import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { buildPackage, onboard, assertOnboarded, problem, V2, fmt } from '../vnf-package/helpers';
import {
  NSD, assertDescriptorOnboarded, createDescriptor, descriptorArchive, nsdYaml, onboardDescriptor, pnfdYaml, putDescriptorContent, waitDescriptor,
} from './helpers';

describe('SOL005 NSD Management: NS and PNF descriptors', function () {
  this.timeout(120_000);
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot();
  });
  after(async () => d?.close());

  it('api_versions, before and after the major, without a token', async () => {
    for (const p of ['/nsd/api_versions', `${NSD}/api_versions`]) {
      const res = await fetch(`${d.url}${p}`);
      assert.equal(res.status, 200);
      const body: any = await res.json();
      assert.deepEqual(body.apiVersions, [{ version: '1.2.0', isDeprecated: false }]);
    }
  });

  it('an NSD with TOSCA.meta referencing a VNFD not onboarded ends in ERROR with a finding at the reference line', async () => {
    const vnfdId = `missing-${randomUUID()}`;
    const yaml = nsdYaml({ nsdId: randomUUID(), vnfds: [vnfdId] });
    const info = await onboardDescriptor(d, 'nsd', await descriptorArchive(yaml, 'nsd'));
    assert.equal(info.nsdOnboardingState, 'ERROR');
    const f = info.onboardingFailureDetails.findings.find((x: any) => x.rule === 'NSD-VNFD-NOT-ONBOARDED');
    assert.ok(f, fmt(info.onboardingFailureDetails.findings));
    assert.equal(f.file, 'Definitions/nsd.yaml');
    const line = yaml.split('\n').findIndex((l) => l.includes(`descriptor_id: ${vnfdId}`)) + 1;
    assert.equal(f.line, line);
    assert.match(f.message, new RegExp(vnfdId));
    assert.equal(info.onboardingFailureDetails.status, 422);
    assert.equal(info.nsdOperationalState, 'DISABLED');
  });

  it('an NSD onboarded after its VNF package, PNFD and nested NSD: ONBOARDED with the ids filled', async () => {
    const vnfdId = randomUUID();
    const vnf = await onboard(d, await buildPackage({ vnfdId, product: `P-${vnfdId.slice(0, 8)}` }));
    assertOnboarded(vnf);
    const pnfdId = randomUUID();
    const pnfd = await onboardDescriptor(d, 'pnfd', await descriptorArchive(pnfdYaml({ pnfdId }), 'pnfd', 'single'));
    assertDescriptorOnboarded(pnfd, 'pnfd');
    assert.equal(pnfd.pnfdId, pnfdId);
    assert.equal(pnfd.pnfdProvider, 'Acme');
    const innerId = randomUUID();
    const inner = await onboardDescriptor(d, 'nsd', nsdYaml({ nsdId: innerId, vnfds: [vnfdId] }));
    assertDescriptorOnboarded(inner, 'nsd');
    const nsdId = randomUUID();
    const outer = await onboardDescriptor(d, 'nsd', await descriptorArchive(nsdYaml({ nsdId, name: 'Outer NS', vnfds: [vnfdId], pnfds: [pnfdId], nested: [innerId] }), 'nsd'));
    assertDescriptorOnboarded(outer, 'nsd');
    assert.equal(outer.nsdId, nsdId);
    assert.equal(outer.nsdName, 'Outer NS');
    assert.equal(outer.nsdDesigner, 'Acme');
    assert.equal(outer.nsdVersion, '1.0');
    assert.equal(outer.nsdInvariantId, `${nsdId}-inv`);
    assert.deepEqual(outer.vnfPkgIds, [vnf.id]);
    assert.deepEqual(outer.pnfdInfoIds, [pnfd.id]);
    assert.deepEqual(outer.nestedNsdInfoIds, [inner.id]);
    assert.equal(outer.nsdOperationalState, 'ENABLED');
    assert.equal(outer.nsdUsageState, 'NOT_IN_USE');
  });
});
