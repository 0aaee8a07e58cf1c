import * as fs from 'node:fs';
import * as path from 'node:path';
import { memoryFiles, PackageFiles } from '../../src/tosca';

export const FIXTURES = path.resolve(__dirname, '../fixtures/tosca');

/** All files of a fixture package, as a mutable map (tests derive broken variants from valid ones). */
export function readFixture(name: string): Record<string, Buffer> {
  const root = path.join(FIXTURES, name);
  const out: Record<string, Buffer> = {};
  const walk = (dir: string, rel: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(dir, e.name), r);
      else out[r] = fs.readFileSync(path.join(dir, e.name));
    }
  };
  walk(root, '');
  return out;
}

/** One textual edit: `from` must occur exactly once in `file` (so a fixture change cannot silently void a test). */
export type Edit = [file: string, from: string, to: string];

export function withEdits(name: string, edits: Edit[]): PackageFiles {
  const files = readFixture(name);
  for (const [file, from, to] of edits) {
    const text = files[file]?.toString('utf8');
    if (text === undefined) throw new Error(`fixture ${name} has no ${file}`);
    const at = text.indexOf(from);
    if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`edit target ${JSON.stringify(from)} must occur exactly once in ${name}/${file}`);
    files[file] = Buffer.from(text.slice(0, at) + to + text.slice(at + from.length), 'utf8');
  }
  return memoryFiles(files);
}
