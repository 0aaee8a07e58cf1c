import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The read-only reference folder (`../shared` beside the clone) holds sample CSARs and ETSI schemas.
 * A user's clone does not have it: tests that need it call `sharedDirOrSkip(this)` and are skipped
 * with a message saying why, instead of failing.
 */
export const repoRoot = path.resolve(__dirname, '../..');

export function sharedDir(): string | undefined {
  const dir = process.env.DEPOT_SHARED_DIR ?? path.resolve(repoRoot, '../shared');
  return fs.existsSync(path.join(dir, 'csar-samples')) ? dir : undefined;
}

export function sharedDirOrSkip(ctx: Mocha.Context): string {
  const dir = sharedDir();
  if (!dir) {
    // eslint-disable-next-line no-console
    console.log('    (skipped: ../shared reference data is absent; set DEPOT_SHARED_DIR to run)');
    ctx.skip();
  }
  return dir as string;
}
