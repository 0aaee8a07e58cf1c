import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli';
import { META, packageFiles } from '../vnf-package/helpers';

// `depot validate` keeps parsed YAML across runs: here in a folder of the test run, not the user's cache.
process.env.DEPOT_CACHE_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), 'depot-cli-cache-'));

/** Runs `depot <argv>` in this process with stdout and stderr captured; the exit code is main()'s. */
export async function depot(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, out, err };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

/** A package without even a formality warning: TOSCA.meta names its change log and licenses too. */
export function cleanFiles(spec: Parameters<typeof packageFiles>[0] = {}): Record<string, string | Buffer> {
  const { files, entry } = packageFiles(spec);
  return {
    ...files,
    'TOSCA-Metadata/TOSCA.meta': META(entry, 'manifest.mf', 'ETSI-Entry-Change-Log: ChangeLog.txt\nETSI-Entry-Licenses: Licenses\n'),
    'ChangeLog.txt': '1.0: first release\n',
    'Licenses/LICENSE': 'Apache-2.0\n',
  };
}

