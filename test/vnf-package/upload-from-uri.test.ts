import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { sha256 } from '../helpers/csar-builder';
import { assertError, assertOnboarded, buildPackage, createPackage, problem, putContent, V1, V2, waitFinal } from './helpers';

/**
 * POST .../package_content/upload_from_uri against a local HTTP server on 127.0.0.1: refused by
 * default (loopback is not public: SSRF guard), accepted when the config file allows 127.0.0.0/8.
 * Basic credentials reach the server and never come back in any response.
 */
describe('VNF packages: upload_from_uri', function () {
  const USER = 'vendor-bot';
  const PASSWORD = 'S3cr3t-pa55word-xyz';
  let server: http.Server;
  let base: string;
  const seen: { url: string; authorization?: string }[] = [];
  let zip: Buffer;
  /** Packages served by path; each test serves its own (one vnfdId may be onboarded once per project). */
  const served = new Map<string, Buffer>();
  let n = 0;
  const serve = async (name = `pkg-${++n}.zip`) => {
    served.set(`/${name}`, await buildPackage({ softwareVersion: `7.0.${n}` }));
    return name;
  };

  before(async () => {
    zip = await buildPackage({ softwareVersion: '7.0.0' });
    server = http.createServer((req, res) => {
      seen.push({ url: req.url!, authorization: req.headers.authorization });
      const pub = served.get(req.url!);
      if (pub) {
        res.writeHead(200, { 'Content-Type': 'application/zip', 'Content-Length': pub.length });
        return res.end(pub);
      }
      if (req.url!.startsWith('/private/')) {
        const want = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
        if (req.headers.authorization !== want) {
          res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="pkgs"' });
          return res.end('unauthorised');
        }
        res.writeHead(200, { 'Content-Type': 'application/zip' });
        return res.end(served.get(req.url!.slice('/private'.length)));
      }
      res.writeHead(404);
      res.end('no such package');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
  });

  const fromUri = (d: TestDepot, id: string, body: unknown, prefix = V1) => d.request('POST', `${prefix}/vnf_packages/${id}/package_content/upload_from_uri`, { json: body });

  /** Every response text a client can get about the package: both presenters, the list, the generic API. */
  async function everyResponse(d: TestDepot, id: string): Promise<string> {
    const texts: string[] = [];
    for (const p of [`${V1}/vnf_packages/${id}`, `${V2}/vnf_packages/${id}`, `${V1}/vnf_packages?all_fields`, `${V2}/vnf_packages?all_fields`, `/artifacts/vnf_packages/${id}`, `/artifacts/vnf_packages?limit=1000`]) {
      texts.push(await (await d.request('GET', p)).text());
    }
    return texts.join('\n');
  }

  describe('default configuration (no allow list)', () => {
    let d: TestDepot;
    before(async () => {
      d = await startTestDepot();
    });
    after(async () => d?.close());

    it('a loopback URI is refused: 202, then ERROR with VNFPKG-FETCH-FAILED (FORBIDDEN_TARGET); nothing was fetched', async () => {
      const before = seen.length;
      const p = await createPackage(d);
      const res = await fromUri(d, p.id, { addressInformation: `${base}/pkg.zip`, userName: USER, password: PASSWORD });
      assert.equal(res.status, 202);
      assert.equal(await res.text(), '', 'a 202 has an empty body (SOL005)');
      const info = await waitFinal(d, p.id);
      const f = assertError(info, 'VNFPKG-FETCH-FAILED');
      assert.match(f.find((x) => x.rule === 'VNFPKG-FETCH-FAILED').message, /FORBIDDEN_TARGET/);
      assert.equal(seen.length, before, 'the server was never contacted');
      assert.ok(!(await everyResponse(d, p.id)).includes(PASSWORD));
      // From ERROR a direct upload still works.
      assert.equal((await putContent(d, p.id, zip)).status, 202);
      assertOnboarded(await waitFinal(d, p.id));
    });

    it('400 for a body that is not an UploadVnfPkgFromUriRequest; 409 in the wrong state', async () => {
      const p = await createPackage(d);
      await problem(await fromUri(d, p.id, {}), 400);
      await problem(await fromUri(d, p.id, { addressInformation: 'file:///etc/passwd' }), 400);
      await problem(await fromUri(d, p.id, { addressInformation: 'not a uri' }), 400);
      await problem(await fromUri(d, p.id, { addressInformation: `${base}/pkg.zip`, authType: ['OAUTH2_CLIENT_CREDENTIALS'] }), 400);
      assert.equal(((await (await d.request('GET', `${V1}/vnf_packages/${p.id}`)).json()) as any).onboardingState, 'CREATED');
      const q = await createPackage(d);
      assert.equal((await putContent(d, q.id, await buildPackage({}))).status, 202);
      assertOnboarded(await waitFinal(d, q.id));
      await problem(await fromUri(d, q.id, { addressInformation: `${base}/pkg.zip` }), 409);
    });
  });

  describe('size limit (types.vnf_packages.maxBlobSize: 20KiB)', () => {
    let d: TestDepot;
    before(async () => {
      d = await startTestDepot({ types: { vnf_packages: { maxBlobSize: '20KiB' } }, uploadFromUri: { allow: ['127.0.0.0/8'] } });
    });
    after(async () => d?.close());

    it('a direct upload over the limit is 413 and leaves the package in ERROR (VNFPKG-UPLOAD-FAILED), uploadable again', async () => {
      const big = await buildPackage({ imageSize: 40_000 });
      const p = await createPackage(d);
      await problem(await putContent(d, p.id, big), 413);
      assertError(await waitFinal(d, p.id), 'VNFPKG-UPLOAD-FAILED');
      assert.equal((await putContent(d, p.id, await buildPackage({}))).status, 202);
      assertOnboarded(await waitFinal(d, p.id));
    });

    it('a fetched package over the limit ends ERROR (VNFPKG-FETCH-FAILED)', async () => {
      const name = `big-${++n}.zip`;
      served.set(`/${name}`, await buildPackage({ imageSize: 40_000 }));
      const p = await createPackage(d);
      assert.equal((await fromUri(d, p.id, { addressInformation: `${base}/${name}` })).status, 202);
      assertError(await waitFinal(d, p.id), 'VNFPKG-FETCH-FAILED');
    });
  });

  describe("uploadFromUri: { allow: ['127.0.0.0/8'] }", () => {
    let d: TestDepot;
    before(async () => {
      d = await startTestDepot({ uploadFromUri: { allow: ['127.0.0.0/8'] } });
    });
    after(async () => d?.close());

    it('fetches and onboards; the package is byte-exact', async () => {
      const p = await createPackage(d);
      const name = await serve();
      assert.equal((await fromUri(d, p.id, { addressInformation: `${base}/${name}` })).status, 202);
      const info = await waitFinal(d, p.id);
      assertOnboarded(info);
      assert.deepEqual(info.checksum, { algorithm: 'SHA-256', hash: sha256(served.get(`/${name}`)!) });
    });

    it('Basic credentials (1.3.0 userName/password) are sent and never echoed', async () => {
      const p = await createPackage(d);
      const name = await serve();
      const res = await fromUri(d, p.id, { addressInformation: `${base}/private/${name}`, authType: ['BASIC'], userName: USER, password: PASSWORD });
      assert.equal(res.status, 202);
      const info = await waitFinal(d, p.id);
      assertOnboarded(info);
      const hit = seen.filter((s) => s.url === `/private/${name}`).pop();
      assert.equal(hit?.authorization, `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`);
      const all = await everyResponse(d, p.id);
      assert.ok(!all.includes(PASSWORD), 'the password is never in a response');
      assert.ok(!all.includes(Buffer.from(`${USER}:${PASSWORD}`).toString('base64')));
    });

    it('2.x authentication.paramsBasic form works too; a wrong password ends ERROR without echoing it', async () => {
      const p = await createPackage(d, undefined, undefined, V2);
      const name = await serve();
      assert.equal((await fromUri(d, p.id, { addressInformation: `${base}/private/${name}`, authentication: { authType: ['BASIC'], paramsBasic: { userName: USER, password: PASSWORD } } }, V2)).status, 202);
      assertOnboarded(await waitFinal(d, p.id));
      const q = await createPackage(d);
      const wrong = 'Wr0ng-pa55word-abc';
      assert.equal((await fromUri(d, q.id, { addressInformation: `${base}/private/${name}`, userName: USER, password: wrong })).status, 202);
      const info = await waitFinal(d, q.id);
      const f = assertError(info, 'VNFPKG-FETCH-FAILED');
      assert.match(f.find((x) => x.rule === 'VNFPKG-FETCH-FAILED').message, /HTTP_STATUS|401/);
      assert.ok(!(await everyResponse(d, q.id)).includes(wrong));
    });

    it('credentials inside the URI are not echoed either; a 404 ends ERROR', async () => {
      const p = await createPackage(d);
      const u = new URL(`${base}/missing.zip`);
      u.username = 'uri-user';
      u.password = 'Uri-pa55word-qrs';
      assert.equal((await fromUri(d, p.id, { addressInformation: u.toString() })).status, 202);
      const info = await waitFinal(d, p.id);
      const f = assertError(info, 'VNFPKG-FETCH-FAILED');
      assert.match(f.find((x) => x.rule === 'VNFPKG-FETCH-FAILED').message, /404/);
      assert.ok(!(await everyResponse(d, p.id)).includes('Uri-pa55word-qrs'));
    });
  });
});
