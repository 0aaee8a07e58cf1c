import assert from 'node:assert/strict';
import { startTestDepot, TestDepot } from '../helpers/depot';
import { create, patch, problem, uniq } from './helpers';

/** Integers outside ±(2^53 − 1) cannot be kept exactly: a 400 naming the field, not a silent 1e+30. */
describe('integer fields and filters stay within the safe integer range', () => {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot();
  });
  after(async () => d?.close());

  const post = (body: string) => d.request('POST', '/artifacts/files', { body, headers: { 'Content-Type': 'application/json' } });

  it('create and PATCH with 10^30 (or -2^53) in an integer field are a 400 naming the field', async () => {
    await problem(await post(`{"name":"${uniq('big')}","size_hint":1000000000000000000000000000000}`), 400, /'size_hint'/);
    await problem(await post(`{"name":"${uniq('big')}","size_hint":-9007199254740992}`), 400, /'size_hint'/);
    const a = await create(d, 'files', { name: uniq('big'), size_hint: Number.MAX_SAFE_INTEGER });
    assert.equal(a.size_hint, Number.MAX_SAFE_INTEGER);
    const r = await patch(d, 'files', a.id, [{ op: 'replace', path: '/size_hint', value: 1e30 }]);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.detail, /'size_hint'/);
  });

  it('an integer filter value outside the range is a 400 naming the parameter', async () => {
    await problem(await d.request('GET', '/artifacts/files?size_hint=1000000000000000000000000000000'), 400, /size_hint/);
    await problem(await d.request('GET', '/artifacts/files?size_hint=gt:9007199254740993'), 400, /size_hint/);
    assert.equal((await d.request('GET', `/artifacts/files?size_hint=${Number.MAX_SAFE_INTEGER}`)).status, 200);
  });
});
