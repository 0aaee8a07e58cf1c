import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { JobQueue } from '../../src/jobs/queue';
import type { Database } from '../../src/db/database';
import { openTestDatabase } from '../helpers/depot';

const log = pino({ level: 'silent' });
const gate = () => { let open!: () => void; const p = new Promise<void>((r) => (open = r)); return { p, open }; };
const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);

describe('JobQueue.stop (today)', function () {
  let db: Database;
  before(async () => { db = await openTestDatabase(); });
  after(async () => { await db?.close(); });

  it('resolves when two workers run and one goes idle first', async () => {
    const kind = `test.${randomUUID()}`;
    const q = new JobQueue(db.sequelize, log, { workers: 2, leaseSeconds: 30, maxAttempts: 3, pollMs: 50 });
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    const bothRunning = gate();
    q.register(kind, {
      async run(job) {
        started.push(job.id);
        if (started.length === 2) bothRunning.open();
        const g = gate();
        gates.set(job.id, g);
        await g.p;
      },
      async onGiveUp() {},
    });
    const a = await q.enqueue(undefined, kind, null);
    const b = await q.enqueue(undefined, kind, null);
    q.start();
    await within(bothRunning.p, 10_000, 'both jobs running');
    const stopped = q.stop();
    gates.get(a)!.open(); // the first worker goes idle while stop() waits
    await new Promise((r) => setTimeout(r, 100));
    gates.get(b)!.open();
    await within(stopped, 3000, 'stop()');
    void b;
  });
});
