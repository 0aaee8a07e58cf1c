import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Database } from '../../src/db/database';
import { SettingsRepository } from '../../src/db/repositories/settings';
import { NewSubscription, SubscriptionsRepository } from '../../src/db/repositories/subscriptions';
import { openTestDatabase } from '../helpers/depot';

describe('repositories: settings and subscriptions', function () {
  let db: Database;
  const project = `repo-test-${randomUUID().slice(0, 8)}`;
  const keys: string[] = [];

  before(async () => {
    db = await openTestDatabase();
  });
  after(async () => {
    await db?.sequelize.query(`DELETE FROM pkgm_subscriptions WHERE project = :project`, { replacements: { project } }).catch(() => undefined);
    if (keys.length) await db?.sequelize.query(`DELETE FROM settings WHERE key IN (:keys)`, { replacements: { keys } }).catch(() => undefined);
    await db?.close();
  });

  it('settings: concurrent first reads of a key agree on one value, kept afterwards', async () => {
    const key = `test.${randomUUID()}`;
    keys.push(key);
    const settings = new SettingsRepository(db.sequelize);
    const values = await Promise.all(['a', 'b', 'c', 'd'].map((v) => settings.getOrInit(key, () => v)));
    assert.equal(new Set(values).size, 1, values.join());
    assert.equal(await settings.getOrInit(key, () => 'later'), values[0]);
  });

  it('subscriptions: the same callbackUri and filter twice in a project and major is one subscription (the unique index decides)', async () => {
    const subs = new SubscriptionsRepository(db.sequelize);
    const s = (over: Partial<NewSubscription> = {}): NewSubscription => ({
      id: randomUUID(), project, createdBy: 'test', allProjects: false, apiMajor: 2, callbackUri: 'http://127.0.0.1:9/cb',
      filter: { vnfdId: ['d'] }, filterKey: '{"vnfdId":["d"]}', authentication: { authType: ['BASIC'], paramsBasic: { userName: 'u', password: 'p' } }, ...over,
    });
    const first = s();
    const results = await Promise.all([first, s(), s()].map((x) => subs.create(x)));
    assert.deepEqual([...results].sort(), [false, false, true]);
    const winner = await subs.findSame(project, 2, 'http://127.0.0.1:9/cb', '{"vnfdId":["d"]}');
    assert.ok(winner);
    assert.equal(await subs.create(s({ apiMajor: 1 })), true, 'another major is another subscription');
    assert.equal(await subs.create(s({ filterKey: '{}', filter: null })), true, 'another filter is another subscription');
    const row = await subs.find(winner!, 2, project);
    assert.deepEqual(row?.filter, { vnfdId: ['d'] });
    assert.equal(await subs.find(winner!, 2, 'another-project'), undefined);
    assert.equal((await subs.find(winner!, 2, undefined))?.id, winner, 'every project (an admin)');
    await subs.delete(winner!);
    assert.equal(await subs.find(winner!, 2, undefined), undefined);
  });
});
