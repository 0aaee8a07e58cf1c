import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { startTestDepot, TestDepot } from '../helpers/depot';
import { create, uniq } from './helpers';

/**
 * The engine's explicit operations, the only way a type's state machine or an API facade changes
 * artifact and blob state (issue 8): one statement each, revision bumped, lifecycle rules enforced.
 */
describe('artifact engine operations', () => {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot();
  });
  after(async () => d?.close());
  const engine = () => d.depot.engine;
  const code = async (p: Promise<unknown>, expected: string, detail?: RegExp) => {
    await assert.rejects(p, (e: any) => {
      assert.equal(e.code, expected, e.message);
      if (detail) assert.match(e.detail, detail);
      return true;
    });
  };

  it('setSystemFields merges and removes fields, renames and re-versions, bumping the revision', async () => {
    const a = await create(d, 'files', { name: uniq('s'), size_hint: 1 });
    const b = await engine().setSystemFields(a.id, { size_hint: 2, extra: 'x' }, { name: `${a.name}-renamed`, version: '2.1' });
    assert.equal(b.name, `${a.name}-renamed`);
    assert.equal(b.version, '2.1.0');
    assert.equal(b.fields.size_hint, 2);
    assert.equal(b.fields.extra, 'x');
    assert.equal(b.revision, 2);
    assert.equal(b.status, 'drafted');
    const c = await engine().setSystemFields(a.id, {}, { remove: ['extra'] });
    assert.equal('extra' in c.fields, false);
    assert.equal(c.fields.size_hint, 2);
    assert.equal(c.revision, 3);
    await code(engine().setSystemFields(a.id, {}, { version: 'not a version!' }), 'INVALID_INPUT', /version/);
  });

  it('activate / deactivate follow the lifecycle: settled blobs, no double activation, activated_at set at each activation (as for PATCH)', async () => {
    const a = await create(d, 'files', { name: uniq('a') });
    const record = await engine().load(a.id);
    const active = await engine().transaction((t) => engine().activate(t, record!, { fields: { size_hint: 5 } }));
    assert.equal(active.status, 'active');
    assert.equal(active.fields.size_hint, 5);
    assert.ok(active.activated_at);
    await code(engine().transaction((t) => engine().activate(t, active)), 'LIFECYCLE_CONFLICT');
    const off = await engine().transaction((t) => engine().deactivate(t, active));
    assert.equal(off.status, 'deactivated');
    await code(engine().transaction((t) => engine().deactivate(t, off)), 'LIFECYCLE_CONFLICT');
    const again = await engine().transaction((t) => engine().activate(t, off));
    assert.equal(again.status, 'active');
    assert.ok(again.activated_at!.getTime() >= active.activated_at!.getTime());
  });

  it('attachContent, storedBlob, attachSegments and resetFolder record bytes already in a store', async () => {
    const a = await create(d, 'files', { name: uniq('c') });
    const store = engine().stores.get('fs');
    const staged = await store.stage(Readable.from([Buffer.from('hello world')]));
    await staged.commit();
    await engine().attachContent(undefined, a.id, 'tree', 'x/y.txt', { store: 'fs', key: staged.key, size: 11, digests: { sha256: staged.key }, contentType: 'text/plain' });
    await engine().attachContent(undefined, a.id, 'content', '', { store: 'fs', key: staged.key, size: 11, digests: { sha256: staged.key } });
    const entry = await engine().storedBlob(a.id, 'tree', 'x/y.txt');
    assert.equal(entry?.content_type, 'text/plain');
    // The main blob as two ranges of the same object: "hello" + " world".
    const main = (await engine().storedBlob(a.id, 'content'))!;
    await engine().attachSegments(undefined, main.id, staged.key, [{ key: staged.key, offset: 0, length: 5 }, { key: staged.key, offset: 5, length: 6 }]);
    const res = await d.request('GET', `/artifacts/files/${a.id}/content`);
    assert.equal(await res.text(), 'hello world');
    await engine().resetFolder(undefined, a.id, 'tree');
    assert.equal(await engine().storedBlob(a.id, 'tree', 'x/y.txt'), undefined);
    assert.ok(await engine().storedBlob(a.id, 'content'));
  });

  it("amend: a facade's change under the engine's rules (visibility, write permission or read access, publishing, deactivation, validation)", async () => {
    const as = (u: { user: string; project: string }, role: 'member' | 'admin' | 'reader' = 'member') => ({ user: u.user, project: u.project, role, isAdmin: role === 'admin' });
    const { alice, bob, admin, reader } = d.users;
    const a = await create(d, 'files', { name: uniq('m') });
    const b = await engine().amend(as(alice), 'files', a.id, (cur) => ({ tags: [...cur.tags, 't'], fields: { size_hint: 3 }, shared_with: [bob.project] }));
    assert.deepEqual(b.tags, ['t']);
    assert.equal(b.fields.size_hint, 3);
    assert.deepEqual(b.shared_with, [bob.project]);
    assert.equal(b.revision, 2);
    // Nothing to change: nothing written.
    assert.equal((await engine().amend(as(alice), 'files', a.id, () => undefined)).revision, 2);
    assert.equal((await engine().amend(as(alice), 'files', a.id, () => ({ tags: ['t'] }))).revision, 2);
    // bob reads it (shared): with read access he may change what the facade lets him; not by default.
    await code(engine().amend(as(bob), 'files', a.id, () => ({ tags: ['x'] })), 'FORBIDDEN');
    assert.deepEqual((await engine().amend(as(bob), 'files', a.id, () => ({ tags: ['x'] }), { access: 'read' })).tags, ['x']);
    await code(engine().amend({ user: 'eve', project: uniq('other'), role: 'member', isAdmin: false }, 'files', a.id, () => ({ tags: [] }), { access: 'read' }), 'NOT_FOUND');
    await code(engine().amend(as(reader, 'reader'), 'files', a.id, () => ({ tags: [] })), 'FORBIDDEN');
    await code(engine().amend(as(alice), 'files', a.id, () => ({ visibility: 'public' })), 'FORBIDDEN', /admin/);
    await code(engine().amend(as(alice), 'files', a.id, () => ({ fields: { size_hint: 'big' } })), 'INVALID_INPUT', /size_hint/);
    assert.equal((await engine().amend(as(admin, 'admin'), 'files', a.id, () => ({ visibility: 'public' }))).visibility, 'public');
    const record = await engine().load(a.id);
    await engine().transaction((t) => engine().activate(t, record!));
    const active = await engine().load(a.id);
    await engine().transaction((t) => engine().deactivate(t, active!));
    await code(engine().amend(as(admin, 'admin'), 'files', a.id, () => ({ tags: ['late'] })), 'LIFECYCLE_RULE', /deactivated/);
  });
});
