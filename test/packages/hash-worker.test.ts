import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { buildConfig } from '../../src/config';
import { hashFeed, HashWorker, InlineFeed } from '../../src/common/hash-worker';

describe('package pipeline: whole-package hashing (worker thread and inline)', () => {
  // Chunks of odd sizes around the worker's slot size, and a fork in the middle (the skeleton's key).
  const chunks = [1, 5000, 4 << 20, 3, (4 << 20) + 17, 70_000].map((n, i) => crypto.randomBytes(n).fill(i, 0, 1));
  const expected = () => {
    const whole = crypto.createHash('sha256');
    const forked = crypto.createHash('sha256');
    chunks.forEach((c, i) => {
      whole.update(c);
      if (i < 2 || i % 2 === 1) forked.update(c);
    });
    return { whole: whole.digest('hex'), forked: forked.digest('hex') };
  };

  for (const [name, make] of [['worker thread', () => new HashWorker().feed()], ['inline', () => new InlineFeed()]] as const) {
    it(`${name}: the same digests as one Hash, forks included`, async () => {
      const feed = make();
      const whole = feed.create('sha256');
      let fork: number | undefined;
      for (const [i, c] of chunks.entries()) {
        if (i === 2) fork = feed.fork(whole);
        await feed.update(fork !== undefined && i % 2 === 1 ? [whole, fork] : [whole], c);
      }
      assert.deepEqual({ whole: await feed.digest(whole), forked: await feed.digest(fork!) }, expected());
      feed.close();
    });
  }
});

describe('package pipeline: where the whole-package hash runs is configuration (onboarding.hashWorker)', () => {
  const base = { host: '127.0.0.1', port: 0, dataDir: '/tmp/depot-x', auth: 'none' as const, tokensFile: '/tmp/depot-x/tokens.yaml', logLevel: 'silent' };

  it('defaults to inline, is a boolean key of the schema, and the environment no longer decides', () => {
    assert.equal(buildConfig({}, base).onboarding.hashWorker ?? false, false);
    assert.equal(buildConfig({ onboarding: { hashWorker: true } }, base).onboarding.hashWorker, true);
    assert.throws(() => buildConfig({ onboarding: { hashWorker: 'yes' } }, base), /onboarding\.hashWorker/);
    const saved = process.env.DEPOT_HASH_WORKER;
    process.env.DEPOT_HASH_WORKER = '1';
    try {
      assert.ok(hashFeed(false) instanceof InlineFeed);
      assert.ok(hashFeed() instanceof InlineFeed);
    } finally {
      if (saved === undefined) delete process.env.DEPOT_HASH_WORKER;
      else process.env.DEPOT_HASH_WORKER = saved;
    }
  });
});
