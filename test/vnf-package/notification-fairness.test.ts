import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestDepot, type TestDepot, type TestUser } from '../helpers/depot';
import { buildPackage, onboard, V2 } from './helpers';

/**
 * Issue 9, "also check": a slow or failing notification subscriber of one project does not delay
 * another project's notifications. Project A's subscribers hold every delivery until Depot's timeout
 * (or answer 500); project B's subscriber must still hear about B's package at once.
 */
describe('notification fairness across projects (issue 9)', function () {
  let d: TestDepot;
  let server: http.Server;
  let base = '';
  const held = new Set<http.ServerResponse>();
  const posts: { path: string; at: number }[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.method === 'GET') {
          res.statusCode = 204;
          return res.end();
        }
        posts.push({ path: req.url!, at: Date.now() });
        if (req.url!.startsWith('/slow/')) {
          held.add(res); // answered only when Depot gives up (timeoutSeconds)
          res.on('close', () => held.delete(res));
          return;
        }
        res.statusCode = req.url!.startsWith('/failing/') ? 500 : 204;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    d = await startTestDepot({ notifications: { allow: ['127.0.0.0/8'], timeoutSeconds: 6, workers: 4 } });
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await d?.close();
  });

  async function subscribe(as: TestUser, path: string): Promise<void> {
    const res = await d.request('POST', `${V2}/subscriptions`, { as, json: { callbackUri: `${base}${path}` } });
    assert.equal(res.status, 201, await res.text());
  }

  it("B's subscriber is notified within 2 s while A's five slow and one failing subscribers hold their deliveries", async function () {
    this.timeout(40_000);
    const A = d.users.alice;
    const B = d.users.bob;
    for (let i = 0; i < 5; i++) await subscribe(A, `/slow/${i}`); // more than notifications.workers
    await subscribe(A, '/failing/0');
    await subscribe(B, '/fast/b');

    await onboard(d, await buildPackage({}), A);
    for (let i = 0; held.size < 2; i++) {
      assert.ok(i < 400, `A's deliveries never reached the subscriber (${held.size} held)`);
      await new Promise((r) => setTimeout(r, 25));
    }
    await onboard(d, await buildPackage({}), B);
    const onboarded = Date.now();
    for (let i = 0; !posts.some((p) => p.path === '/fast/b'); i++) {
      assert.ok(i < 400, "B's notification never came");
      await new Promise((r) => setTimeout(r, 25));
    }
    const got = posts.find((p) => p.path === '/fast/b')!;
    assert.ok(got.at - onboarded < 2000, `B's notification came ${got.at - onboarded} ms after its package was onboarded`);
    assert.ok(held.size >= 1, "A's slow deliveries were still held meanwhile");
  });
});
