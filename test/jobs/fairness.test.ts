import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { JobQueue } from '../../src/jobs/queue';
import { HeldJobs, jobQueueBed, sleep, until } from './held-jobs';

/** Issue 9 finding 1: work of one project never blocks another's; fetches never hold onboarding workers. */
describe('job queue fairness (issue 9)', function () {
  const held: HeldJobs[] = [];
  const newHeld = () => {
    const h = new HeldJobs();
    held.push(h);
    return h;
  };
  afterEach(() => held.splice(0).forEach((h) => h.releaseAll())); // before the queues stop
  const bed = jobQueueBed({ workers: 1 });
  const { newKind, newQueue } = bed;

  /** A job of `project` (the column enqueue fills from the artifact's owner; these test jobs have no artifact). */
  async function enqueue(q: JobQueue, kind: string, project: string): Promise<string> {
    const id = await q.enqueue(undefined, kind, null);
    await bed.db.sequelize.query(`UPDATE jobs SET project = :project WHERE id = :id`, { replacements: { id, project } });
    return id;
  }

  it('a project at its limit is skipped: another project runs although its job is younger', async () => {
    const kind = newKind();
    const q = newQueue({ workers: 3, perProject: 1 });
    const h = newHeld();
    q.register(kind, h);
    const a = `a-${randomUUID()}`;
    const b = `b-${randomUUID()}`;
    const a1 = await enqueue(q, kind, a);
    await enqueue(q, kind, a);
    await enqueue(q, kind, a);
    const b1 = await enqueue(q, kind, b);
    q.start();
    await until(() => h.started.length === 2, 'two jobs running');
    await sleep(300);
    assert.deepEqual(h.started.map((j) => j.id).sort(), [a1, b1].sort(), 'one job of each project, the third worker idle');
    h.release(a1);
    await until(() => h.started.length === 3, 'the next job of project a');
    assert.equal(h.started[2].project, a);
  });

  it('with one worker, projects are served in turn (the least recently served first), not oldest job first', async () => {
    const kind = newKind();
    const q = newQueue({ workers: 1 });
    const h = newHeld();
    q.register(kind, h);
    const a = `a-${randomUUID()}`;
    const b = `b-${randomUUID()}`;
    for (let i = 0; i < 3; i++) await enqueue(q, kind, a);
    await enqueue(q, kind, b);
    q.start();
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      await until(() => h.started.length === i + 1, `job ${i + 1} running`);
      const job = h.started[i];
      order.push(job.project === a ? 'a' : 'b');
      h.release(job.id);
    }
    assert.deepEqual(order, ['a', 'b', 'a', 'a']);
  });

  it('the per-project limit holds across processes (two queues on one database)', async () => {
    const kind = newKind();
    const one = newQueue({ workers: 3, perProject: 2, pollMs: 20 });
    const two = newQueue({ workers: 3, perProject: 2, pollMs: 20 });
    const h1 = newHeld();
    const h2 = newHeld();
    one.register(kind, h1);
    two.register(kind, h2);
    const a = `a-${randomUUID()}`;
    for (let i = 0; i < 6; i++) await enqueue(one, kind, a);
    one.start();
    two.start();
    await until(() => h1.started.length + h2.started.length >= 2, 'two jobs running');
    await sleep(400);
    assert.equal(h1.started.length + h2.started.length, 2, 'never more than perProject jobs of one project');
  });

  it('jobs of another lane never take this lane\'s workers: a held fetch leaves onboarding free', async () => {
    const fetch = newKind();
    const onboard = newKind();
    const q = newQueue({ workers: 1, lanes: { fetch: { workers: 1 } } });
    const slow = newHeld();
    const quick: string[] = [];
    q.register(fetch, slow, 'fetch');
    q.register(onboard, { run: async (job) => void quick.push(job.id), onGiveUp: async () => undefined });
    const f = await enqueue(q, fetch, 'p');
    const o = await enqueue(q, onboard, 'p');
    q.start();
    await until(() => slow.started.length === 1, 'the fetch running');
    await until(() => quick.length === 1, 'the onboarding ran while the fetch holds its worker', 3000);
    assert.deepEqual(quick, [o]);
    // The handler returns before the queue records the job as done.
    await until(async () => (await bed.jobs.find(o))?.state === 'done', 'the onboarding job recorded as done');
    assert.equal((await bed.jobs.find(f))?.state, 'running');
  });
});
