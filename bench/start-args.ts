import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The node arguments `npm start` runs Depot with (package.json scripts.start, minus `node`), so a
 * bench's child process is exactly the service (same V8 flags; no npm or tsx wrapper process) and
 * its RSS is the service's own. BENCH_NODE_ARGS adds flags in front (e.g. --cpu-prof).
 */
export function npmStartNodeArgs(): string[] {
  const start = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')).scripts.start as string;
  const args = start.split(/\s+/);
  if (args[0] !== 'node') throw new Error(`package.json scripts.start is not "node ...": ${start}`);
  return [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), ...args.slice(1)];
}
