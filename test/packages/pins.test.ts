import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { QueryTypes } from 'sequelize';
import type { Principal } from '../../src/common/principal';
import { JobsRepository } from '../../src/db/repositories/jobs';
import { JobQueue } from '../../src/jobs/queue';
import { VnfPackageProfile } from '../../src/modules/vnf-packages/profile';
import { PackageOnboarding } from '../../src/packages/onboarding';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { buildPackage } from '../vnf-package/helpers';

/**
 * Between an upload and its processing, the files the upload stored are referenced by no blob: the
 * processing job pins them (payload.pins) so that the garbage collector spares them until it ends.
 */
describe('package pipeline: the processing job pins what the upload stored', function () {
  let d: TestDepot;
  before(async () => {
    d = await startTestDepot();
  });
  after(async () => d?.close());

  it('the queued job pins the object of every file the upload stored', async () => {
    const { engine } = d.depot;
    // Job kinds of its own and a queue that is not started: the job stays queued for inspection.
    const profile = Object.assign(new VnfPackageProfile(engine, d.depot.log), { jobs: { onboard: 'test.pins.onboard', fetch: 'test.pins.fetch' } });
    const queue = new JobQueue(engine.sequelize, d.depot.log, { workers: 1, leaseSeconds: 60, maxAttempts: 1 });
    const pipeline = new PackageOnboarding(engine, queue, d.config, d.depot.log, profile);
    const alice: Principal = { user: 'alice', project: d.users.alice.project, role: 'member', isAdmin: false };
    const pkg = await pipeline.create(alice, undefined);
    await pipeline.upload(alice, pkg.id, Readable.from([await buildPackage({ product: 'Pinned' })]));
    const [job] = await engine.sequelize.query<{ id: string; payload: { pins?: string[]; stream?: { files: { name: string; key?: string }[] } } }>(
      `SELECT id, payload FROM jobs WHERE artifact_id = :id AND kind = 'test.pins.onboard' AND state = 'queued'`, { replacements: { id: pkg.id }, type: QueryTypes.SELECT },
    );
    try {
      const stored = (job.payload.stream?.files ?? []).filter((f) => f.key);
      assert.ok(stored.length >= 3, `files stored by the upload: ${stored.map((f) => f.name)}`);
      assert.deepEqual([...(job.payload.pins ?? [])].sort(), [...new Set(stored.map((f) => f.key!))].sort());
    } finally {
      // Ended, so that its pins do not outlive the test in the shared database.
      await new JobsRepository(engine.sequelize).finish(job.id, 'done', null);
    }
  });
});
