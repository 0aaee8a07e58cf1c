import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatFinding, hasErrors } from '../common/findings';
import type { Finding } from '../common/findings';
import { PackageFiles, folderFiles, memoryFiles, zipFiles } from './files';
import { validateVnfd } from './index';

/**
 * The entry definitions of a package: TOSCA-Metadata/TOSCA.meta `Entry-Definitions`, else the single
 * .yaml/.yml file at the root (SOL004 4.3.3, CSAR without TOSCA-Metadata).
 */
export async function findEntryDefinitions(files: PackageFiles): Promise<{ entry?: string; problem?: string }> {
  if (files.has('TOSCA-Metadata/TOSCA.meta')) {
    const meta = (await files.read('TOSCA-Metadata/TOSCA.meta')).toString('utf8');
    const m = /^Entry-Definitions\s*:\s*(.+?)\s*$/m.exec(meta);
    if (!m) return { problem: 'TOSCA-Metadata/TOSCA.meta has no Entry-Definitions' };
    return { entry: m[1] };
  }
  const roots = files.list().filter((f) => !f.includes('/') && /\.ya?ml$/i.test(f));
  if (roots.length !== 1) return { problem: `no TOSCA-Metadata and ${roots.length} YAML files at the package root (exactly one is needed)` };
  return { entry: roots[0] };
}

/** Open a .zip/.csar, a folder, or a single YAML file as a package. */
export async function openPackage(p: string): Promise<{ files: PackageFiles; close(): void }> {
  const st = fs.statSync(p);
  if (st.isDirectory()) return { files: folderFiles(p), close: () => undefined };
  if (/\.(zip|csar)$/i.test(p)) {
    const z = await zipFiles(p);
    return { files: z, close: () => z.close() };
  }
  return { files: memoryFiles({ [path.basename(p)]: fs.readFileSync(p) }), close: () => undefined };
}

/** `depot validate <csar|folder|yaml> [--json]`; returns the process exit code. */
export async function validateCommand(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const target = argv.find((a) => !a.startsWith('--'));
  if (!target) {
    process.stderr.write('usage: depot validate <csar|folder|yaml> [--json]\n');
    return 2;
  }
  if (!fs.existsSync(target)) {
    process.stderr.write(`depot validate: ${target}: no such file or directory\n`);
    return 2;
  }
  let pkg: { files: PackageFiles; close(): void };
  try {
    pkg = await openPackage(target);
  } catch (e) {
    process.stderr.write(`depot validate: cannot open ${target}: ${(e as Error).message}\n`);
    return 2;
  }
  try {
    const { entry, problem } = await findEntryDefinitions(pkg.files);
    let findings: Finding[];
    let facts: unknown;
    if (!entry) {
      findings = [{ rule: 'TOSCA-FILE-UNREADABLE', severity: 'error', message: problem ?? 'no entry definitions' }];
    } else {
      const r = await validateVnfd(pkg.files, entry);
      findings = r.findings;
      facts = r.facts;
    }
    if (json) process.stdout.write(`${JSON.stringify({ findings, facts }, null, 2)}\n`);
    else {
      for (const f of findings) process.stdout.write(`${formatFinding(f)}\n`);
      const errors = findings.filter((f) => f.severity === 'error').length;
      process.stderr.write(`${errors} error(s), ${findings.length - errors} warning(s)\n`);
    }
    return hasErrors(findings) ? 1 : 0;
  } finally {
    pkg.close();
  }
}

if (require.main === module) {
  validateCommand(process.argv.slice(2)).then((code) => process.exit(code), (e) => { process.stderr.write(`${e?.stack ?? e}\n`); process.exit(2); });
}
