import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { buildZip } from '../helpers/csar-builder';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { NsdProfile } from '../../src/modules/ns-descriptors/profile';
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
    // The nested NSD: an archive without TOSCA-Metadata (nsd.yaml + nsd.mf at the root).
    const inner = await onboardDescriptor(d, 'nsd', await descriptorArchive(nsdYaml({ nsdId: innerId, vnfds: [vnfdId] }), 'nsd', 'single'));
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

  it('a single-file NSD uploaded as text/plain: nsd_content served as text/plain (and Range), and as a ZIP', async () => {
    const yaml = nsdYaml({ nsdId: randomUUID() });
    const info = await onboardDescriptor(d, 'nsd', yaml);
    assertDescriptorOnboarded(info, 'nsd');
    const url = `${NSD}/ns_descriptors/${info.id}/nsd_content`;
    let res = await d.request('GET', url, { headers: { Accept: 'text/plain' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain');
    assert.equal(await res.text(), yaml);
    res = await d.request('GET', url, { headers: { Accept: 'text/plain', Range: 'bytes=0-9' } });
    assert.equal(res.status, 206);
    assert.equal(await res.text(), yaml.slice(0, 10));
    res = await d.request('GET', url, { headers: { Accept: 'application/zip' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
    const zip = Buffer.from(await res.arrayBuffer());
    assert.equal(zip.subarray(0, 2).toString(), 'PK');
    res = await d.request('GET', url, { headers: { Accept: 'application/zip', Range: 'bytes=0-3' } });
    assert.equal(res.status, 206);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), zip.subarray(0, 4));
    res = await d.request('GET', url, { headers: { Accept: 'application/json' } });
    assert.equal(res.status, 200, 'Accept: application/json reads as no preference (as for VNF packages)');
  });

  it('nsd_content of an archive with TOSCA.meta is a ZIP (text/plain alone: the single descriptor file)', async () => {
    const yaml = nsdYaml({ nsdId: randomUUID() });
    const archive = await descriptorArchive(yaml, 'nsd');
    const info = await onboardDescriptor(d, 'nsd', archive);
    assertDescriptorOnboarded(info, 'nsd');
    const url = `${NSD}/ns_descriptors/${info.id}/nsd_content`;
    let res = await d.request('GET', url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), archive);
    res = await d.request('GET', url, { headers: { Accept: 'text/plain' } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), yaml);
    await problem(await d.request('GET', url, { headers: { Accept: 'image/png' } }), 406);
  });

  it('nsd_content before onboarding is 409; an unknown content type is 415; an unknown id is 404', async () => {
    const info = await createDescriptor(d, 'nsd');
    assert.equal(info.nsdOnboardingState, 'CREATED');
    assert.equal(info.nsdOperationalState, 'DISABLED');
    assert.equal(info._links.nsd_content.href, `${NSD}/ns_descriptors/${info.id}/nsd_content`);
    await problem(await d.request('GET', `${NSD}/ns_descriptors/${info.id}/nsd_content`), 409, /CREATED/);
    await problem(await putDescriptorContent(d, 'nsd', info.id, Buffer.from('x'), undefined, 'image/png'), 415);
    await problem(await d.request('GET', `${NSD}/ns_descriptors/${randomUUID()}`), 404);
  });

  it('an NSD that is not valid: ERROR with every finding; the same NSD id may then be uploaded again', async () => {
    const nsdId = randomUUID();
    const broken = nsdYaml({ nsdId }).replace(/ {8}designer: Acme\n/, '').replace('flavour_id: default', 'flavour_id: default\n        bogus: 1');
    const info = await createDescriptor(d, 'nsd');
    assert.equal((await putDescriptorContent(d, 'nsd', info.id, broken)).status, 202);
    const failed = await waitDescriptor(d, 'nsd', info.id);
    assert.equal(failed.nsdOnboardingState, 'ERROR');
    const rules = failed.onboardingFailureDetails.findings.map((f: any) => f.rule);
    assert.ok(rules.includes('SOL001-NS-PROPERTY') || rules.includes('TOSCA-REQUIRED-PROPERTY'), fmt(failed.onboardingFailureDetails.findings));
    assert.ok(rules.includes('TOSCA-UNKNOWN-PROPERTY'), fmt(failed.onboardingFailureDetails.findings));
    assert.equal((await putDescriptorContent(d, 'nsd', info.id, nsdYaml({ nsdId }))).status, 202);
    assertDescriptorOnboarded(await waitDescriptor(d, 'nsd', info.id), 'nsd');
  });

  it('a second NSD of the same nsdId in a project ends in ERROR (NSD-DUPLICATE-NSD-ID)', async () => {
    const nsdId = randomUUID();
    assertDescriptorOnboarded(await onboardDescriptor(d, 'nsd', nsdYaml({ nsdId })), 'nsd');
    const again = await onboardDescriptor(d, 'nsd', nsdYaml({ nsdId }));
    assert.equal(again.nsdOnboardingState, 'ERROR');
    assert.ok(again.onboardingFailureDetails.findings.some((f: any) => f.rule === 'NSD-DUPLICATE-NSD-ID'));
  });

  it('PATCH: merge-patch of userDefinedData and nsdOperationalState with If-Match; DELETE rules', async () => {
    const info = await onboardDescriptor(d, 'nsd', nsdYaml({ nsdId: randomUUID() }));
    const url = `${NSD}/ns_descriptors/${info.id}`;
    let res = await d.request('GET', url);
    const etag = res.headers.get('etag')!;
    assert.ok(etag);
    await problem(await d.request('PATCH', url, { headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': '"nope"' }, body: JSON.stringify({ nsdOperationalState: 'DISABLED' }) }), 412);
    await problem(await d.request('PATCH', url, { headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ nsdOperationalState: 'ENABLED' }) }), 409, /already ENABLED/);
    await problem(await d.request('PATCH', url, { headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ operationalState: 'DISABLED' }) }), 400);
    await problem(await d.request('DELETE', url), 409, /ENABLED/);
    res = await d.request('PATCH', url, { headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': etag }, body: JSON.stringify({ nsdOperationalState: 'DISABLED', userDefinedData: { a: 1, b: 2 } }) });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { nsdOperationalState: 'DISABLED', userDefinedData: { a: 1, b: 2 } });
    assert.notEqual(res.headers.get('etag'), etag);
    res = await d.request('PATCH', url, { headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ userDefinedData: { a: null, c: 3 } }) });
    assert.equal(res.status, 200);
    const after: any = await (await d.request('GET', `${url}?all_fields`)).json();
    assert.equal(after.nsdOperationalState, 'DISABLED');
    assert.deepEqual(after.userDefinedData, { b: 2, c: 3 });
    assert.equal((await d.request('DELETE', url)).status, 204);
    await problem(await d.request('GET', url), 404);
    // A descriptor never uploaded may be deleted at once.
    const fresh = await createDescriptor(d, 'nsd');
    assert.equal((await d.request('DELETE', `${NSD}/ns_descriptors/${fresh.id}`)).status, 204);
  });

  it('PNF descriptors: PATCH of userDefinedData (no operational state), DELETE', async () => {
    const info = await onboardDescriptor(d, 'pnfd', await descriptorArchive(pnfdYaml({ pnfdId: randomUUID() }), 'pnfd'));
    assertDescriptorOnboarded(info, 'pnfd');
    const url = `${NSD}/pnf_descriptors/${info.id}`;
    await problem(await d.request('PATCH', url, { headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ nsdOperationalState: 'DISABLED' }) }), 400);
    const res = await d.request('PATCH', url, { headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ userDefinedData: { site: 'lab' } }) });
    assert.equal(res.status, 200);
    const got: any = await (await d.request('GET', url)).json();
    assert.deepEqual(got.userDefinedData, { site: 'lab' });
    assert.equal(got.pnfdOnboardingState, 'ONBOARDED');
    assert.equal(got.pnfdUsageState, 'NOT_IN_USE');
    assert.equal((await d.request('DELETE', url)).status, 204);
    await problem(await d.request('GET', url), 404);
  });

  it('references are links: a referenced VNF package, PNFD or nested NSD cannot be deleted (409 naming the NSD) until the NSD goes', async () => {
    const vnfdId = randomUUID();
    const vnf = await onboard(d, await buildPackage({ vnfdId, product: `L-${vnfdId.slice(0, 8)}` }));
    assertOnboarded(vnf);
    const pnfdId = randomUUID();
    const pnfd = await onboardDescriptor(d, 'pnfd', pnfdYaml({ pnfdId }));
    const innerId = randomUUID();
    const inner = await onboardDescriptor(d, 'nsd', nsdYaml({ nsdId: innerId }));
    const outer = await onboardDescriptor(d, 'nsd', nsdYaml({ nsdId: randomUUID(), vnfds: [vnfdId], pnfds: [pnfdId], nested: [innerId] }));
    assertDescriptorOnboarded(outer, 'nsd');
    const merge = { 'Content-Type': 'application/merge-patch+json' };
    assert.equal((await d.request('PATCH', `${V2}/vnf_packages/${vnf.id}`, { headers: merge, body: JSON.stringify({ operationalState: 'DISABLED' }) })).status, 200);
    let p = await problem(await d.request('DELETE', `${V2}/vnf_packages/${vnf.id}`), 409, new RegExp(outer.id));
    assert.equal(p.code, 'LINKED');
    assert.deepEqual(p.linkedFrom.map((l: any) => l.id), [outer.id]);
    p = await problem(await d.request('DELETE', `${NSD}/pnf_descriptors/${pnfd.id}`), 409, new RegExp(outer.id));
    assert.equal(p.code, 'LINKED');
    assert.equal((await d.request('PATCH', `${NSD}/ns_descriptors/${inner.id}`, { headers: merge, body: JSON.stringify({ nsdOperationalState: 'DISABLED' }) })).status, 200);
    await problem(await d.request('DELETE', `${NSD}/ns_descriptors/${inner.id}`), 409, new RegExp(outer.id));
    // The generic API holds the same rule.
    await problem(await d.request('DELETE', `/artifacts/vnf_packages/${vnf.id}`), 409, new RegExp(outer.id));
    assert.equal((await d.request('PATCH', `${NSD}/ns_descriptors/${outer.id}`, { headers: merge, body: JSON.stringify({ nsdOperationalState: 'DISABLED' }) })).status, 200);
    assert.equal((await d.request('DELETE', `${NSD}/ns_descriptors/${outer.id}`)).status, 204);
    assert.equal((await d.request('DELETE', `${V2}/vnf_packages/${vnf.id}`)).status, 204);
    assert.equal((await d.request('DELETE', `${NSD}/pnf_descriptors/${pnfd.id}`)).status, 204);
    assert.equal((await d.request('DELETE', `${NSD}/ns_descriptors/${inner.id}`)).status, 204);
  });

  it('references resolve only to what the NSD project may see: another project\'s private VNF package is not onboarded for it', async () => {
    const vnfdId = randomUUID();
    assertOnboarded(await onboard(d, await buildPackage({ vnfdId, product: `V-${vnfdId.slice(0, 8)}` }), d.users.bob));
    const info = await onboardDescriptor(d, 'nsd', nsdYaml({ nsdId: randomUUID(), vnfds: [vnfdId] }), d.users.alice);
    assert.equal(info.nsdOnboardingState, 'ERROR');
    const f = info.onboardingFailureDetails.findings.find((x: any) => x.rule === 'NSD-VNFD-NOT-ONBOARDED');
    assert.ok(f);
    assert.ok(!JSON.stringify(info.onboardingFailureDetails).includes(d.users.bob.project), 'no other project named');
  });

  it('GET ns_descriptors: SOL013 filter, legacy attribute filter, selectors', async () => {
    const name = `Filtered ${randomUUID().slice(0, 8)}`;
    const nsdId = randomUUID();
    const created = await createDescriptor(d, 'nsd', undefined, { tag: 'x' });
    assert.equal((await putDescriptorContent(d, 'nsd', created.id, nsdYaml({ nsdId, name }))).status, 202);
    const info = await waitDescriptor(d, 'nsd', created.id);
    assertDescriptorOnboarded(info, 'nsd');
    assert.deepEqual(info.userDefinedData, { tag: 'x' });
    let res = await d.request('GET', `${NSD}/ns_descriptors?filter=${encodeURIComponent(`(eq,nsdName,${name})`)}`);
    assert.equal(res.status, 200);
    let list = (await res.json()) as any[];
    assert.deepEqual(list.map((x) => x.id), [info.id]);
    res = await d.request('GET', `${NSD}/ns_descriptors?nsdId=${nsdId}`);
    list = (await res.json()) as any[];
    assert.deepEqual(list.map((x) => x.id), [info.id]);
    assert.equal(list[0].userDefinedData, undefined, 'userDefinedData is excluded from lists by default');
    res = await d.request('GET', `${NSD}/ns_descriptors?filter=${encodeURIComponent(`(eq,nsdId,${nsdId})`)}&fields=userDefinedData`);
    list = (await res.json()) as any[];
    assert.deepEqual(list[0].userDefinedData, { tag: 'x' });
    res = await d.request('GET', `${NSD}/ns_descriptors?filter=${encodeURIComponent(`(eq,userDefinedData/tag,x);(eq,nsdId,${nsdId})`)}`);
    assert.equal(((await res.json()) as any[]).length, 1);
    await problem(await d.request('GET', `${NSD}/ns_descriptors?filter=(eq,nope,1)`), 400);
    await problem(await d.request('GET', `${NSD}/ns_descriptors?wrongName=1`), 400);
    res = await d.request('GET', `${NSD}/pnf_descriptors?filter=(eq,pnfdOnboardingState,ONBOARDED)`);
    assert.equal(res.status, 200);
  });

  it('the manifest metadata must name the NSD the descriptor describes (NSD-MANIFEST-MISMATCH)', async () => {
    const yaml = nsdYaml({ nsdId: randomUUID(), name: 'Real Name' });
    const archive = await descriptorArchive(yaml, 'nsd', 'meta', {
      nsd_designer: 'Acme', nsd_invariant_id: /invariant_id: (\S+)/.exec(yaml)![1], nsd_name: 'Other Name', nsd_release_date_time: '2026-12-01T10:00:00+00:00', nsd_file_structure_version: '1.0',
    });
    const info = await onboardDescriptor(d, 'nsd', archive);
    assert.equal(info.nsdOnboardingState, 'ERROR');
    const f = info.onboardingFailureDetails.findings.find((x: any) => x.rule === 'NSD-MANIFEST-MISMATCH');
    assert.ok(f, fmt(info.onboardingFailureDetails.findings));
    assert.equal(f.file, 'manifest.mf');
    assert.match(f.message, /nsd_name "Other Name" differs from the descriptor's name "Real Name"/);
  });

  it('a multi-file NSD (types imported from the archive): nsd_content is a ZIP only', async () => {
    const types = `tosca_definitions_version: tosca_simple_yaml_1_3
imports: [ etsi_nfv_sol001_nsd_types.yaml ]
node_types:
  depot.t.NS:
    derived_from: tosca.nodes.nfv.NS
`;
    const yaml = nsdYaml({ nsdId: randomUUID() }).replace('  - etsi_nfv_sol001_nsd_types.yaml', '  - etsi_nfv_sol001_nsd_types.yaml\n  - types.yaml').replace('type: tosca.nodes.nfv.NS', 'type: depot.t.NS');
    const archive = await buildZip({
      'TOSCA-Metadata/TOSCA.meta': 'TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\nCreated-By: Depot tests\nEntry-Definitions: Definitions/nsd.yaml\nETSI-Entry-Manifest: manifest.mf\n',
      'Definitions/nsd.yaml': yaml, 'Definitions/types.yaml': types,
    }, { manifest: { metadata: { nsd_designer: 'Acme', nsd_invariant_id: /invariant_id: (\S+)/.exec(yaml)![1], nsd_name: /\n {8}name: (.+)\n/.exec(yaml)![1], nsd_release_date_time: '2026-12-01T10:00:00+00:00', nsd_file_structure_version: '1.0' } } });
    const info = await onboardDescriptor(d, 'nsd', archive);
    assertDescriptorOnboarded(info, 'nsd');
    const url = `${NSD}/ns_descriptors/${info.id}/nsd_content`;
    await problem(await d.request('GET', url, { headers: { Accept: 'text/plain' } }), 406, /2 files/);
    const res = await d.request('GET', url, { headers: { Accept: 'text/plain, application/zip' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
  });

  it('at activation, a reference resolved earlier must still be onboarded: it is locked until the commit, or the NSD ends in ERROR', async () => {
    const vnfdId = randomUUID();
    const vnf = await onboard(d, await buildPackage({ vnfdId, product: `S-${vnfdId.slice(0, 8)}` }));
    assertOnboarded(vnf);
    const nsd = await createDescriptor(d, 'nsd');
    const { engine } = d.depot;
    const profile = new NsdProfile(engine, d.depot.log);
    const record = (await engine.load(nsd.id))!;
    const facts = { references: [], descriptorFiles: [], resolved: { vnfd: [vnf.id], pnfd: [], nsd: [] } };
    assert.deepEqual(await engine.transaction((t) => profile.settle(t, record, facts)), []);
    // Deleted since the references were checked: the activation must not link to it.
    const merge = { 'Content-Type': 'application/merge-patch+json' };
    assert.equal((await d.request('PATCH', `${V2}/vnf_packages/${vnf.id}`, { headers: merge, body: JSON.stringify({ operationalState: 'DISABLED' }) })).status, 200);
    assert.equal((await d.request('DELETE', `${V2}/vnf_packages/${vnf.id}`)).status, 204);
    const late = await engine.transaction((t) => profile.settle(t, record, facts));
    assert.deepEqual(late.map((f) => [f.rule, f.severity]), [['NSD-VNFD-NOT-ONBOARDED', 'error']]);
    assert.match(late[0].message, new RegExp(vnf.id));
    // Another project's private package is not visible to the NSD's project at activation either.
    const bobs = await onboard(d, await buildPackage({ vnfdId: randomUUID(), product: `B-${vnfdId.slice(0, 8)}` }), d.users.bob);
    const hidden = await engine.transaction((t) => profile.settle(t, record, { ...facts, resolved: { vnfd: [bobs.id], pnfd: [], nsd: [] } }));
    assert.equal(hidden.length, 1);
  });
});
