import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { QueryTypes } from 'sequelize';
import { startTestDepot, TestDepot, testDatabaseUrl, TestUser } from '../helpers/depot';
import { matchesFilter, type PackageEvent, type PkgmNotificationsFilter } from '../../src/modules/vnf-packages/notifications';
import { canonicalFilter } from '../../src/http/sol005-subscriptions';
import { buildPackage, onboard, problem, V1, V2 } from './helpers';
import { Subscriber } from '../helpers/subscriber';

/**
 * SOL005 subscriptions and notifications against a real subscriber: an HTTP server on 127.0.0.1
 * (the config allows 127.0.0.0/8 as callback target). Every response the Depot gives is recorded
 * to check that the subscriber's credentials never come back.
 */

const PASSWORD = 's3cr3t-subscriber-password';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PkgmNotificationsFilter matching', () => {
  const e: PackageEvent = {
    notificationType: 'VnfPackageChangeNotification', changeType: 'OP_STATE_CHANGE', vnfPkgId: 'p1', vnfdId: 'd1', vnfProvider: 'Acme', vnfProductName: 'vFW',
    vnfSoftwareVersion: '1.0', vnfdVersion: '2.0', vnfmInfo: ['vnfm-a', 'vnfm-b'], operationalState: 'DISABLED', usageState: 'NOT_IN_USE', owner: 'x', visibility: 'private', sharedWith: [],
  };
  const yes: PkgmNotificationsFilter[] = [
    {}, { notificationTypes: ['VnfPackageChangeNotification'] }, { vnfdId: ['d0', 'd1'] }, { vnfPkgId: ['p1'] }, { operationalState: ['DISABLED'] },
    { usageState: ['NOT_IN_USE'] }, { vnfmInfo: ['vnfm-x', 'vnfm-b'] },
    { vnfProductsFromProviders: [{ vnfProvider: 'Other' }, { vnfProvider: 'Acme' }] },
    { vnfProductsFromProviders: [{ vnfProvider: 'Acme', vnfProducts: [{ vnfProductName: 'vFW', versions: [{ vnfSoftwareVersion: '1.0' }] }] }] },
    { vnfProductsFromProviders: [{ vnfProvider: 'Acme', vnfProducts: [{ vnfProductName: 'vFW', versions: [{ vnfSoftwareVersion: '1.0', vnfdVersions: ['1.0', '2.0'] }] }] }] },
  ];
  const no: PkgmNotificationsFilter[] = [
    { notificationTypes: ['VnfPackageOnboardingNotification'] }, { vnfdId: ['d0'] }, { vnfPkgId: ['p2'] }, { operationalState: ['ENABLED'] }, { usageState: ['IN_USE'] },
    { vnfmInfo: ['vnfm-x'] }, { vnfProductsFromProviders: [{ vnfProvider: 'acme' }] },
    { vnfProductsFromProviders: [{ vnfProvider: 'Acme', vnfProducts: [{ vnfProductName: 'vRouter' }] }] },
    { vnfProductsFromProviders: [{ vnfProvider: 'Acme', vnfProducts: [{ vnfProductName: 'vFW', versions: [{ vnfSoftwareVersion: '1.0', vnfdVersions: ['1.0'] }] }] }] },
    // AND between attributes
    { vnfdId: ['d1'], operationalState: ['ENABLED'] },
  ];
  it('matches per SOL005 9.5.3.2 (AND between attributes, OR within lists, nested levels)', () => {
    for (const f of yes) assert.equal(matchesFilter(f, e), true, JSON.stringify(f));
    for (const f of no) assert.equal(matchesFilter(f, e), false, JSON.stringify(f));
    assert.equal(matchesFilter(null, e), true);
  });
  it('canonicalises filters for the duplicate check (order of keys and list items does not matter)', () => {
    assert.equal(canonicalFilter({ vnfdId: ['b', 'a', 'a'], notificationTypes: ['X'] }), canonicalFilter({ notificationTypes: ['X'], vnfdId: ['a', 'b'] }));
    assert.equal(canonicalFilter(null), canonicalFilter({}));
    assert.notEqual(canonicalFilter({ vnfdId: ['a'] }), canonicalFilter({ vnfPkgId: ['a'] }));
  });
});

describe('SOL005 subscriptions and notifications', function () {
  let d: TestDepot;
  let sub: Subscriber;
  const texts: string[] = [];

  before(async () => {
    sub = new Subscriber();
    await sub.start();
    d = await startTestDepot({
      gcIntervalSeconds: 0,
      notifications: { allow: ['127.0.0.0/8'], retryBaseSeconds: 0.2, retryMaxSeconds: 1, maxAttempts: 4, timeoutSeconds: 5 },
    });
  });
  after(async () => {
    // a shared test database keeps no subscriptions (nor outbox rows) of this run
    await d?.depot.db.sequelize.query(`DELETE FROM pkgm_subscriptions WHERE project IN (:projects)`, { replacements: { projects: [d.users.alice.project, d.users.bob.project, d.users.admin.project] } }).catch(() => undefined);
    await d?.close();
    await sub?.close();
  });

  /** d.request, remembering the response text (credential leak check) */
  async function call(method: string, path: string, o: { as?: TestUser; json?: unknown; headers?: Record<string, string> } = {}): Promise<{ res: Response; text: string; body: any }> {
    // as d.request, but a 303 is not followed
    const headers: Record<string, string> = { Authorization: `Bearer ${(o.as ?? d.users.alice).token}`, ...(o.headers ?? {}) };
    if (o.json !== undefined) headers['Content-Type'] ??= 'application/json';
    const res = await fetch(`${d.url}${path}`, { method, headers, body: o.json !== undefined ? JSON.stringify(o.json) : undefined, redirect: 'manual' });
    const text = await res.text();
    texts.push(`${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${text}`);
    let body: any;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { res, text, body };
  }

  async function subscribe(path: string, extra: Record<string, unknown> = {}, o: { as?: TestUser; prefix?: string } = {}): Promise<any> {
    const r = await call('POST', `${o.prefix ?? V2}/subscriptions`, { as: o.as, json: { callbackUri: `${sub.base}${path}`, ...extra } });
    assert.equal(r.res.status, 201, r.text);
    return r.body;
  }

  const basic = { authType: ['BASIC'], paramsBasic: { userName: 'nfvo', password: PASSWORD } };

  it('tests the endpoint with GET before creating: 204 → 201 + Location, anything else → 422', async () => {
    const r = await call('POST', `${V2}/subscriptions`, { json: { callbackUri: `${sub.base}/handshake`, authentication: basic } });
    assert.equal(r.res.status, 201, r.text);
    assert.equal(r.res.headers.get('Location'), `${V2}/subscriptions/${r.body.id}`);
    assert.equal(r.res.headers.get('Version'), '2.1.0');
    assert.deepEqual(r.body, { id: r.body.id, callbackUri: `${sub.base}/handshake`, _links: { self: { href: `${V2}/subscriptions/${r.body.id}` } } });
    const get = sub.received.find((x) => x.method === 'GET' && x.path === '/handshake')!;
    assert.ok(get, 'the endpoint was tested with a GET');
    assert.equal(get.headers.authorization, `Basic ${Buffer.from(`nfvo:${PASSWORD}`).toString('base64')}`);

    sub.getStatus.set('/broken', 500);
    const bad = await call('POST', `${V2}/subscriptions`, { json: { callbackUri: `${sub.base}/broken` } });
    await problem(new Response(bad.text, { status: bad.res.status, headers: bad.res.headers }), 422, /answered HTTP 500, expected 204/);
    sub.getStatus.set('/ok-but-200', 200);
    assert.equal((await call('POST', `${V1}/subscriptions`, { json: { callbackUri: `${sub.base}/ok-but-200` } })).res.status, 422);
    // nothing listens there
    const dead = await call('POST', `${V2}/subscriptions`, { json: { callbackUri: 'http://127.0.0.1:1/nobody' } });
    assert.equal(dead.res.status, 422, dead.text);
    const list = await call('GET', `${V2}/subscriptions`);
    assert.deepEqual(list.body.map((s: any) => s.callbackUri), [`${sub.base}/handshake`]);
  });

  it('refuses callbacks to addresses that are not public unless the config allows them', async () => {
    const strict = await startTestDepot({ gcIntervalSeconds: 0 });
    try {
      const res = await strict.request('POST', `${V2}/subscriptions`, { json: { callbackUri: `${sub.base}/strict` } });
      const body = await problem(res, 422, /not a public address/);
      assert.ok(!JSON.stringify(body).includes(PASSWORD));
      assert.equal(sub.received.filter((x) => x.path === '/strict').length, 0, 'no request reached the target');
    } finally {
      await strict.close();
    }
  });

  it('CRUD, SOL013 filter and paging markers on GET /subscriptions, 405 for other methods', async () => {
    const a = await subscribe('/crud-a', { filter: { notificationTypes: ['VnfPackageOnboardingNotification'] } });
    const b = await subscribe('/crud-b', { filter: { vnfdId: ['x'] } });
    const one = await call('GET', `${V2}/subscriptions/${a.id}`);
    assert.equal(one.res.status, 200);
    assert.deepEqual(one.body, a);
    const filtered = await call('GET', `${V2}/subscriptions?filter=${encodeURIComponent('(eq,filter/notificationTypes,VnfPackageOnboardingNotification)')}`);
    assert.equal(filtered.res.status, 200, filtered.text);
    assert.deepEqual(filtered.body.map((s: any) => s.id), [a.id]);
    const byUri = await call('GET', `${V2}/subscriptions?filter=${encodeURIComponent(`(eq,callbackUri,${sub.base}/crud-b)`)}`);
    assert.deepEqual(byUri.body.map((s: any) => s.id), [b.id]);
    assert.equal((await call('GET', `${V2}/subscriptions?filter=(eq,nosuch,1)`)).res.status, 400);
    assert.equal((await call('GET', `${V2}/subscriptions?nextpage_opaque_marker=garbage`)).res.status, 400);
    assert.equal((await call('GET', `${V2}/subscriptions?bogus=1`)).res.status, 400);
    // a v2 subscription is not a v1 resource
    assert.equal((await call('GET', `${V1}/subscriptions/${a.id}`)).res.status, 404);
    assert.ok(!(await call('GET', `${V1}/subscriptions`)).body.some((s: any) => s.id === a.id));

    for (const [m, p] of [['PUT', '/subscriptions'], ['PATCH', '/subscriptions'], ['DELETE', '/subscriptions'], ['PATCH', `/subscriptions/${a.id}`], ['PUT', `/subscriptions/${a.id}`], ['POST', `/subscriptions/${a.id}`]]) {
      const r = await call(m, `${V2}${p}`, { json: {} });
      assert.equal(r.res.status, 405, `${m} ${p}: ${r.text}`);
    }
    assert.equal((await call('DELETE', `${V2}/subscriptions/${a.id}`)).res.status, 204);
    assert.equal((await call('GET', `${V2}/subscriptions/${a.id}`)).res.status, 404);
    assert.equal((await call('DELETE', `${V2}/subscriptions/${a.id}`)).res.status, 404);
    assert.equal((await call('GET', `${V2}/subscriptions/not-a-uuid`)).res.status, 404);
    assert.equal((await call('DELETE', `${V2}/subscriptions/${b.id}`)).res.status, 204);
  });

  it('pages GET /subscriptions (100 a page, Link rel="next" with a signed marker)', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 101; i++) ids.push((await subscribe('/paged', { filter: { vnfdId: [`vnfd-${i}`] } }, { as: d.users.bob })).id);
    const first = await call('GET', `${V2}/subscriptions`, { as: d.users.bob });
    assert.equal(first.body.length, 100);
    const link = first.res.headers.get('Link');
    assert.match(link ?? '', /rel="next"/);
    const next = new URL(/<([^>]+)>/.exec(link!)![1]);
    const second = await call('GET', `${next.pathname}${next.search}`, { as: d.users.bob });
    assert.equal(second.res.status, 200, second.text);
    assert.equal(second.res.headers.get('Link'), null);
    assert.deepEqual([...first.body, ...second.body].map((x: any) => x.id).sort(), [...ids].sort());
    // the marker is no key to another project's subscriptions
    const alice = await call('GET', `${next.pathname}${next.search}`);
    assert.ok(!alice.body.some((x: any) => ids.includes(x.id)));
    for (const id of ids) assert.equal((await call('DELETE', `${V2}/subscriptions/${id}`, { as: d.users.bob })).res.status, 204);
  });

  it('isolates projects: another project gets 404 and never sees the subscription; readers may not subscribe', async () => {
    const s = await subscribe('/alice-only');
    assert.equal((await call('GET', `${V2}/subscriptions/${s.id}`, { as: d.users.bob })).res.status, 404);
    assert.equal((await call('DELETE', `${V2}/subscriptions/${s.id}`, { as: d.users.bob })).res.status, 404);
    assert.ok(!(await call('GET', `${V2}/subscriptions`, { as: d.users.bob })).body.some((x: any) => x.id === s.id));
    // same project, other user
    assert.equal((await call('GET', `${V2}/subscriptions/${s.id}`, { as: d.users.alice2 })).res.status, 200);
    assert.equal((await call('POST', `${V2}/subscriptions`, { as: d.users.reader, json: { callbackUri: `${sub.base}/reader` } })).res.status, 403);
    assert.equal((await call('DELETE', `${V2}/subscriptions/${s.id}`)).res.status, 204);
  });

  it('answers a duplicate (same callbackUri and filter, same project) with 303 See Other to the existing one', async () => {
    const filter = { notificationTypes: ['VnfPackageChangeNotification', 'VnfPackageOnboardingNotification'], vnfdId: ['a', 'b'] };
    const s = await subscribe('/dup', { filter });
    const before = sub.received.filter((x) => x.path === '/dup').length;
    const again = await call('POST', `${V2}/subscriptions`, { json: { callbackUri: `${sub.base}/dup`, filter: { vnfdId: ['b', 'a'], notificationTypes: ['VnfPackageOnboardingNotification', 'VnfPackageChangeNotification'] } } });
    assert.equal(again.res.status, 303, again.text);
    assert.equal(again.res.headers.get('Location'), `${V2}/subscriptions/${s.id}`);
    assert.equal(again.text, '');
    assert.equal(sub.received.filter((x) => x.path === '/dup').length, before, 'no second endpoint test');
    // another filter, or another project: a new subscription
    assert.equal((await call('POST', `${V2}/subscriptions`, { json: { callbackUri: `${sub.base}/dup`, filter: { vnfdId: ['a'] } } })).res.status, 201);
    assert.equal((await call('POST', `${V2}/subscriptions`, { as: d.users.bob, json: { callbackUri: `${sub.base}/dup`, filter } })).res.status, 201);
    // no filter twice
    await subscribe('/dup-nofilter');
    assert.equal((await call('POST', `${V2}/subscriptions`, { json: { callbackUri: `${sub.base}/dup-nofilter`, filter: {} } })).res.status, 303);
  });

  it('validates PkgmSubscriptionRequest (400 with ProblemDetails)', async () => {
    const cases: [unknown, RegExp?][] = [
      [{ filter: { vnfPkgId: ['x'] } }, /vnfPkgId.*VnfPackageChangeNotification/],
      [{ filter: { notificationTypes: ['VnfPackageOnboardingNotification'], operationalState: ['ENABLED'] } }, /operationalState.*VnfPackageChangeNotification/],
      [{ filter: { usageState: ['IN_USE'] } }, /usageState/],
      [{ filter: { notificationTypes: ['VnfPackageChangeNotification'], vnfdId: ['a'], vnfPkgId: ['b'] } }, /alternatives/],
      [{ filter: { notificationTypes: ['SomethingElse'] } }],
      [{ filter: { vnfProductsFromProviders: [{ vnfProducts: [] }] } }],
      [{ filter: { bogus: 1 } }, /bogus/],
      [{ authentication: { authType: ['OAUTH2_CLIENT_CREDENTIALS'], paramsOauth2ClientCredentials: { clientId: 'x', clientPassword: PASSWORD } } }],
      [{ authentication: { authType: ['BASIC'] } }, /paramsBasic/],
      [{ extra: true }],
    ];
    for (const [extra, detail] of cases) {
      const r = await call('POST', `${V2}/subscriptions`, { json: { callbackUri: `${sub.base}/invalid`, ...(extra as object) } });
      await problem(new Response(r.text, { status: r.res.status, headers: r.res.headers }), 400, detail);
    }
    for (const callbackUri of ['ftp://127.0.0.1/x', 'not a uri', '', `http://nfvo:${PASSWORD}@127.0.0.1/x`]) {
      assert.equal((await call('POST', `${V2}/subscriptions`, { json: { callbackUri } })).res.status, 400, callbackUri);
    }
    assert.equal((await call('POST', `${V2}/subscriptions`, { json: {} })).res.status, 400);
    assert.equal(sub.received.filter((x) => x.path === '/invalid').length, 0, 'invalid requests never test the endpoint');
  });

  it('notifies onboarding, disable and delete with the exact SOL005 payloads, Basic auth, per major, only to matching subscriptions of projects that see the package', async () => {
    const all2 = await subscribe('/n/all2', { authentication: basic });
    const all1 = await subscribe('/n/all1', {}, { prefix: V1 });
    const disabled = await subscribe('/n/disabled', { filter: { notificationTypes: ['VnfPackageChangeNotification'], operationalState: ['DISABLED'] } });
    const acme = await subscribe('/n/acme', { filter: { vnfProductsFromProviders: [{ vnfProvider: 'Acme', vnfProducts: [{ vnfProductName: 'Test VNF' }] }], vnfmInfo: ['etsivnfm:v3.3.1'] } });
    await subscribe('/n/nomatch-provider', { filter: { vnfProductsFromProviders: [{ vnfProvider: 'Nobody' }] } });
    await subscribe('/n/nomatch-version', { filter: { vnfProductsFromProviders: [{ vnfProvider: 'Acme', vnfProducts: [{ vnfProductName: 'Test VNF', versions: [{ vnfSoftwareVersion: '99.0' }] }] }] } });
    await subscribe('/n/nomatch-vnfd', { filter: { vnfdId: [randomUUID()] } });
    await subscribe('/n/nomatch-vnfm', { filter: { vnfmInfo: ['other-vnfm'] } });
    await subscribe('/n/bob', {}, { as: d.users.bob });
    const gone = await subscribe('/n/deleted');
    assert.equal((await call('DELETE', `${V2}/subscriptions/${gone.id}`)).res.status, 204);

    const vnfdId = randomUUID();
    const info = await onboard(d, await buildPackage({ vnfdId }));
    assert.equal(info.onboardingState, 'ONBOARDED', JSON.stringify(info.onboardingFailureDetails));
    const pkg = info.id;

    const [on2] = await sub.waitPosts('/n/all2', 1);
    assert.equal(on2.headers['content-type'], 'application/json');
    assert.equal(on2.headers.version, '2.1.0');
    assert.equal(on2.headers.authorization, `Basic ${Buffer.from(`nfvo:${PASSWORD}`).toString('base64')}`);
    assert.match(on2.body.timeStamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    assert.deepEqual(on2.body, {
      id: on2.body.id, notificationType: 'VnfPackageOnboardingNotification', subscriptionId: all2.id, timeStamp: on2.body.timeStamp,
      vnfPkgId: pkg, vnfdId, vnfmInfo: ['etsivnfm:v3.3.1'],
      _links: { vnfPackage: { href: `${V2}/vnf_packages/${pkg}` }, subscription: { href: `${V2}/subscriptions/${all2.id}` } },
    });
    const [on1] = await sub.waitPosts('/n/all1', 1);
    assert.equal(on1.headers.version, '1.3.0');
    assert.equal(on1.headers.authorization, undefined);
    assert.deepEqual(on1.body, {
      id: on2.body.id, notificationType: 'VnfPackageOnboardingNotification', subscriptionId: all1.id, timeStamp: on2.body.timeStamp, vnfPkgId: pkg, vnfdId,
      _links: { vnfPackage: { href: `${V1}/vnf_packages/${pkg}` }, subscription: { href: `${V1}/subscriptions/${all1.id}` } },
    });

    const patch = await call('PATCH', `${V2}/vnf_packages/${pkg}`, { json: { operationalState: 'DISABLED' }, headers: { 'Content-Type': 'application/merge-patch+json' } });
    assert.equal(patch.res.status, 200, patch.text);
    const [, op2] = await sub.waitPosts('/n/all2', 2);
    assert.deepEqual(op2.body, {
      id: op2.body.id, notificationType: 'VnfPackageChangeNotification', subscriptionId: all2.id, timeStamp: op2.body.timeStamp, vnfPkgId: pkg, vnfdId,
      changeType: 'OP_STATE_CHANGE', operationalState: 'DISABLED',
      _links: { vnfPackage: { href: `${V2}/vnf_packages/${pkg}` }, subscription: { href: `${V2}/subscriptions/${all2.id}` } },
    });
    assert.notEqual(op2.body.id, on2.body.id);
    // a userDefinedData-only PATCH is no operationalState change
    assert.equal((await call('PATCH', `${V2}/vnf_packages/${pkg}`, { json: { userDefinedData: { k: 'v' } }, headers: { 'Content-Type': 'application/merge-patch+json' } })).res.status, 200);

    assert.equal((await call('DELETE', `${V2}/vnf_packages/${pkg}`)).res.status, 204);
    const [, , del2] = await sub.waitPosts('/n/all2', 3);
    assert.deepEqual(del2.body, {
      id: del2.body.id, notificationType: 'VnfPackageChangeNotification', subscriptionId: all2.id, timeStamp: del2.body.timeStamp, vnfPkgId: pkg, vnfdId,
      changeType: 'PKG_DELETE',
      _links: { vnfPackage: { href: `${V2}/vnf_packages/${pkg}` }, subscription: { href: `${V2}/subscriptions/${all2.id}` } },
    });
    const v1 = await sub.waitPosts('/n/all1', 3);
    assert.deepEqual(v1.map((n) => [n.body.notificationType, n.body.changeType, n.body.id]), [
      ['VnfPackageOnboardingNotification', undefined, on2.body.id], ['VnfPackageChangeNotification', 'OP_STATE_CHANGE', op2.body.id], ['VnfPackageChangeNotification', 'PKG_DELETE', del2.body.id],
    ]);
    const dis = await sub.waitPosts('/n/disabled', 2);
    assert.deepEqual(dis.map((n) => [n.body.changeType, n.body.subscriptionId]), [['OP_STATE_CHANGE', disabled.id], ['PKG_DELETE', disabled.id]]);
    const ac = await sub.waitPosts('/n/acme', 3);
    assert.deepEqual(ac.map((n) => n.body.subscriptionId), [acme.id, acme.id, acme.id]);

    // A package that never reached ONBOARDED is deleted without a notification.
    const draft = await call('POST', `${V2}/vnf_packages`, { json: {} });
    assert.equal((await call('DELETE', `${V2}/vnf_packages/${draft.body.id}`)).res.status, 204);

    await sleep(1000);
    for (const p of ['/n/nomatch-provider', '/n/nomatch-version', '/n/nomatch-vnfd', '/n/nomatch-vnfm', '/n/bob', '/n/deleted']) {
      assert.deepEqual(sub.posts(p).map((n) => n.body), [], `${p} must receive nothing`);
    }
    assert.equal(sub.posts('/n/all2').length, 3);
    assert.equal(sub.posts('/n/disabled').length, 2);
  });

  it('notifies changes made through the generic API too (status = operationalState, DELETE)', async () => {
    const s = await subscribe('/g/generic', { filter: { notificationTypes: ['VnfPackageChangeNotification'] } });
    const info = await onboard(d, await buildPackage());
    const patch = await call('PATCH', `/artifacts/vnf_packages/${info.id}`, { json: [{ op: 'replace', path: '/status', value: 'deactivated' }], headers: { 'Content-Type': 'application/json-patch+json' } });
    assert.equal(patch.res.status, 200, patch.text);
    // a generic change that is not a status change notifies nothing
    const tag = await call('PATCH', `/artifacts/vnf_packages/${info.id}`, { json: [{ op: 'replace', path: '/status', value: 'deactivated' }], headers: { 'Content-Type': 'application/json-patch+json' } });
    assert.equal(tag.res.status, 200, tag.text);
    const del = await call('DELETE', `/artifacts/vnf_packages/${info.id}`);
    assert.equal(del.res.status, 204, del.text);
    const got = await sub.waitPosts('/g/generic', 2);
    assert.deepEqual(got.map((n) => [n.body.changeType, n.body.operationalState, n.body.vnfPkgId, n.body.subscriptionId]), [
      ['OP_STATE_CHANGE', 'DISABLED', info.id, s.id], ['PKG_DELETE', undefined, info.id, s.id],
    ]);
    await sleep(500);
    assert.equal(sub.posts('/g/generic').length, 2);
  });

  it('retries with backoff after the subscriber fails, keeping per-subscription order; dead-letters after maxAttempts', async () => {
    sub.failures.set('/r/flaky', 2);
    const flaky = await subscribe('/r/flaky', { filter: { notificationTypes: ['VnfPackageOnboardingNotification', 'VnfPackageChangeNotification'] } });
    const info = await onboard(d, await buildPackage());
    assert.equal(info.onboardingState, 'ONBOARDED');
    const patch = await call('PATCH', `${V1}/vnf_packages/${info.id}`, { json: { operationalState: 'DISABLED' }, headers: { 'Content-Type': 'application/merge-patch+json' } });
    assert.equal(patch.res.status, 200, patch.text);
    const got = await sub.waitPosts('/r/flaky', 4);
    // three attempts of the onboarding notification (same body), then the change: never out of order
    assert.deepEqual(got.map((n) => n.body.notificationType), ['VnfPackageOnboardingNotification', 'VnfPackageOnboardingNotification', 'VnfPackageOnboardingNotification', 'VnfPackageChangeNotification']);
    assert.deepEqual(got[0].body, got[2].body);
    assert.equal(got[3].body.subscriptionId, flaky.id);

    sub.failures.set('/r/dead', 1000);
    const deadSub = await subscribe('/r/dead');
    assert.equal((await call('PATCH', `${V1}/vnf_packages/${info.id}`, { json: { operationalState: 'ENABLED' }, headers: { 'Content-Type': 'application/merge-patch+json' } })).res.status, 200);
    await sub.waitPosts('/r/dead', 4);
    const q = async () => d.depot.db.sequelize.query<{ state: string; attempts: number; last_error: string }>(
      `SELECT state, attempts, last_error FROM pkgm_notifications WHERE subscription_id = :id`, { replacements: { id: deadSub.id }, type: QueryTypes.SELECT });
    for (let i = 0; i < 100 && (await q())[0]?.state !== 'dead'; i++) await sleep(50);
    const [row] = await q();
    assert.equal(row.state, 'dead');
    assert.equal(row.attempts, 4);
    assert.match(row.last_error, /HTTP 500/);
    await sleep(600);
    assert.equal(sub.posts('/r/dead').length, 4, 'no attempt after the dead letter');
    const [flakyRow] = await d.depot.db.sequelize.query<{ state: string; attempts: number }>(
      `SELECT state, attempts FROM pkgm_notifications WHERE subscription_id = :id ORDER BY seq LIMIT 1`, { replacements: { id: flaky.id }, type: QueryTypes.SELECT });
    assert.deepEqual({ ...flakyRow }, { state: 'delivered', attempts: 3 });
  });

  it('survives a restart: a notification not yet delivered is delivered by the next process', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-subs-restart-'));
    const cfg = { gcIntervalSeconds: 0, notifications: { allow: ['127.0.0.0/8'], retryBaseSeconds: 0.5, retryMaxSeconds: 1, maxAttempts: 50, timeoutSeconds: 5 } };
    let first: TestDepot | undefined = await startTestDepot(cfg, { dataDir: dir });
    let second: TestDepot | undefined;
    try {
      sub.failures.set('/restart', 1000);
      const res = await first.request('POST', `${V2}/subscriptions`, { json: { callbackUri: `${sub.base}/restart` } });
      assert.equal(res.status, 201);
      const s = (await res.json()) as any;
      const info = await onboard(first, await buildPackage());
      assert.equal(info.onboardingState, 'ONBOARDED');
      await sub.waitPosts('/restart', 1);
      const users = first.users;
      await first.close();
      first = undefined;
      const seen = sub.posts('/restart').length;
      sub.failures.set('/restart', 0);
      second = await startTestDepot(cfg, { dataDir: dir, users });
      const got = await sub.waitPosts('/restart', seen + 1);
      assert.equal(got[got.length - 1].body.vnfPkgId, info.id);
      assert.equal(got[got.length - 1].body.subscriptionId, s.id);
      assert.deepEqual(got[got.length - 1].body, got[0].body);
      await second.depot.db.sequelize.query(`DELETE FROM pkgm_subscriptions WHERE id = :id`, { replacements: { id: s.id } });
    } finally {
      await first?.close();
      await second?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('two processes on one database deliver every notification once, in order per subscription (PostgreSQL)', async function () {
    if (!testDatabaseUrl()) return this.skip(); // embedded PGlite belongs to one process
    // A second replica: same database and, as replicas do, the same store (it may take the
    // onboarding job of the package uploaded to `d`).
    const other = await startTestDepot({ gcIntervalSeconds: 0, notifications: { allow: ['127.0.0.0/8'], workers: 4 } }, { dataDir: d.dataDir, users: d.users });
    try {
      const s1 = await subscribe('/mp/one');
      const s2 = await subscribe('/mp/two', { filter: { notificationTypes: ['VnfPackageChangeNotification'] } });
      const info = await onboard(d, await buildPackage());
      const toggles = 20;
      for (let i = 0; i < toggles; i++) {
        const r = await call('PATCH', `${V2}/vnf_packages/${info.id}`, { json: { operationalState: i % 2 ? 'ENABLED' : 'DISABLED' }, headers: { 'Content-Type': 'application/merge-patch+json' } });
        assert.equal(r.res.status, 200, r.text);
      }
      const one = await sub.waitPosts('/mp/one', toggles + 1);
      const two = await sub.waitPosts('/mp/two', toggles);
      await sleep(800);
      assert.equal(sub.posts('/mp/one').length, toggles + 1, 'no duplicate');
      assert.equal(sub.posts('/mp/two').length, toggles, 'no duplicate');
      const states = Array.from({ length: toggles }, (_, i) => (i % 2 ? 'ENABLED' : 'DISABLED'));
      assert.deepEqual(one.map((n) => n.body.operationalState ?? n.body.notificationType), ['VnfPackageOnboardingNotification', ...states]);
      assert.deepEqual(two.map((n) => n.body.operationalState), states);
      assert.ok(one.every((n) => n.body.subscriptionId === s1.id) && two.every((n) => n.body.subscriptionId === s2.id));
    } finally {
      await other.close();
    }
  });

  it('never returns the subscriber credentials', () => {
    assert.ok(texts.length > 20);
    for (const t of texts) {
      assert.ok(!t.includes(PASSWORD), t);
      assert.ok(!t.includes(Buffer.from(`nfvo:${PASSWORD}`).toString('base64')), t);
    }
  });
});
