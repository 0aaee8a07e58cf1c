import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { YMap, YPair, YScalar, YValue } from './yaml';

/**
 * The built-in catalog's parsed trees, saved by `npm run build` as JSON beside the compiled code
 * (dist/catalog/): a cold `depot validate` then reads them in a few milliseconds instead of parsing
 * ~100 KB of type YAML with a cold parser (~200–300 ms, most of the command's time). Each snapshot
 * names the SHA-256 of the YAML it was made from and is ignored when that differs; it is only
 * written and read by compiled code (a build always rewrites dist/ whole, so the tree format and the
 * code that reads it never disagree).
 */
export type Packed = [0, number, number, YScalar['value'], 0 | 1] | [1, number, number, Packed[]] | [2, number, number, [Packed, Packed][]];

export function pack(v: YValue): Packed {
  if (v.kind === 'scalar') return [0, v.line, v.column, v.value, v.quoted ? 1 : 0];
  if (v.kind === 'seq') return [1, v.line, v.column, v.items.map(pack)];
  return [2, v.line, v.column, v.pairs.map((p) => [pack(p.keyNode), pack(p.value)])];
}

export function unpack(p: Packed, file: string): YValue {
  if (p[0] === 0) return { kind: 'scalar', file, line: p[1], column: p[2], value: p[3], quoted: p[4] === 1 };
  if (p[0] === 1) return { kind: 'seq', file, line: p[1], column: p[2], items: p[3].map((i) => unpack(i, file)) };
  const m: YMap = { kind: 'map', file, line: p[1], column: p[2], pairs: [], byKey: new Map() };
  for (const [k, v] of p[3]) {
    const keyNode = unpack(k, file) as YScalar;
    const pair: YPair = { key: String(keyNode.value), keyNode, value: unpack(v, file) };
    m.pairs.push(pair);
    m.byKey.set(pair.key, pair);
  }
  return m;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Where the compiled code keeps the snapshots; none under tsx (the sources are the truth there). */
export const SNAPSHOT_DIR = path.extname(__filename) === '.js' ? path.resolve(__dirname, '..', '..', 'catalog') : undefined;

/** The saved tree of a catalog file whose bytes are `yaml`, or undefined (no snapshot, or a stale one). */
export function readSnapshot(dir: string | undefined, rel: string, yaml: Buffer, file: string): YValue | undefined {
  if (!dir) return undefined;
  let saved: { sha256: string; root: Packed };
  try {
    saved = JSON.parse(fs.readFileSync(path.join(dir, `${rel}.json`), 'utf8'));
  } catch {
    return undefined;
  }
  return saved.sha256 === sha256(yaml) ? unpack(saved.root, file) : undefined;
}

export function writeSnapshot(dir: string, rel: string, yaml: Buffer, root: YValue): void {
  const file = path.join(dir, `${rel}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ sha256: sha256(yaml), root: pack(root) }));
}
