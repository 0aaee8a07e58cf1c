import type { Finding, Severity } from '../common/findings';
import { finding } from './finding';

export const TOSCA_META_PATH = 'TOSCA-Metadata/TOSCA.meta';

/** A `Source`/`Algorithm`/`Hash` triple from the manifest or a TOSCA.meta artifact block. */
export interface DigestEntry {
  /** Package-relative path or URI of the artifact. */
  source: string;
  /** As written (`SHA-256`, `sha-512`, ...); undefined when the block has none. */
  algorithm?: string;
  hash?: string;
  /** File that declares the entry and the 1-based line of its `Source` (or `Name`) key. */
  file: string;
  line: number;
  hashLine?: number;
  /** Per-artifact security (SOL004 v2.6.1+), manifest only. */
  signature?: string;
  certificate?: string;
}

export interface MetaValue {
  value: string;
  line: number;
  /** The key as written, which may differ in case or use a pre-v2.6 alias. */
  key: string;
}

export interface ToscaMeta {
  /** block_0 keys under their canonical SOL004 names. */
  keys: Record<string, MetaValue>;
  /** Artifact blocks carrying `Algorithm`/`Hash` (TOSCA 1.0 style `Name:` or `Source:`). */
  artifacts: DigestEntry[];
}

const CANONICAL_KEYS = [
  'TOSCA-Meta-File-Version',
  'CSAR-Version',
  'Created-By',
  'Entry-Definitions',
  'Other-Definitions',
  'ETSI-Entry-Manifest',
  'ETSI-Entry-Change-Log',
  'ETSI-Entry-Tests',
  'ETSI-Entry-Licenses',
  'ETSI-Entry-Certificate',
] as const;

/** SOL004 v2.3.1/v2.4.1 names, still found in packages (sol005.md §7.2). */
const LEGACY_ALIASES: Record<string, string> = {
  'entry-manifest': 'ETSI-Entry-Manifest',
  'entry-change-log': 'ETSI-Entry-Change-Log',
  'entry-licenses': 'ETSI-Entry-Licenses',
  'entry-tests': 'ETSI-Entry-Tests',
  'entry-certificate': 'ETSI-Entry-Certificate',
};

const BY_LOWER = new Map<string, string>([...CANONICAL_KEYS.map((k) => [k.toLowerCase(), k] as [string, string]), ...Object.entries(LEGACY_ALIASES)]);

interface RawLine {
  key: string;
  value: string;
  line: number;
}

/**
 * Splits `Key: value` text into blank-line separated blocks. A line that starts with a space
 * continues the previous value (the JAR-manifest convention TOSCA.meta inherits).
 */
export function splitBlocks(text: string, file: string, syntaxSeverity: Severity, findings: Finding[]): RawLine[][] {
  const blocks: RawLine[][] = [];
  let block: RawLine[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') {
      if (block.length) blocks.push(block);
      block = [];
      return;
    }
    if (/^[ \t]/.test(raw) && block.length) {
      block[block.length - 1].value += raw.trim();
      return;
    }
    const m = /^([^:\s][^:]*?)\s*:\s?(.*)$/.exec(raw);
    if (!m) {
      findings.push(finding('CSAR-META-SYNTAX', syntaxSeverity, `expected "Key: value", found ${JSON.stringify(raw)}`, { file, line }));
      return;
    }
    block.push({ key: m[1], value: m[2].trim(), line });
  });
  if (block.length) blocks.push(block);
  return blocks;
}

/**
 * Parses TOSCA.meta (SOL004 §4.2, sol005.md §7.2). Problems of form are reported with `formality`
 * severity (warning by default, error under the strict policy); a missing Entry-Definitions is
 * always an error because nothing can be validated without it.
 */
export function parseToscaMeta(text: string, formality: Severity, file = TOSCA_META_PATH): { meta: ToscaMeta; findings: Finding[] } {
  const findings: Finding[] = [];
  const blocks = splitBlocks(text, file, 'error', findings);
  const keys: Record<string, MetaValue> = {};
  for (const { key, value, line } of blocks[0] ?? []) {
    const canonical = BY_LOWER.get(key.toLowerCase());
    if (!canonical) {
      findings.push(finding('CSAR-META-UNKNOWN-KEY', formality, `unknown TOSCA.meta key "${key}"`, { file, line }));
      continue;
    }
    if (keys[canonical]) {
      findings.push(finding('CSAR-META-DUPLICATE-KEY', 'error', `"${canonical}" is given twice (first on line ${keys[canonical].line})`, { file, line }));
      continue;
    }
    if (key !== canonical && !(key.toLowerCase() in LEGACY_ALIASES)) {
      findings.push(finding('CSAR-META-KEY-CASE', formality, `"${key}" should be spelt "${canonical}"`, { file, line }));
    }
    keys[canonical] = { value, line, key };
  }
  for (const required of ['TOSCA-Meta-File-Version', 'CSAR-Version', 'Created-By', 'Entry-Definitions', 'ETSI-Entry-Change-Log', 'ETSI-Entry-Licenses']) {
    if (keys[required]) continue;
    const severity = required === 'Entry-Definitions' ? 'error' : formality;
    findings.push(finding('CSAR-META-MISSING-KEY', severity, `TOSCA.meta block_0 lacks "${required}"`, { file, line: 1 }));
  }
  checkVersion(keys['TOSCA-Meta-File-Version'], ['1.0', '1.1']);
  checkVersion(keys['CSAR-Version'], ['1.0', '1.1', '2.0']);

  function checkVersion(v: MetaValue | undefined, allowed: string[]): void {
    if (v && !allowed.includes(v.value)) {
      findings.push(finding('CSAR-META-INVALID-VALUE', formality, `"${v.key}: ${v.value}" is not one of ${allowed.join(', ')}`, { file, line: v.line }));
    }
  }

  const artifacts: DigestEntry[] = [];
  for (const block of blocks.slice(1)) {
    const get = (k: string) => block.find((l) => l.key.toLowerCase() === k);
    const hash = get('hash');
    const algorithm = get('algorithm');
    // Blocks with only Name/Content-Type are TOSCA 1.0 file typing, not digests.
    if (!hash && !algorithm) continue;
    const source = get('source') ?? get('name');
    if (!source) {
      findings.push(finding('CSAR-DIGEST-INCOMPLETE', 'error', 'artifact block has Algorithm/Hash but no Source or Name', { file, line: block[0].line }));
      continue;
    }
    artifacts.push({ source: source.value, algorithm: algorithm?.value, hash: hash?.value, file, line: source.line, hashLine: hash?.line });
  }
  return { meta: { keys, artifacts }, findings };
}
