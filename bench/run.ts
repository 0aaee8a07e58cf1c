import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * `npm run bench`: every benchmark in one run. Each part lives in its own file and exports one
 * function; a part whose file does not exist yet is skipped, so colleagues can add theirs.
 */
const PARTS: { file: string; fn: string }[] = [
  { file: 'startup.ts', fn: 'benchStartup' },
  { file: 'repository.ts', fn: 'benchRepository' },
  { file: 'tosca.ts', fn: 'benchTosca' },
  { file: 'onboarding.ts', fn: 'benchOnboarding' },
  { file: 'onboarding.ts', fn: 'benchSignedOnboarding' },
  { file: 'image-api.ts', fn: 'benchImageApi' },
  { file: 'cli.ts', fn: 'benchCli' },
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  let failed = 0;
  for (const part of PARTS) {
    if (only.length && !only.some((o) => part.file.startsWith(o))) continue;
    const file = path.join(__dirname, part.file);
    if (!fs.existsSync(file)) {
      console.log(`(${part.file} not present: skipped)`);
      continue;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(file);
    if (typeof mod[part.fn] !== 'function') {
      console.log(`(${part.file} exports no ${part.fn}(): skipped)`);
      continue;
    }
    console.log(`\n== ${part.file} ==`);
    try {
      await mod[part.fn]();
    } catch (err: any) {
      failed++;
      console.error(`${part.file} failed: ${err?.stack ?? err}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

void main();
