import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Finding } from '../common/findings';
import { pack, unpack, type Packed } from '../tosca/snapshot';
import { useParseStore, type LoadedYaml } from '../tosca/yaml';

/** Files whose parsed tree is larger than this (aliases expand) are not kept. */
const MAX_ENTRY_BYTES = 8 * 1024 * 1024;

/**
 * Where `depot validate` keeps parsed YAML across runs: DEPOT_CACHE_DIR (empty: no cache), else
 * $XDG_CACHE_HOME/depot, else ~/.cache/depot.
 */
export function cacheDir(): string | undefined {
  const env = process.env.DEPOT_CACHE_DIR;
  if (env !== undefined) return env || undefined;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'depot');
}

/**
 * Turns on the cross-process parse cache of the TOSCA loader (src/tosca/yaml.ts ParseStore): a
 * parsed file is a JSON file named by the SHA-256 of its bytes and the limits, in a folder named by
 * the parser's build (so a new Depot never reads an older tree format). Unreadable or unwritable
 * entries are parse misses, never errors. Returns the function that turns it off again.
 */
export function enableParseCache(dir = cacheDir()): () => void {
  const off = () => useParseStore(undefined);
  if (!dir) return off;
  let build: string;
  try {
    const st = fs.statSync(require.resolve('../tosca/yaml'));
    build = `${Math.floor(st.mtimeMs)}-${st.size}`;
  } catch {
    return off;
  }
  const folder = path.join(dir, `yaml-${build}`);
  useParseStore({
    get(key: string): LoadedYaml | undefined {
      try {
        const saved = JSON.parse(fs.readFileSync(path.join(folder, `${key}.json`), 'utf8')) as { root?: Packed; findings: Finding[] };
        return { root: saved.root && unpack(saved.root, ''), findings: saved.findings };
      } catch {
        return undefined;
      }
    },
    set(key: string, parsed: LoadedYaml): void {
      try {
        const text = JSON.stringify({ root: parsed.root && pack(parsed.root), findings: parsed.findings });
        if (text.length > MAX_ENTRY_BYTES) return;
        if (!fs.existsSync(folder)) {
          fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
          // Trees of an older build are never read again.
          for (const old of fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name.startsWith('yaml-'))) fs.rmSync(path.join(dir, old.name), { recursive: true, force: true });
          fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
        }
        const tmp = path.join(folder, `${key}.${process.pid}.tmp`);
        fs.writeFileSync(tmp, text, { mode: 0o600 });
        fs.renameSync(tmp, path.join(folder, `${key}.json`));
      } catch {
        // A cache that cannot be written is no cache.
      }
    },
  });
  return off;
}
