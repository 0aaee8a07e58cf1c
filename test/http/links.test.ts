import assert from 'node:assert/strict';
import http from 'node:http';
import { loadConfig } from '../../src/config';
import { silentSubscriber } from './helpers';
import { startTestDepot, TestDepot } from '../helpers/depot';
import { create, uniq } from '../artifacts/helpers';
import { createPackage, V1, V2 } from '../vnf-package/helpers';

/** GET over node:http, so that the Host header is the one given (fetch sets its own). */
function get(d: TestDepot, path: string, host: string): Promise<{ status: number; link?: string; body: any }> {
  return new Promise((resolve, reject) => {
    const u = new URL(d.url);
    const req = http.request({ host: u.hostname, port: u.port, path, headers: { Host: host, Authorization: `Bearer ${d.users.bob.token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c)).on('end', () => resolve({ status: res.statusCode!, link: res.headers.link as string | undefined, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject).end();
  });
}

/**
 * Next-page links never come from the request's Host header (a client could make Depot hand out
 * links to any host): they are under the configured publicUrl, or relative (path and query) when it
 * is not set.
 */
describe('Link headers and the public base URL', () => {
  let d: TestDepot;
  let subscriber: Awaited<ReturnType<typeof silentSubscriber>>;
  let tag: string;
  before(async () => {
    subscriber = await silentSubscriber();
    const callback = subscriber.callback;
    d = await startTestDepot({ gcIntervalSeconds: 0, notifications: { allow: ['127.0.0.0/8'] } });
    for (let i = 0; i < 101; i++) await createPackage(d, d.users.bob);
    for (let i = 0; i < 101; i++) {
      const r = await d.request('POST', `${V2}/subscriptions`, { as: d.users.bob, json: { callbackUri: callback, filter: { vnfdId: [`links-${i}`] } } });
      assert.equal(r.status, 201, await r.text());
    }
    tag = uniq('links');
    for (let i = 0; i < 2; i++) await create(d, 'files', { name: `${tag}-${i}`, tags: [tag] }, d.users.bob);
  });
  after(async () => {
    await d?.depot.db.sequelize.query('DELETE FROM pkgm_subscriptions WHERE project IN (:projects)', { replacements: { projects: [d.users.bob.project] } }).catch(() => undefined);
    await d?.close();
    await subscriber?.close();
  });

  const lists = () => [`${V1}/vnf_packages`, `${V2}/subscriptions`, `/artifacts/files?tags=${tag}&limit=1`];

  it('without publicUrl the links are relative, whatever the Host header says', async () => {
    d.config.publicUrl = undefined;
    for (const path of lists()) {
      const r = await get(d, path, 'evil.example');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const m = /^<([^>]+)>; rel="next"$/.exec(r.link ?? '');
      assert.ok(m, `${path}: Link ${r.link}`);
      assert.ok(m[1].startsWith(`${path.split('?')[0]}?`), `${path}: ${m[1]}`);
      assert.ok(!m[1].includes('evil.example'));
    }
  });

  it('with publicUrl the links are absolute under it (a path prefix kept), and the generic body stays relative', async () => {
    d.config.publicUrl = 'https://depot.example/prefix';
    try {
      for (const path of lists()) {
        const r = await get(d, path, 'evil.example');
        const m = /^<([^>]+)>; rel="next"$/.exec(r.link ?? '');
        assert.ok(m, `${path}: Link ${r.link}`);
        assert.ok(m[1].startsWith(`https://depot.example/prefix${path.split('?')[0]}?`), `${path}: ${m[1]}`);
      }
      const generic = await get(d, lists()[2], 'evil.example');
      assert.match(generic.body.next, /^\/artifacts\/files\?/);
    } finally {
      d.config.publicUrl = d.url;
    }
  });

  it('DEPOT_PUBLIC_URL (or the file key publicUrl) is an http(s) URL; a trailing slash is dropped', () => {
    const env = { DEPOT_DATA_DIR: '/tmp/depot-links-test' };
    assert.equal(loadConfig({ ...env, DEPOT_PUBLIC_URL: 'https://depot.example/' }).publicUrl, 'https://depot.example');
    assert.equal(loadConfig(env).publicUrl, undefined);
    assert.throws(() => loadConfig({ ...env, DEPOT_PUBLIC_URL: 'depot.example' }), /DEPOT_PUBLIC_URL/);
    assert.throws(() => loadConfig({ ...env, DEPOT_PUBLIC_URL: 'https://depot.example/?q=1' }), /DEPOT_PUBLIC_URL/);
  });
});
