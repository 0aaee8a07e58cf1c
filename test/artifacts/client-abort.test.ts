import assert from 'node:assert/strict';
import * as http from 'node:http';
import pino from 'pino';
import { startTestDepot, TestDepot } from '../helpers/depot';
import { createPackage, V2 } from '../vnf-package/helpers';
import { create, uniq } from './helpers';

/** Issue 9 finding 12: a client leaving mid-request is an info event with the request id, not an error. */
describe('client aborts (issue 9)', () => {
  let d: TestDepot;
  const lines: Record<string, any>[] = [];
  before(async () => {
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    d = await startTestDepot({}, { log });
  });
  after(async () => d?.close());

  /** Sends the headers and part of a body, then cuts the connection once the upload is streaming. */
  async function abortedPut(urlPath: string, requestId: string, headers: Record<string, string>, streaming: () => Promise<boolean>): Promise<void> {
    const url = new URL(`${d.url}${urlPath}`);
    const req = http.request({
      host: url.hostname, port: url.port, path: url.pathname, method: 'PUT',
      headers: { Authorization: `Bearer ${d.users.alice.token}`, 'X-Request-Id': requestId, ...headers },
    });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(256 * 1024, 1));
    for (let i = 0; !(await streaming()); i++) {
      assert.ok(i < 200, 'the upload never started');
      await new Promise((r) => setTimeout(r, 10));
    }
    req.destroy();
  }

  const waitFor = async (pred: (l: Record<string, any>) => boolean, ms = 5000) => {
    for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
      const hit = lines.find(pred);
      if (hit) return hit;
    }
    return undefined;
  };

  it('a PUT cut mid-body logs one info line with the request id, nothing at error level, and frees the upload', async () => {
    const a = await create(d, 'files', { name: uniq('abort') });
    const requestId = `abort-${Date.now()}`;
    const urlPath = `/artifacts/files/${a.id}/content`;
    // The upload is streaming once its blob row is `saving` (a download answers 409 meanwhile).
    const saving = async () => {
      const probe = await d.request('GET', urlPath);
      await probe.arrayBuffer();
      return probe.status === 409;
    };
    await abortedPut(urlPath, requestId, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(64 * 2 ** 20) }, saving);
    await expectInfoOnly(requestId, urlPath);

    // The reservation is released: a new upload to the same path goes through.
    const again = await d.request('PUT', urlPath, { body: 'after', headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(again.status, 200, await again.text());
  });

  it('so does a SOL005 package_content upload cut mid-body', async () => {
    const pkg = await createPackage(d);
    const requestId = `abort-pkg-${Date.now()}`;
    const urlPath = `${V2}/vnf_packages/${pkg.id}/package_content`;
    const uploading = async () => ((await (await d.request('GET', `${V2}/vnf_packages/${pkg.id}`)).json()) as any).onboardingState === 'UPLOADING';
    await abortedPut(urlPath, requestId, { 'Content-Type': 'application/zip', 'Content-Length': String(64 * 2 ** 20) }, uploading);
    await expectInfoOnly(requestId, urlPath);
  });

  async function expectInfoOnly(requestId: string, urlPath: string): Promise<void> {
    const info = await waitFor((l) => l.id === requestId && l.level === 30 && /client/.test(l.msg));
    // Give an error line the same chance to appear.
    await new Promise((r) => setTimeout(r, 300));
    const errors = lines.filter((l) => l.level >= 50);
    lines.length = 0;
    assert.deepEqual(errors, [], 'nothing at error level');
    assert.ok(info, `an info line with the request id; got:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
    assert.equal(info.method, 'PUT');
    assert.equal(info.path, urlPath);
  }
});
