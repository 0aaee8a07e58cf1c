import assert from 'node:assert/strict';
import type { TestDepot, TestUser } from '../helpers/depot';

/**
 * Requests to the Image API as its clients send them (X-Auth-Token; alice unless told, `as: null`
 * for none), and checks of the answers: `ok` (status, JSON body) and `fails` (a Glance error body
 * with the nested message glanceclient reads, and the request id).
 */
export function imageApiClient(depot: () => TestDepot) {
  const call = (method: string, path: string, o: { as?: TestUser | null; json?: unknown; body?: unknown; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    const d = depot();
    const as = o.as === undefined ? d.users.alice : o.as;
    if (as) headers['X-Auth-Token'] = as.token;
    let body = o.body as any;
    if (o.json !== undefined) {
      body = JSON.stringify(o.json);
      headers['Content-Type'] ??= 'application/json';
    }
    return fetch(`${d.url}/image${path}`, { method, headers, body, duplex: 'half' } as RequestInit);
  };
  const ok = async (res: Response, status = 200) => {
    const text = await res.text();
    assert.equal(res.status, status, text);
    return text ? JSON.parse(text) : undefined;
  };
  /** A Glance error: the status, and the nested message glanceclient reads. */
  const fails = async (res: Response, status: number, message?: RegExp) => {
    const body = (await res.json()) as any;
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(typeof body.error?.message, 'string', JSON.stringify(body));
    assert.equal(body.error.code, status);
    if (message) assert.match(body.error.message, message);
    assert.match(res.headers.get('x-openstack-request-id') ?? '', /^req-/);
  };
  /**
   * The images of a VNF package as `as` lists them, once none is `saving` any more (their checksum
   * job has run: src/modules/vnf-packages/images.ts); polls, fails after `timeoutMs`.
   */
  const settledImagesOf = async (pkgId: string, as?: TestUser, timeoutMs = 30_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const images = (await ok(await call('GET', `/v2/images?vnf_package_id=${pkgId}`, { as }))).images as any[];
      if (!images.some((i) => i.status === 'saving')) return images;
      assert.ok(Date.now() < until, `images of package ${pkgId} still saving: ${JSON.stringify(images)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { call, ok, fails, settledImagesOf };
}
