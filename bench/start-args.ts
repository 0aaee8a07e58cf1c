import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * What `npm start` runs (package.json scripts.start: `[NAME=value ...] node <args>`), minus npm and
 * its shell, so a bench's child process is exactly the service (same V8 flags and allocator
 * settings; no wrapper process) and its RSS is the service's own. BENCH_NODE_ARGS adds node flags
 * in front (e.g. --cpu-prof).
 */
export function npmStart(): { env: Record<string, string>; args: string[] } {
  const start = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')).scripts.start as string;
  const words = start.trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_][A-Z0-9_]*=/.test(words[0] ?? '')) {
    const [name, ...value] = words.shift()!.split('=');
    env[name] = value.join('=');
  }
  if (words[0] !== 'node') throw new Error(`package.json scripts.start is not "[NAME=value ...] node ...": ${start}`);
  return { env, args: [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), ...words.slice(1)] };
}
