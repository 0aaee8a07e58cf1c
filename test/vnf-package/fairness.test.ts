import assert from 'node:assert/strict';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { slowPut, trickleServer, type SlowPut, type TrickleServer } from '../helpers/slow-client';
import { assertError, assertOnboarded, buildPackage, createPackage, putContent, V1, V2, waitFinal } from './helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Issue 9 finding 1: one project's slow work never stalls another project's onboarding. Loopback
 * only: a local server trickles bytes to Depot's fetches (uploadFromUri.allow lists 127.0.0.0/8).
 */
describe('tenant fairness: slow fetches and stalled uploads (issue 9)', function () {
  let server: TrickleServer;
  beforeEach(async () => {
    server = await trickleServer(2000);
  });
  // ends the trickling answers first, so that stopping a service does not wait for its fetches
  afterEach(async () => server?.close());

  const fromUri = (d: TestDepot, id: string, uri: string, as = d.users.alice) =>
    d.request('POST', `${V1}/vnf_packages/${id}/package_content/upload_from_uri`, { as, json: { addressInformation: uri } });

  describe('stalls.fetchSeconds: 1', () => {
    let d: TestDepot;
    before(async () => {
      d = await startTestDepot({ uploadFromUri: { allow: ['127.0.0.0/8'] }, stalls: { fetchSeconds: 1 } });
    });
    after(async () => d?.close());

    it('a fetch from a server trickling a byte every 2 s ends ERROR with a finding naming the stall, long before timeoutSeconds', async () => {
      const p = await createPackage(d);
      const started = Date.now();
      assert.equal((await fromUri(d, p.id, `${server.base}/trickle/one`)).status, 202);
      const info = await waitFinal(d, p.id, undefined, 10_000);
      const findings = assertError(info, 'VNFPKG-FETCH-FAILED');
      assert.match(findings.find((f: any) => f.rule === 'VNFPKG-FETCH-FAILED').message, /\(STALLED\).*stalled: \d+ byte\(s\) in [\d.]+ s/);
      assert.ok(Date.now() - started < 6000, `ERROR after ${Date.now() - started} ms`);
    });
  });

  describe('load: project A fetches slowly and stalls uploads while project B onboards (default stall settings)', () => {
    let d: TestDepot;
    const puts: SlowPut[] = [];
    before(async () => {
      d = await startTestDepot({ uploadFromUri: { allow: ['127.0.0.0/8'] } });
    });
    afterEach(() => puts.forEach((p) => p.stop()));
    after(async () => d?.close());

    it("B's package, uploaded or fetched, reaches ONBOARDED within 10 s while A's fetches trickle and A's uploads stall", async function () {
      this.timeout(60_000);
      const A = d.users.alice;
      const B = d.users.bob;
      // A: more slow fetches than there are fetch workers, and uploads that stall after 100 bytes.
      const aFetches: string[] = [];
      for (let i = 0; i < 3; i++) {
        const p = await createPackage(d, A);
        assert.equal((await fromUri(d, p.id, `${server.base}/trickle/a${i}`, A)).status, 202);
        aFetches.push(p.id);
      }
      const zipA = await buildPackage({});
      for (let i = 0; i < 3; i++) {
        const p = await createPackage(d, A);
        puts.push(slowPut(d.url, `${V1}/vnf_packages/${p.id}/package_content`, A.token, { 'Content-Type': 'application/zip', 'Content-Length': String(zipA.length) }, zipA.subarray(0, 100)));
      }
      for (let i = 0; !server.requests.some((r) => r.startsWith('/trickle/a')); i++) {
        assert.ok(i < 200, "A's fetch never reached the server");
        await sleep(25);
      }
      await sleep(300);

      // B: one direct upload and one fetch, while A's work is in flight.
      const direct = await createPackage(d, B);
      const zipB = await buildPackage({});
      const fetched = await createPackage(d, B);
      server.files.set('/b.zip', await buildPackage({}));
      const t0 = Date.now();
      assert.equal((await putContent(d, direct.id, zipB, B)).status, 202);
      assert.equal((await fromUri(d, fetched.id, `${server.base}/b.zip`, B)).status, 202);
      const [one, two] = await Promise.all([waitFinal(d, direct.id, B, 12_000), waitFinal(d, fetched.id, B, 12_000)]);
      const elapsed = Date.now() - t0;
      assertOnboarded(one);
      assertOnboarded(two);
      assert.ok(elapsed < 10_000, `B onboarded after ${elapsed} ms`);

      // A's work was really in flight all along.
      for (const id of aFetches) assert.equal((await (await d.request('GET', `${V2}/vnf_packages/${id}`, { as: A })).json() as any).onboardingState, 'UPLOADING');
    });
  });
});
