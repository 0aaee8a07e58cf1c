import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { ValidateFunction } from 'ajv';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { sharedDirOrSkip } from '../helpers/shared';
import { Subscriber } from '../helpers/subscriber';
import { assertValid } from '../vnf-package/sol005-schemas';
import { NSD, createDescriptor, descriptorArchive, nsdYaml, onboardDescriptor, pnfdYaml, putDescriptorContent, waitDescriptor } from './helpers';
import { loadNsdSchemas, type NsdSchemaName } from './nsd-schemas';

/**
 * Every NSD Management representation Depot sends, validated against the TST010 v2.6.1 schemas
 * (adapted where they are wrong against SOL005: docs/conformance.md). Skipped without ../shared.
 */
describe('SOL005 NSD Management responses against the TST010 schemas', function () {
  this.timeout(120_000);
  let schemas: Record<NsdSchemaName, ValidateFunction>;
  let d: TestDepot;
  let sub: Subscriber;

  before(async function () {
    schemas = loadNsdSchemas(sharedDirOrSkip(this));
    sub = new Subscriber();
    await sub.start();
    d = await startTestDepot({ gcIntervalSeconds: 0, notifications: { allow: ['127.0.0.0/8'], retryBaseSeconds: 0.2, retryMaxSeconds: 1, maxAttempts: 4, timeoutSeconds: 5 } });
  });
  after(async () => {
    await d?.depot.db.sequelize.query(`DELETE FROM pkgm_subscriptions WHERE project IN (:projects)`, { replacements: { projects: [d.users.alice.project] } }).catch(() => undefined);
    await d?.close();
    await sub?.close();
  });

  const json = async (res: Response, status = 200) => {
    const text = await res.text();
    assert.equal(res.status, status, text);
    return JSON.parse(text);
  };
  const v = (name: NsdSchemaName, body: unknown) => assertValid(schemas[name], body, name);

  it('NsdInfo, PnfdInfo (every state), their lists, modifications, ProblemDetails, api_versions, subscriptions and every notification', async () => {
    const as = d.users.alice;
    const s = await json(await d.request('POST', `${NSD}/subscriptions`, { as, json: { callbackUri: `${sub.base}/schemas`, filter: { notificationTypes: ['NsdOnBoardingNotification', 'NsdOnboardingFailureNotification', 'NsdChangeNotification', 'NsdDeletionNotification', 'PnfdOnBoardingNotification', 'PnfdOnBoardingFailureNotification', 'PnfdDeletionNotification'] } } }), 201);
    v('NsdmSubscription', s);
    v('NsdmSubscriptions', await json(await d.request('GET', `${NSD}/subscriptions`, { as })));
    v('ApiVersionInformation', await json(await d.request('GET', `${NSD}/api_versions`)));
    v('ApiVersionInformation', await json(await d.request('GET', '/nsd/api_versions')));

    const created = await createDescriptor(d, 'nsd', as, { k: 'v' });
    v('NsdInfo', created);
    const pnfdCreated = await createDescriptor(d, 'pnfd', as, { k: 'v' });
    v('PnfdInfo', pnfdCreated);

    const pnfdId = randomUUID();
    assert.equal((await putDescriptorContent(d, 'pnfd', pnfdCreated.id, await descriptorArchive(pnfdYaml({ pnfdId }), 'pnfd'), as)).status, 202);
    v('PnfdInfo', await waitDescriptor(d, 'pnfd', pnfdCreated.id, as));
    assert.equal((await putDescriptorContent(d, 'nsd', created.id, nsdYaml({ nsdId: randomUUID(), pnfds: [pnfdId] }), as)).status, 202);
    const onboarded = await waitDescriptor(d, 'nsd', created.id, as);
    v('NsdInfo', onboarded);
    const badNsd = await onboardDescriptor(d, 'nsd', nsdYaml({ nsdId: randomUUID(), vnfds: ['nowhere'] }), as);
    assert.equal(badNsd.nsdOnboardingState, 'ERROR');
    v('NsdInfo', badNsd);
    const badPnfd = await onboardDescriptor(d, 'pnfd', 'tosca_definitions_version: tosca_simple_yaml_1_3\n', as);
    assert.equal(badPnfd.pnfdOnboardingState, 'ERROR');
    v('PnfdInfo', badPnfd);
    v('NsdInfos', await json(await d.request('GET', `${NSD}/ns_descriptors?all_fields`, { as })));
    v('PnfdInfos', await json(await d.request('GET', `${NSD}/pnf_descriptors?all_fields`, { as })));

    const merge = { 'Content-Type': 'application/merge-patch+json' };
    v('NsdInfoModification', await json(await d.request('PATCH', `${NSD}/ns_descriptors/${onboarded.id}`, { as, headers: merge, body: JSON.stringify({ nsdOperationalState: 'DISABLED', userDefinedData: { a: 1 } }) })));
    v('PnfdInfoModification', await json(await d.request('PATCH', `${NSD}/pnf_descriptors/${pnfdCreated.id}`, { as, headers: merge, body: JSON.stringify({ userDefinedData: { a: 1 } }) })));
    v('ProblemDetails', await json(await d.request('DELETE', `${NSD}/pnf_descriptors/${pnfdCreated.id}`, { as }), 409));
    v('ProblemDetails', await json(await d.request('GET', `${NSD}/ns_descriptors/${randomUUID()}`, { as }), 404));
    assert.equal((await d.request('DELETE', `${NSD}/ns_descriptors/${onboarded.id}`, { as })).status, 204);
    assert.equal((await d.request('DELETE', `${NSD}/pnf_descriptors/${pnfdCreated.id}`, { as })).status, 204);

    const received = (await sub.waitPosts('/schemas', 7)).map((r) => r.body);
    const types = received.map((b) => b.notificationType).sort();
    assert.deepEqual(types, ['NsdChangeNotification', 'NsdDeletionNotification', 'NsdOnboardingFailureNotification', 'NsdOnboardingNotification', 'PnfdDeletionNotification', 'PnfdOnboardingFailureNotification', 'PnfdOnboardingNotification']);
    for (const b of received) v(b.notificationType as NsdSchemaName, b);
  });
});
