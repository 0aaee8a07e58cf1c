import type { PackageFiles } from './files';

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
