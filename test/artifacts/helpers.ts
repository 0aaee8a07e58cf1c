import assert from 'node:assert/strict';
import type { TestDepot, TestUser } from '../helpers/depot';

/** Small helpers over TestDepot for the generic API tests. */
export const PATCH = { 'Content-Type': 'application/json-patch+json' };

export async function create(d: TestDepot, type: string, body: Record<string, unknown>, as?: TestUser): Promise<any> {
  const res = await d.request('POST', `/artifacts/${type}`, { json: body, as });
  const json: any = await res.json();
  assert.equal(res.status, 201, JSON.stringify(json));
  return json;
}

export async function patch(d: TestDepot, type: string, id: string, ops: unknown[], opts: { as?: TestUser; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any; res: Response }> {
  const res = await d.request('PATCH', `/artifacts/${type}/${id}`, { json: ops, as: opts.as, headers: { ...PATCH, ...opts.headers } });
  return { status: res.status, body: await res.json().catch(() => null), res };
}

export async function upload(d: TestDepot, type: string, id: string, field: string, data: string | Buffer, opts: { as?: TestUser; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any }> {
  const res = await d.request('PUT', `/artifacts/${type}/${id}/${field}`, { body: data, as: opts.as, headers: { 'Content-Type': 'application/octet-stream', ...opts.headers } });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/** Asserts a ProblemDetails response with the status, and that `detail` matches. */
export async function problem(res: Response, status: number, detail?: RegExp): Promise<any> {
  const body: any = await res.json();
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
  if (detail) assert.match(body.detail, detail);
  return body;
}

export async function json(res: Response, status = 200): Promise<any> {
  const body: any = await res.json();
  assert.equal(res.status, status, JSON.stringify(body));
  return body;
}

export const uniq = (p: string) => `${p}-${Math.random().toString(36).slice(2, 8)}`;
