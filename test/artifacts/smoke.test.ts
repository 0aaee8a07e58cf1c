import assert from 'node:assert/strict';
import { startTestDepot, TestDepot } from '../helpers/depot';

describe('generic API smoke', () => {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot();
  });
  after(async () => d?.close());

  it('creates, uploads, downloads a range and lists', async () => {
    const res = await d.request('POST', '/artifacts/files', { json: { name: 'smoke', version: '1.0' } });
    assert.equal(res.status, 201);
    const a = (await res.json()) as any;
    assert.equal(a.version, '1.0.0');
    assert.equal(res.headers.get('location'), `/artifacts/files/${a.id}`);
    const put = await d.request('PUT', `/artifacts/files/${a.id}/content`, { body: 'hello world', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(put.status, 200);
    const get = await d.request('GET', `/artifacts/files/${a.id}/content`, { headers: { Range: 'bytes=6-' } });
    assert.equal(get.status, 206);
    assert.equal(await get.text(), 'world');
    const list = (await (await d.request("GET", "/artifacts/files?name=smoke")).json()) as any;
    assert.equal(list.total_count, 1);
    const other = await d.request('GET', `/artifacts/files/${a.id}`, { as: d.users.bob });
    assert.equal(other.status, 404);
  });
});
