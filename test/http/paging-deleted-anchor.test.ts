import assert from 'node:assert/strict';
import { silentSubscriber } from './helpers';
import { startTestDepot, TestDepot } from '../helpers/depot';
import { create, json, uniq } from '../artifacts/helpers';
import { createPackage, V1, V2 } from '../vnf-package/helpers';

/** The path and query of a `Link: <…>; rel="next"` header (absolute or relative). */
function nextOf(res: Response): string | undefined {
  const m = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '');
  if (!m) return undefined;
  const u = new URL(m[1], 'http://base.invalid');
  return `${u.pathname}${u.search}`;
}

/**
 * A page marker is a position in the sort order (the anchor row's key values, signed), not a
 * reference to the anchor row: deleting that row between two pages must lose nothing. It used to:
 * SOL005 answered `200 []`, the generic API 404.
 */
describe('paging survives the deletion of the anchor row', () => {
  let d: TestDepot;
  let subscriber: Awaited<ReturnType<typeof silentSubscriber>>;
  let callback: string;
  before(async () => {
    subscriber = await silentSubscriber();
    callback = subscriber.callback;
    d = await startTestDepot({ gcIntervalSeconds: 0, notifications: { allow: ['127.0.0.0/8'] } });
  });
  after(async () => {
    await d?.depot.db.sequelize.query('DELETE FROM pkgm_subscriptions WHERE project IN (:projects)', { replacements: { projects: [d.users.bob.project] } }).catch(() => undefined);
    await d?.close();
    await subscriber?.close();
  });

  it('generic API: next after the last artifact of page 1 was deleted', async () => {
    const tag = uniq('anchor');
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await create(d, 'files', { name: `${tag}-${i}`, tags: [tag], size_hint: i })).id);
    for (const sort of ['size_hint:asc', 'name:desc', 'created_at:asc']) {
      const first = await json(await d.request('GET', `/artifacts/files?tags=${tag}&sort=${sort}&limit=2`));
      const anchor = first.artifacts[1];
      // A copy of the anchor stands in for it across sort orders: delete and re-create the same name.
      const del = await d.request('DELETE', `/artifacts/files/${anchor.id}`);
      assert.equal(del.status, 204);
      const seen = first.artifacts.map((a: any) => a.name);
      let url: string | undefined = first.next;
      for (let i = 0; url && i < 5; i++) {
        const page = await json(await d.request('GET', url));
        seen.push(...page.artifacts.map((a: any) => a.name));
        url = page.next;
      }
      assert.equal(seen.length, 5, `${sort}: ${seen.join(' ')}`);
      assert.equal(new Set(seen).size, 5, `${sort}: no repeats`);
      const again = await create(d, 'files', { name: anchor.name, tags: [tag], size_hint: anchor.size_hint });
      made.push(again.id);
    }
  });

  it('generic API: a tampered marker is a 400, a marker of another sort order too', async () => {
    const tag = uniq('tamper');
    for (let i = 0; i < 3; i++) await create(d, 'files', { name: `${tag}-${i}`, tags: [tag], size_hint: i });
    const first = await json(await d.request('GET', `/artifacts/files?tags=${tag}&sort=size_hint:asc&limit=1`));
    const next = new URL(first.next, 'http://x');
    const keys = next.searchParams.get('marker_keys')!;
    assert.ok(keys);
    next.searchParams.set('marker_keys', `${keys.slice(0, -2)}AA`);
    assert.equal((await d.request('GET', `${next.pathname}${next.search}`)).status, 400);
    const other = new URL(first.next, 'http://x');
    other.searchParams.set('sort', 'name:asc');
    assert.equal((await d.request('GET', `${other.pathname}${other.search}`)).status, 400);
  });

  it('SOL005 packages: the next page after the last package of page 1 was deleted', async () => {
    const made = await Promise.all(Array.from({ length: 103 }, () => createPackage(d, d.users.bob)));
    const first = await d.request('GET', `${V1}/vnf_packages`, { as: d.users.bob });
    const page1 = (await first.json()) as any[];
    assert.equal(page1.length, 100);
    const anchor = page1[99].id;
    assert.equal((await d.request('DELETE', `${V1}/vnf_packages/${anchor}`, { as: d.users.bob })).status, 204);
    const next = nextOf(first);
    assert.ok(next);
    const second = await d.request('GET', next, { as: d.users.bob });
    assert.equal(second.status, 200);
    const page2 = (await second.json()) as any[];
    assert.deepEqual(
      [...page1.slice(0, 99), ...page2].map((p) => p.id).sort(),
      made.map((p) => p.id).filter((id) => id !== anchor).sort(),
    );
  });

  it('SOL005 subscriptions: the next page after the last subscription of page 1 was deleted', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 102; i++) {
      const r = await d.request('POST', `${V2}/subscriptions`, { as: d.users.bob, json: { callbackUri: callback, filter: { vnfdId: [`anchor-${i}`] } } });
      const text = await r.text();
      assert.equal(r.status, 201, text);
      ids.push(JSON.parse(text).id);
    }
    const first = await d.request('GET', `${V2}/subscriptions`, { as: d.users.bob });
    const page1 = (await first.json()) as any[];
    assert.equal(page1.length, 100);
    const anchor = page1[99].id;
    assert.equal((await d.request('DELETE', `${V2}/subscriptions/${anchor}`, { as: d.users.bob })).status, 204);
    const second = await d.request('GET', nextOf(first)!, { as: d.users.bob });
    const page2 = (await second.json()) as any[];
    assert.deepEqual([...page1.slice(0, 99), ...page2].map((s) => s.id).sort(), ids.filter((id) => id !== anchor).sort());
  });
});
