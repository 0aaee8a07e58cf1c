import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { Subscriber } from '../helpers/subscriber';
import { matchesNsdmFilter, normaliseNsdmFilter } from '../../src/modules/ns-descriptors/notifications';
import { problem } from '../vnf-package/helpers';
import { NSD, createDescriptor, nsdYaml, onboardDescriptor, pnfdYaml, putDescriptorContent, waitDescriptor } from './helpers';

describe('NsdmNotificationsFilter matching', () => {
  const attrs = { nsdInfoId: ['i1'], nsdId: ['n1'], nsdName: ['NS'], vnfPkgIds: ['p1', 'p2'], nsdOperationalState: ['DISABLED'] };
  it('AND between attributes, OR within lists; an attribute the event lacks does not match', () => {
    for (const f of [{}, { nsdId: ['n0', 'n1'] }, { vnfPkgIds: ['p2'] }, { notificationTypes: ['NsdChangeNotification'] }, { nsdId: ['n1'], nsdOperationalState: ['DISABLED'] }]) {
      assert.equal(matchesNsdmFilter(f, 'NsdChangeNotification', attrs), true, JSON.stringify(f));
    }
    assert.equal(matchesNsdmFilter({ notificationTypes: ['NsdOnBoardingNotification'] }, 'NsdOnboardingNotification', attrs), true, 'either spelling');
    for (const f of [{ nsdId: ['n0'] }, { notificationTypes: ['NsdDeletionNotification'] }, { pnfdId: ['x'] }, { nsdId: ['n1'], nsdOperationalState: ['ENABLED'] }]) {
      assert.equal(matchesNsdmFilter(f, 'NsdChangeNotification', attrs), false, JSON.stringify(f));
    }
    assert.equal(matchesNsdmFilter(null, 'NsdChangeNotification', attrs), true);
  });
  it('takes the "OnBoarding" spellings of SOL005 v2.6.1 for the notifications\' names', () => {
    assert.deepEqual(normaliseNsdmFilter({ notificationTypes: ['NsdOnBoardingNotification', 'NsdOnboardingNotification', 'PnfdOnBoardingFailureNotification'] }), {
      notificationTypes: ['NsdOnboardingNotification', 'PnfdOnboardingFailureNotification'],
    });
  });
});

describe('SOL005 NSD management subscriptions and notifications', function () {
  this.timeout(120_000);
  let d: TestDepot;
  let sub: Subscriber;

  before(async () => {
    sub = new Subscriber();
    await sub.start();
    d = await startTestDepot({
      gcIntervalSeconds: 0,
      notifications: { allow: ['127.0.0.0/8'], retryBaseSeconds: 0.2, retryMaxSeconds: 1, maxAttempts: 4, timeoutSeconds: 5 },
    });
  });
  after(async () => {
    await d?.depot.db.sequelize.query(`DELETE FROM pkgm_subscriptions WHERE project IN (:projects)`, { replacements: { projects: [d.users.alice.project, d.users.bob.project, d.users.admin.project] } }).catch(() => undefined);
    await d?.close();
    await sub?.close();
  });

  const subscribe = async (path: string, filter?: Record<string, unknown>, as = d.users.alice) => {
    const res = await d.request('POST', `${NSD}/subscriptions`, { as, json: { callbackUri: `${sub.base}${path}`, ...(filter && { filter }) } });
    const body: any = await res.json();
    assert.equal(res.status, 201, JSON.stringify(body));
    return body;
  };

  it('POST, GET, duplicate (303), DELETE of NsdmSubscription; the VNF package API does not see it', async () => {
    const s = await subscribe('/crud', { notificationTypes: ['NsdOnBoardingNotification'] });
    assert.equal(s._links.self.href, `${NSD}/subscriptions/${s.id}`);
    assert.deepEqual(s.filter, { notificationTypes: ['NsdOnBoardingNotification'] }, 'the filter as sent');
    assert.ok(sub.received.some((r) => r.method === 'GET' && r.path === '/crud' && r.headers.version === '1.2.0'), 'the endpoint test carries the NSD API version');
    // The same subscription again, a 303 not followed.
    let res = await fetch(`${d.url}${NSD}/subscriptions`, {
      method: 'POST', redirect: 'manual', headers: { Authorization: `Bearer ${d.users.alice.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ callbackUri: `${sub.base}/crud`, filter: { notificationTypes: ['NsdOnboardingNotification'] } }),
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), `${NSD}/subscriptions/${s.id}`);
    res = await d.request('GET', `${NSD}/subscriptions/${s.id}`, { as: d.users.alice });
    assert.equal(res.status, 200);
    const list: any[] = (await (await d.request('GET', `${NSD}/subscriptions`, { as: d.users.alice })).json()) as any[];
    assert.ok(list.some((x) => x.id === s.id));
    await problem(await d.request('GET', `/vnfpkgm/v2/subscriptions/${s.id}`, { as: d.users.alice }), 404);
    await problem(await d.request('GET', `${NSD}/subscriptions/${s.id}`, { as: d.users.bob }), 404);
    await problem(await d.request('POST', `${NSD}/subscriptions`, { as: d.users.alice, json: { callbackUri: `${sub.base}/x`, filter: { nsdId: ['a'], nsdInfoId: ['b'] } } }), 400, /alternatives/);
    await problem(await d.request('POST', `${NSD}/subscriptions`, { as: d.users.alice, json: { callbackUri: `${sub.base}/x`, filter: { vnfdId: ['a'] } } }), 400);
    assert.equal((await d.request('DELETE', `${NSD}/subscriptions/${s.id}`, { as: d.users.alice })).status, 204);
    await problem(await d.request('GET', `${NSD}/subscriptions/${s.id}`, { as: d.users.alice }), 404);
  });

  it('NSD and PNFD onboarding, onboarding failure, change and deletion notifications are delivered', async () => {
    await subscribe('/all');
    const pnfdSub = await subscribe('/pnfd', { notificationTypes: ['PnfdOnBoardingNotification', 'PnfdDeletionNotification'] });
    await subscribe('/bob', undefined, d.users.bob);

    const pnfdId = randomUUID();
    const pnfd = await onboardDescriptor(d, 'pnfd', pnfdYaml({ pnfdId }), d.users.alice);
    const nsdId = randomUUID();
    const nsd = await onboardDescriptor(d, 'nsd', nsdYaml({ nsdId, pnfds: [pnfdId] }), d.users.alice);
    assert.equal(nsd.nsdOnboardingState, 'ONBOARDED');
    const bad = await createDescriptor(d, 'nsd', d.users.alice);
    assert.equal((await putDescriptorContent(d, 'nsd', bad.id, 'not: [a, tosca, template', d.users.alice)).status, 202);
    assert.equal((await waitDescriptor(d, 'nsd', bad.id, d.users.alice)).nsdOnboardingState, 'ERROR');
    const merge = { 'Content-Type': 'application/merge-patch+json' };
    assert.equal((await d.request('PATCH', `${NSD}/ns_descriptors/${nsd.id}`, { as: d.users.alice, headers: merge, body: JSON.stringify({ nsdOperationalState: 'DISABLED' }) })).status, 200);
    assert.equal((await d.request('DELETE', `${NSD}/ns_descriptors/${nsd.id}`, { as: d.users.alice })).status, 204);
    assert.equal((await d.request('DELETE', `${NSD}/pnf_descriptors/${pnfd.id}`, { as: d.users.alice })).status, 204);

    const all = (await sub.waitPosts('/all', 6)).map((r) => r.body);
    const byType = (t: string) => all.filter((b) => b.notificationType === t);
    const [pOn] = byType('PnfdOnboardingNotification');
    assert.deepEqual({ pnfdInfoId: pOn.pnfdInfoId, pnfdId: pOn.pnfdId }, { pnfdInfoId: pnfd.id, pnfdId });
    assert.equal(pOn._links.pnfdInfo.href, `${NSD}/pnf_descriptors/${pnfd.id}`);
    const [nOn] = byType('NsdOnboardingNotification');
    assert.deepEqual({ nsdInfoId: nOn.nsdInfoId, nsdId: nOn.nsdId }, { nsdInfoId: nsd.id, nsdId });
    assert.equal(nOn._links.nsdInfo.href, `${NSD}/ns_descriptors/${nsd.id}`);
    assert.match(nOn._links.subscription.href, /^\/nsd\/v1\/subscriptions\//);
    const [fail] = byType('NsdOnboardingFailureNotification');
    assert.equal(fail.nsdInfoId, bad.id);
    assert.equal(fail.onboardingFailureDetails.status, 422);
    assert.ok(fail.onboardingFailureDetails.findings.length > 0);
    const [change] = byType('NsdChangeNotification');
    assert.equal(change.nsdOperationalState, 'DISABLED');
    assert.equal(byType('NsdDeletionNotification')[0].nsdInfoId, nsd.id);
    assert.equal(byType('PnfdDeletionNotification')[0].pnfdInfoId, pnfd.id);
    for (const r of sub.posts('/all')) assert.equal(r.headers.version, '1.2.0');
    // Order of events per subscriber is kept.
    assert.deepEqual(all.map((b) => b.notificationType), ['PnfdOnboardingNotification', 'NsdOnboardingNotification', 'NsdOnboardingFailureNotification', 'NsdChangeNotification', 'NsdDeletionNotification', 'PnfdDeletionNotification']);

    const pnfdOnly = (await sub.waitPosts('/pnfd', 2)).map((r) => r.body);
    assert.deepEqual(pnfdOnly.map((b) => b.notificationType), ['PnfdOnboardingNotification', 'PnfdDeletionNotification']);
    assert.ok(pnfdOnly.every((b) => b.subscriptionId === pnfdSub.id));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sub.posts('/bob').length, 0, 'another project hears nothing of alice\'s private descriptors');
  });
});
