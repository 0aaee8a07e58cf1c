import * as fs from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_ROOT } from '../common/package-root';
import { readSnapshot, SNAPSHOT_DIR, writeSnapshot } from './snapshot';
import { DEFAULT_LIMITS, YValue, loadYaml } from './yaml';

/**
 * The built-in type catalog (repo folder `tosca/`): TOSCA normative types, always in scope, and the
 * ETSI SOL001 type files a VNFD imports by file name or forge URL. The network is never used.
 */
export const CATALOG_DIR = path.join(PACKAGE_ROOT, 'tosca');
export const NORMATIVE = 'tosca_normative_types.yaml';
const ETSI_FILE = /(?:^|\/)(etsi_nfv_sol001_(?:common|vnfd|nsd|pnfd)_types\.yaml)$/;
const ETSI_URL = /SOL001\/(?:raw|-\/raw)\/v?(\d+)\.(\d+)\.(\d+)\/(etsi_nfv_sol001_(?:common|vnfd|nsd|pnfd)_types\.yaml)$/;
/** The NSD and PNFD types are held in one version (SOL001 v4.4.1), whichever a template names. */
const NS_FILE = /^etsi_nfv_sol001_(?:nsd|pnfd)_types\.yaml$/;
const NS_DIR = 'v4.4.1';
/** Names the TOSCA normative definitions go by; importing them is a no-op since they are always in scope. */
const NORMATIVE_NAMES = /(?:^|\/)(TOSCA_definition_1_0\.yaml|tosca_normative_types\.yaml|TOSCA_simple_profile_definitions.*\.yaml)$/i;

/** Catalog versions we hold, by SOL001 major version (minor versions of one major share their types). */
function etsiVersionDir(major: number): string {
  if (major <= 2) return 'v2.6.1';
  if (major === 3) return 'v3.3.1';
  return 'v4.2.1';
}

/** ETSI version implied by a template's tosca_definitions_version, for bare file-name imports. */
export function etsiDirForDefinitionsVersion(defsVersion: string | undefined): string {
  return defsVersion === 'tosca_simple_yaml_1_2' || defsVersion === 'tosca_simple_yaml_1_0' || defsVersion === 'tosca_simple_yaml_1_1' ? 'v2.6.1' : 'v3.3.1';
}

/**
 * Map an import reference to a catalog file, or undefined. Returns 'normative' for the always-present
 * TOSCA normative types.
 */
export function catalogFileFor(ref: string, defsVersion: string | undefined): string | undefined {
  const url = ETSI_URL.exec(ref);
  if (url) return `etsi/${NS_FILE.test(url[4]) ? NS_DIR : etsiVersionDir(Number(url[1]))}/${url[4]}`;
  if (NORMATIVE_NAMES.test(ref)) return NORMATIVE;
  const name = ETSI_FILE.exec(ref);
  if (name) return `etsi/${NS_FILE.test(name[1]) ? NS_DIR : etsiDirForDefinitionsVersion(defsVersion)}/${name[1]}`;
  return undefined;
}

const loaded = new Map<string, YValue>();

/** Parsed catalog file (cached for the process lifetime: warm validations never re-read it). */
export function catalogTemplate(rel: string): YValue {
  let root = loaded.get(rel);
  if (!root) {
    const file = `catalog:${rel}`;
    const bytes = fs.readFileSync(path.join(CATALOG_DIR, rel));
    root = readSnapshot(SNAPSHOT_DIR, rel, bytes, file) ?? parseCatalogFile(rel, bytes);
    loaded.set(rel, root);
  }
  return root;
}

function parseCatalogFile(rel: string, bytes: Buffer): YValue {
  const res = loadYaml(`catalog:${rel}`, bytes, { ...DEFAULT_LIMITS, maxFileBytes: 16 * 1024 * 1024 });
  if (!res.root || res.findings.some((f) => f.severity === 'error')) throw new Error(`built-in catalog file ${rel} is broken: ${res.findings[0]?.message}`);
  return res.root;
}

/** Every catalog file, relative to CATALOG_DIR. */
export function catalogFiles(dir = CATALOG_DIR, rel = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) return catalogFiles(path.join(dir, e.name), r);
    return /\.ya?ml$/.test(e.name) ? [r] : [];
  });
}

/** `npm run build`: saves the parsed catalog beside the compiled code (src/tosca/snapshot.ts). */
export function saveCatalogSnapshots(): string[] {
  if (!SNAPSHOT_DIR) throw new Error('catalog snapshots are made by the compiled code (npm run build)');
  const files = catalogFiles();
  for (const rel of files) {
    const bytes = fs.readFileSync(path.join(CATALOG_DIR, rel));
    writeSnapshot(SNAPSHOT_DIR, rel, bytes, parseCatalogFile(rel, bytes));
  }
  return files;
}

if (require.main === module) {
  const saved = saveCatalogSnapshots();
  process.stdout.write(`catalog snapshots: ${saved.length} files in ${SNAPSHOT_DIR}\n`);
}
