import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { QueryTypes } from 'sequelize';
import type { Database } from '../../src/db/database';
import { JobsRepository } from '../../src/db/repositories/jobs';
import { OutboxRepository } from '../../src/db/repositories/outbox';
import { SubscriptionsRepository } from '../../src/db/repositories/subscriptions';
import { WorkerPool } from '../../src/jobs/pool';
import { JobHandler, JobQueue } from '../../src/jobs/queue';
import { NotificationDispatcher } from '../../src/packages/notifications';
import { gate, HeldJobs, jobQueueBed, sleep, until } from './held-jobs';

const log = pino({ level: 'silent' });

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);
/** whether `p` has settled (after the microtasks and timers already due have run) */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true), () => (done = true));
  await sleep(20);
  return done;
}

describe('worker pool', function () {
  const bed = jobQueueBed({ workers: 2 });
  const { newKind, newQueue } = bed;
  let db: Database;
  let jobs: JobsRepository;
  before(() => {
    ({ db, jobs } = bed);
  });

  describe('JobQueue.stop()', () => {
    it('resolves when two workers run and one goes idle first', async () => {
      const kind = newKind();
      const q = newQueue({ workers: 2 });
      const h = new HeldJobs();
      q.register(kind, h);
      const a = await q.enqueue(undefined, kind, null);
      const b = await q.enqueue(undefined, kind, null);
      q.start();
      await until(() => h.started.length === 2, 'both jobs running');
      const stopped = q.stop();
      h.release(a); // the first worker goes idle while stop() waits
      await sleep(100);
      assert.equal(await settled(stopped), false, 'stop() waits for the second job');
      h.release(b);
      await within(stopped, 3000, 'stop()');
      assert.equal((await jobs.find(a))?.state, 'done');
      assert.equal((await jobs.find(b))?.state, 'done');
    });

    it('resolves at once when idle, before start() and twice', async () => {
      const q = newQueue();
      await within(q.stop(), 500, 'stop() before start()');
      q.register(newKind(), new HeldJobs());
      q.start();
      await sleep(120); // a few polls that find nothing
      await within(q.stop(), 500, 'stop() while idle');
      await within(q.stop(), 500, 'stop() again');
    });

    it('waits for a running job, which ends done; nothing is claimed after it', async () => {
      const kind = newKind();
      const q = newQueue({ workers: 1 });
      const h = new HeldJobs();
      q.register(kind, h);
      const a = await q.enqueue(undefined, kind, null, { secret: 's3cr3t' });
      q.start();
      await until(() => h.started.length === 1, 'job running');
      const b = await q.enqueue(undefined, kind, null);
      const stopped = q.stop();
      q.kick();
      await sleep(200);
      assert.equal(await settled(stopped), false, 'stop() waits for the running job');
      h.release(a);
      await within(stopped, 3000, 'stop()');
      const done = await jobs.find(a);
      assert.equal(done?.state, 'done');
      assert.deepEqual(done?.payload, {}, 'the payload (credentials) is wiped when the job ends');
      assert.equal(h.started.length, 1, 'no job is taken after stop()');
      assert.equal((await jobs.find(b))?.state, 'queued');
    });

    it('runs at most `workers` jobs at a time', async () => {
      const kind = newKind();
      const q = newQueue({ workers: 2 });
      const h = new HeldJobs();
      q.register(kind, h);
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push(await q.enqueue(undefined, kind, null));
      q.start();
      for (let i = 0; i < 20; i++) q.kick();
      // Both workers busy before any job is released: then 2 is reached whatever the machine's load.
      await until(() => h.started.length === 2, 'two jobs running at once');
      for (const id of ids) {
        await until(() => h.gates.has(id), `job ${id} running`);
        h.release(id);
      }
      await q.stop();
      assert.equal(h.maxRunning, 2);
      for (const id of ids) assert.equal((await jobs.find(id))?.state, 'done');
    });
  });

  describe('leases', () => {
    it('a job whose lease ran out (its process died) is claimed again and runs', async () => {
      const kind = newKind();
      const id = await jobs.enqueue(undefined, kind, null, { x: 1 });
      // a process claims it and dies: no renewal, the lease of one second runs out
      const dead = await jobs.claimNext([kind], 1);
      assert.equal(dead?.id, id);
      const q = newQueue({ workers: 1, pollMs: 100 });
      const h = new HeldJobs();
      q.register(kind, h);
      q.start();
      await sleep(500);
      assert.equal(h.started.length, 0, 'not claimed while the lease holds');
      await until(() => h.started.length === 1, 'the job claimed again', 5000);
      assert.equal(h.started[0].id, id);
      assert.equal(h.started[0].attempts, 2);
      assert.deepEqual(h.started[0].payload, { x: 1 });
      h.release(id);
      await q.stop();
      assert.equal((await jobs.find(id))?.state, 'done');
    });

    it('a running job keeps its lease (renewed): another process never takes it', async () => {
      const kind = newKind();
      const one = newQueue({ workers: 1, leaseSeconds: 1, pollMs: 50 });
      const two = newQueue({ workers: 1, leaseSeconds: 1, pollMs: 50 });
      const h1 = new HeldJobs();
      const h2 = new HeldJobs();
      one.register(kind, h1);
      two.register(kind, h2);
      const id = await one.enqueue(undefined, kind, null);
      one.start();
      await until(() => h1.started.length === 1, 'job running');
      two.start();
      await sleep(2500); // 2.5 leases
      assert.equal(h2.started.length, 0);
      h1.release(id);
      await Promise.all([one.stop(), two.stop()]);
      const row = await jobs.find(id);
      assert.equal(row?.state, 'done');
      assert.equal(row?.attempts, 1);
    });

    it('after maxAttempts interruptions the job is given up (onGiveUp), failed, its payload wiped', async () => {
      const kind = newKind();
      const id = await jobs.enqueue(undefined, kind, null, { password: 'p' });
      for (let i = 0; i < 3; i++) assert.equal((await jobs.claimNext([kind], 0))?.id, id); // three processes died
      const q = newQueue({ workers: 1, maxAttempts: 3 });
      const h = new HeldJobs();
      q.register(kind, h);
      q.start();
      await until(async () => (await jobs.find(id))?.state === 'failed', 'job failed');
      await q.stop();
      assert.equal(h.started.length, 0);
      assert.equal(h.gaveUp.length, 1);
      assert.match(h.gaveUp[0].reason, /interrupted 3 times/);
      assert.deepEqual((await jobs.find(id))?.payload, {});
    });

    it('a job that throws is given up at once, its payload wiped', async () => {
      const kind = newKind();
      const q = newQueue({ workers: 1 });
      const gaveUp: string[] = [];
      q.register(kind, { run: async () => { throw new Error('the archive is broken'); }, onGiveUp: async (_j, reason) => void gaveUp.push(reason) });
      const id = await q.enqueue(undefined, kind, null, { password: 'p' });
      q.start();
      await until(async () => (await jobs.find(id))?.state === 'failed', 'job failed');
      await q.stop();
      assert.deepEqual(gaveUp, ['the archive is broken']);
      const row = await jobs.find(id);
      assert.equal(row?.last_error, 'the archive is broken');
      assert.deepEqual(row?.payload, {});
    });

    it('two processes on one database run every job once', async () => {
      const kind = newKind();
      const ran: string[] = [];
      const handler: JobHandler = { run: async (job) => { ran.push(job.id); await sleep(5 + Math.random() * 20); }, onGiveUp: async () => undefined };
      const one = newQueue({ workers: 3, pollMs: 20 });
      const two = newQueue({ workers: 3, pollMs: 20 });
      one.register(kind, handler);
      two.register(kind, handler);
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) ids.push(await jobs.enqueue(undefined, kind, null, {}));
      one.start();
      two.start();
      await until(() => ran.length >= ids.length, 'every job ran', 20_000);
      await Promise.all([one.stop(), two.stop()]);
      assert.deepEqual([...ran].sort(), [...ids].sort(), 'each job ran exactly once');
    });
  });

  describe('WorkerPool', () => {
    it('stop() called while a claim is in flight waits for the item that claim returns', async () => {
      const claimed = gate();
      const answer = gate();
      const ran: number[] = [];
      let n = 0;
      const pool = new WorkerPool<number>(
        {
          claim: async () => {
            if (n++) return undefined;
            claimed.open();
            await answer.p;
            return 7;
          },
          renew: async () => undefined,
          run: async (item) => { await sleep(50); ran.push(item); },
          describe: (item) => ({ item }),
        },
        log,
        { name: 'test', workers: 1, leaseSeconds: 30, pollMs: 1000 },
      );
      pool.start();
      await claimed.p;
      const stopped = pool.stop();
      answer.open();
      await within(stopped, 2000, 'stop()');
      assert.deepEqual(ran, [7]);
      assert.equal(pool.active, 0);
    });

    it('an item whose run throws frees its worker', async () => {
      const items = [1, 2];
      const ran: number[] = [];
      const pool = new WorkerPool<number>(
        {
          claim: async () => items.shift(),
          renew: async () => undefined,
          run: async (item) => { ran.push(item); if (item === 1) throw new Error('bookkeeping failed'); },
          describe: (item) => ({ item }),
        },
        log,
        { name: 'test', workers: 1, leaseSeconds: 30, pollMs: 1000 },
      );
      pool.start();
      await until(() => ran.length === 2, 'both items ran', 2000);
      await pool.stop();
      assert.equal(pool.active, 0);
    });
  });

  describe('NotificationDispatcher.stop()', () => {
    const project = `pool-test-${randomUUID().slice(0, 8)}`;
    let server: http.Server;
    let url: string;
    const held: { path: string; res: http.ServerResponse }[] = [];

    before(async () => {
      server = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => held.push({ path: req.url ?? '', res }));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => {
      await db?.sequelize.query(`DELETE FROM pkgm_subscriptions WHERE project = :project`, { replacements: { project } }).catch(() => undefined);
      server?.closeAllConnections();
      await new Promise((r) => server?.close(r));
    });

    const subscribe = async (name: string) => {
      const id = randomUUID();
      assert.equal(await new SubscriptionsRepository(db.sequelize).create({
        id, project, createdBy: 'test', allProjects: false, apiMajor: 2, callbackUri: `${url}/${name}`, filter: null, filterKey: `{"t":"${id}"}`, authentication: null,
      }), true);
      return id;
    };
    const states = async (subs: string[]) =>
      (await db.sequelize.query<{ state: string }>(`SELECT state FROM pkgm_notifications WHERE subscription_id IN (:subs) ORDER BY seq`, { replacements: { subs }, type: QueryTypes.SELECT })).map((r) => r.state);

    it('waits for the deliveries in flight (two workers, one goes idle first) and then resolves', async () => {
      const subs = [await subscribe('a'), await subscribe('b')];
      const outbox = new OutboxRepository(db.sequelize);
      await db.sequelize.transaction(async (t) => {
        for (const s of subs) await outbox.add(t, randomUUID(), s, { hello: s });
      });
      const d = new NotificationDispatcher(db.sequelize, log, {
        workers: 2, maxAttempts: 3, retryBaseSeconds: 1, retryMaxSeconds: 1, timeoutSeconds: 10, leaseSeconds: 30, allow: ['127.0.0.0/8'], pollMs: 50,
      });
      d.start();
      try {
        await until(() => held.length === 2, 'both deliveries in flight');
        const stopped = d.stop();
        held[0].res.writeHead(204).end();
        await sleep(100);
        assert.equal(await settled(stopped), false, 'stop() waits for the second delivery');
        held[1].res.writeHead(204).end();
        await within(stopped, 3000, 'stop()');
        assert.deepEqual(await states(subs), ['delivered', 'delivered']);
      } finally {
        await d.stop();
      }
    });

    it('resolves at once when idle', async () => {
      const d = new NotificationDispatcher(db.sequelize, log, {
        workers: 2, maxAttempts: 3, retryBaseSeconds: 1, retryMaxSeconds: 1, timeoutSeconds: 10, leaseSeconds: 30, allow: [], pollMs: 50,
      });
      await within(d.stop(), 500, 'stop() before start()');
      d.start();
      await sleep(120);
      await within(d.stop(), 500, 'stop() while idle');
    });
  });
});
