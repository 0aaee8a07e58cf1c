import assert from 'node:assert/strict';
import { startTestDepot, TestDepot } from '../helpers/depot';
import { create, json, patch, uniq } from './helpers';

/** JSON Patch operations the engine cannot honour are the client's error (400), never a 500. */
describe('JSON Patch: required fields and RFC 6901 pointers', () => {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot();
  });
  after(async () => d?.close());

  it('remove /name is a 400 naming the field, and nothing is written', async () => {
    const a = await create(d, 'files', { name: uniq('rm-name') });
    const r = await patch(d, 'files', a.id, [{ op: 'remove', path: '/name' }]);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.code, 'INVALID_INPUT');
    assert.match(r.body.detail, /'name' is required/);
    assert.equal((await json(await d.request('GET', `/artifacts/files/${a.id}`))).name, a.name);
  });

  it('a pointer with an escape other than ~0 or ~1 is a 400 naming the path', async () => {
    const a = await create(d, 'files', { name: uniq('tilde'), metadata: { k: 'v' } });
    for (const path of ['/metadata/~2', '/metadata/a~', '/metadata/~x1']) {
      const r = await patch(d, 'files', a.id, [{ op: 'add', path, value: 'v' }]);
      assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.detail, /patch operation 0: .*RFC 6901/);
    }
    // ~0 and ~1 stay the escapes of "~" and "/".
    const ok = await patch(d, 'files', a.id, [{ op: 'add', path: '/metadata/a~1b~0c', value: 'v' }]);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.metadata['a/b~c'], 'v');
  });
});
