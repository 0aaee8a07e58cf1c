import * as fs from 'node:fs';
import * as path from 'node:path';
import { findEntryDefinitions } from '../src/tosca/cli';
import { folderFiles, validateVnfd } from '../src/tosca';

const RUNS = 30;
const repoRoot = path.resolve(__dirname, '..');

/** Median wall time (ms) of validating one package, after warm-up runs (parse caches filled). */
async function warmMedian(dir: string): Promise<{ ms: number; errors: number; warnings: number } | string> {
  const files = folderFiles(dir);
  const { entry, problem } = await findEntryDefinitions(files);
  if (!entry) return problem ?? 'no entry definitions';
  let last = await validateVnfd(files, entry);
  for (let i = 0; i < 3; i++) last = await validateVnfd(files, entry);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    await validateVnfd(files, entry);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const errors = last.findings.filter((f) => f.severity === 'error').length;
  return { ms: times[Math.floor(times.length / 2)], errors, warnings: last.findings.length - errors };
}

function packagesIn(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name)).sort();
}

/** Prints the warm validation time (median of RUNS) of each sample package and of our own corpus. */
export async function benchTosca(): Promise<void> {
  const shared = process.env.DEPOT_SHARED_DIR ?? path.resolve(repoRoot, '../shared');
  const groups: [string, string[]][] = [];
  const samples = path.join(shared, 'csar-samples');
  if (fs.existsSync(samples)) {
    groups.push(['tacker-restored', packagesIn(path.join(samples, 'tacker-restored'))]);
    groups.push(['tacker', packagesIn(path.join(samples, 'tacker'))]);
  } else {
    console.log(`tosca: skipping the sample packages (${samples} is absent; set DEPOT_SHARED_DIR)`);
  }
  groups.push(['corpus', packagesIn(path.join(repoRoot, 'test/fixtures/tosca/valid'))]);
  console.log(`tosca: warm validateVnfd, median of ${RUNS} runs (target <= 20 ms each)`);
  for (const [group, dirs] of groups) {
    for (const dir of dirs) {
      const r = await warmMedian(dir);
      const name = `${group}/${path.basename(dir)}`.padEnd(52);
      if (typeof r === 'string') console.log(`  ${name} skipped: ${r}`);
      else console.log(`  ${name} ${r.ms.toFixed(2).padStart(7)} ms  ${r.ms <= 20 ? 'ok  ' : 'SLOW'}  (${r.errors} errors, ${r.warnings} warnings)`);
    }
  }
}

if (require.main === module) void benchTosca();
