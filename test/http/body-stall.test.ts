import assert from 'node:assert/strict';
import * as http from 'node:http';
import pino from 'pino';
import { startTestDepot, TestDepot } from '../helpers/depot';
import { slowPut, type SlowPut } from '../helpers/slow-client';
import { create, uniq } from '../artifacts/helpers';
import { assertError, assertOnboarded, buildPackage, createPackage, putContent, V1, waitFinal } from '../vnf-package/helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);

/** Issue 9 finding 2: a request body that stalls ends the request and releases its reservation at once. */
describe('stalled request bodies (issue 9)', function () {
  let d: TestDepot;
  const lines: Record<string, any>[] = [];
  const puts: SlowPut[] = [];
  before(async () => {
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    d = await startTestDepot({ stalls: { requestBodySeconds: 1, minBytesPerSecond: 1024 } }, { log });
  });
  afterEach(() => puts.splice(0).forEach((p) => p.stop()));
  after(async () => d?.close());

  const put = (urlPath: string, headers: Record<string, string>, first: Buffer, trickle?: { everyMs: number }) => {
    const p = slowPut(d.url, urlPath, d.users.alice.token, headers, first, trickle);
    puts.push(p);
    return p;
  };

  /** The answer is a 408 BODY_STALLED ProblemDetails, the connection is closed, the log has one info line and no error. */
  async function assertStalled(p: SlowPut, requestId: string): Promise<any> {
    const res = await within(p.answer, 8000, 'an answer to the stalled upload');
    assert.ok(res, 'the client got an answer');
    assert.equal(res.status, 408, res.body);
    assert.match(String(res.headers['content-type']), /application\/problem\+json/);
    assert.equal(res.headers.connection, 'close');
    const problem = JSON.parse(res.body);
    assert.equal(problem.code, 'BODY_STALLED');
    assert.equal(problem.type, 'https://depot.invalid/problems/body-stalled');
    assert.match(problem.detail, /stalled/);
    const mine = lines.filter((l) => l.id === requestId || l.requestId === requestId);
    assert.ok(mine.some((l) => l.level === 30 && /stalled/.test(l.msg)), `one info line names the stall: ${JSON.stringify(mine)}`);
    assert.deepEqual(mine.filter((l) => l.level >= 50), [], 'nothing at error level');
    return problem;
  }

  it('a generic blob PUT that sends a few bytes and then nothing is answered 408, and the path takes a new upload at once', async () => {
    const a = await create(d, 'files', { name: uniq('stall') });
    const urlPath = `/artifacts/files/${a.id}/content`;
    const requestId = `stall-${Date.now()}`;
    const started = Date.now();
    const p = put(urlPath, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(1 << 20), 'X-Request-Id': requestId }, Buffer.from('a few bytes'));
    await assertStalled(p, requestId);
    assert.ok(Date.now() - started < 5000, `ended after ${Date.now() - started} ms`);
    const again = await d.request('PUT', urlPath, { body: 'after', headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(again.status, 200, await again.text());
  });

  it('a folder entry PUT trickling one byte every 300 ms (under minBytesPerSecond) is answered 408 too', async () => {
    const a = await create(d, 'files', { name: uniq('trickle') });
    const target = `/artifacts/files/${a.id}/tree/x/y.txt`;
    const requestId = `trickle-${Date.now()}`;
    const p = put(target, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(4096), 'X-Request-Id': requestId }, Buffer.from('x'), { everyMs: 300 });
    await assertStalled(p, requestId);
  });

  it('a SOL005 package_content PUT that stalls is answered 408, the package goes to ERROR and takes a new upload at once', async () => {
    const pkg = await createPackage(d);
    const zip = await buildPackage({});
    const requestId = `stall-pkg-${Date.now()}`;
    const p = put(`${V1}/vnf_packages/${pkg.id}/package_content`, { 'Content-Type': 'application/zip', 'Content-Length': String(zip.length), 'X-Request-Id': requestId }, zip.subarray(0, 100));
    await assertStalled(p, requestId);
    const info = assertError(await waitFinal(d, pkg.id), 'VNFPKG-UPLOAD-FAILED');
    assert.match(info.find((f: any) => f.rule === 'VNFPKG-UPLOAD-FAILED').message, /stalled/);
    assert.equal((await putContent(d, pkg.id, zip)).status, 202);
    assertOnboarded(await waitFinal(d, pkg.id));
  });

  it('so does a multipart/form-data package_content PUT', async () => {
    const pkg = await createPackage(d);
    const zip = await buildPackage({});
    const boundary = 'stall-boundary-1';
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.zip"\r\nContent-Type: application/zip\r\n\r\n`);
    const requestId = `stall-mp-${Date.now()}`;
    const p = put(`${V1}/vnf_packages/${pkg.id}/package_content`, { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(head.length + zip.length + 100), 'X-Request-Id': requestId }, Buffer.concat([head, zip.subarray(0, 200)]));
    await assertStalled(p, requestId);
    assertError(await waitFinal(d, pkg.id), 'VNFPKG-UPLOAD-FAILED');
  });

  it('a slow body that keeps above minBytesPerSecond is not cut', async () => {
    const a = await create(d, 'files', { name: uniq('slow') });
    const chunk = Buffer.alloc(1024, 7);
    const total = 14 * chunk.length;
    const url = new URL(`${d.url}/artifacts/files/${a.id}/content`);
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'PUT', headers: { Authorization: `Bearer ${d.users.alice.token}`, 'Content-Type': 'application/octet-stream', 'Content-Length': String(total) } }, resolve);
      req.on('error', reject);
      void (async () => {
        for (let i = 0; i < 14; i++) {
          req.write(chunk);
          await sleep(200); // 5 KiB/s for 2.8 s: slower than the stall time, faster than the minimum rate
        }
        req.end();
      })();
    });
    res.resume();
    assert.equal(res.statusCode, 200);
  });
});
