import type { Finding, Severity } from '../common/findings';
import { finding } from './finding';
import type { DigestEntry } from './meta';

export interface ManifestValue {
  value: string;
  line: number;
}

export interface Manifest {
  /** Package path of the `.mf` file. */
  path: string;
  /** `metadata:` block, keys as written (`vnf_provider_id`, ...); undefined when the block is absent. */
  metadata?: Record<string, ManifestValue>;
  entries: DigestEntry[];
  /** `non_mano_artifact_sets`: set id → listed sources. */
  nonManoArtifactSets: Record<string, { source: string; line: number }[]>;
  /** A PEM `-----BEGIN CMS-----` block closes the manifest (security option 1 signature). */
  signed: boolean;
  cmsLine?: number;
}

const VNF_METADATA = ['vnf_provider_id', 'vnf_product_name', 'vnf_release_date_time', 'vnf_package_version'];
const PNF_METADATA = ['pnfd_provider', 'pnfd_name', 'pnfd_release_date_time', 'pnfd_archive_version'];
/** SOL007 NSD archive manifest metadata. */
const NSD_METADATA = ['nsd_designer', 'nsd_invariant_id', 'nsd_name', 'nsd_release_date_time', 'nsd_file_structure_version'];
const OPTIONAL_METADATA = ['compatible_specification_versions', 'vnfm_info', 'vnf_software_version', 'vnfd_id'];
/** ONAP's misspelling, accepted by vnfsdk-pkgtools for "v2.4.1 compatibility". */
const RELEASE_DATE_TYPO = 'vnf_release_data_time';

// RFC 3339 section 5.6 date-time; lower-case t/z are allowed by the RFC.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

const DIGEST_KEYS = new Set(['algorithm', 'hash', 'signature', 'certificate']);

/**
 * Parses a SOL004 manifest (sol005.md §7.4). It looks like YAML but is line-oriented with
 * repeated `Source:` keys, so it is read line by line and every value keeps its line number.
 */
export function parseManifest(text: string, path: string, formality: Severity): { manifest: Manifest; findings: Finding[] } {
  const findings: Finding[] = [];
  const at = (line: number) => ({ file: path, line });
  const manifest: Manifest = { path, entries: [], nonManoArtifactSets: {}, signed: false };
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);

  let end = lines.length;
  const begin = lines.findIndex((l) => l.trim() === '-----BEGIN CMS-----');
  if (begin >= 0) {
    manifest.signed = true;
    manifest.cmsLine = begin + 1;
    end = begin;
    const close = lines.findIndex((l, i) => i > begin && l.trim() === '-----END CMS-----');
    if (close < 0) {
      findings.push(finding('CSAR-MANIFEST-CMS-MALFORMED', 'error', 'the CMS signature block has no "-----END CMS-----" line', at(begin + 1)));
    } else if (lines.slice(close + 1).some((l) => l.trim() !== '')) {
      findings.push(finding('CSAR-MANIFEST-CMS-MALFORMED', 'error', 'content follows the CMS signature block; the signature must close the manifest', at(close + 2)));
    }
  }

  type Section = 'none' | 'metadata' | 'non_mano' | 'digest';
  let section: Section = 'none';
  let current: DigestEntry | undefined;
  let currentSet: string | undefined;
  const seenSources = new Map<string, number>();

  for (let i = 0; i < end; i++) {
    const raw = lines[i];
    const line = i + 1;
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) {
      if (section === 'digest') section = 'none';
      current = undefined;
      continue;
    }
    const indented = /^[ \t]/.test(raw);
    const m = /^\s*([^:\s][^:]*?)\s*:\s?(.*)$/.exec(raw);
    if (!m) {
      findings.push(finding('CSAR-MANIFEST-SYNTAX', formality, `expected "key: value", found ${JSON.stringify(raw.trim())}`, at(line)));
      continue;
    }
    const key = m[1];
    const value = m[2].trim();
    const lower = key.toLowerCase();

    if (!indented) {
      if (lower === 'metadata' && value === '') {
        section = 'metadata';
        manifest.metadata ??= {};
        continue;
      }
      if (lower === 'non_mano_artifact_sets' && value === '') {
        section = 'non_mano';
        continue;
      }
      if (lower === 'source') {
        section = 'digest';
        current = { source: value, file: path, line };
        const first = seenSources.get(value);
        if (first !== undefined) {
          findings.push(finding('CSAR-MANIFEST-DUPLICATE-SOURCE', 'error', `"${value}" is already listed on line ${first}`, { ...at(line), path: value }));
        } else {
          seenSources.set(value, line);
        }
        manifest.entries.push(current);
        continue;
      }
      if (current && DIGEST_KEYS.has(lower)) {
        if (lower === 'algorithm') current.algorithm = value;
        if (lower === 'hash') {
          current.hash = value;
          current.hashLine = line;
        }
        if (lower === 'signature') current.signature = value;
        if (lower === 'certificate') current.certificate = value;
        continue;
      }
      findings.push(finding('CSAR-MANIFEST-SYNTAX', formality, `unexpected "${key}" ${current ? 'in a Source block' : 'outside any block'}`, at(line)));
      continue;
    }

    if (section === 'metadata' && manifest.metadata) {
      if (manifest.metadata[key]) {
        findings.push(finding('CSAR-MANIFEST-SYNTAX', 'error', `metadata "${key}" is given twice (first on line ${manifest.metadata[key].line})`, at(line)));
      } else {
        manifest.metadata[key] = { value: unquote(value), line };
      }
    } else if (section === 'non_mano') {
      if (lower === 'source' && currentSet !== undefined) {
        manifest.nonManoArtifactSets[currentSet].push({ source: value, line });
      } else if (value === '') {
        currentSet = key;
        if (!/^[0-9a-z_-]+(\.[0-9a-z_-]+)*$/.test(key)) {
          findings.push(finding('CSAR-MANIFEST-SYNTAX', formality, `non-MANO artifact set id "${key}" is not a registered or "prv." id`, at(line)));
        }
        manifest.nonManoArtifactSets[key] ??= [];
      } else {
        findings.push(finding('CSAR-MANIFEST-SYNTAX', formality, `unexpected "${key}" in non_mano_artifact_sets`, at(line)));
      }
    } else {
      findings.push(finding('CSAR-MANIFEST-SYNTAX', formality, `unexpected indented line ${JSON.stringify(raw.trim())}`, at(line)));
    }
  }

  findings.push(...checkMetadata(manifest, formality));
  return { manifest, findings };
}

function unquote(v: string): string {
  return /^(['"]).*\1$/.test(v) ? v.slice(1, -1) : v;
}

function checkMetadata(manifest: Manifest, formality: Severity): Finding[] {
  const file = manifest.path;
  const md = manifest.metadata;
  if (!md) return [finding('CSAR-MANIFEST-NO-METADATA', formality, 'the manifest has no "metadata:" block (vnf_provider_id, vnf_product_name, vnf_release_date_time, vnf_package_version)', { file, line: 1 })];
  const out: Finding[] = [];
  if (md[RELEASE_DATE_TYPO] && !md.vnf_release_date_time) {
    out.push(finding('CSAR-MANIFEST-METADATA-KEY', formality, `"${RELEASE_DATE_TYPO}" is a misspelling of "vnf_release_date_time"`, { file, line: md[RELEASE_DATE_TYPO].line }));
    md.vnf_release_date_time = md[RELEASE_DATE_TYPO];
  }
  const isPnf = PNF_METADATA.some((k) => md[k]);
  const isNsd = !isPnf && NSD_METADATA.some((k) => md[k]);
  const required = isPnf ? PNF_METADATA : isNsd ? NSD_METADATA : VNF_METADATA;
  for (const k of required) {
    if (!md[k]) out.push(finding('CSAR-MANIFEST-METADATA-KEY', formality, `manifest metadata lacks "${k}"`, { file, line: firstLine(md) }));
  }
  const known = new Set([...required, ...OPTIONAL_METADATA, RELEASE_DATE_TYPO]);
  for (const [k, v] of Object.entries(md)) {
    if (!known.has(k)) out.push(finding('CSAR-MANIFEST-METADATA-KEY', formality, `unknown manifest metadata "${k}"`, { file, line: v.line }));
  }
  for (const k of ['vnf_release_date_time', 'pnfd_release_date_time', 'nsd_release_date_time']) {
    const v = md[k];
    if (v && !(RFC3339.test(v.value) && !Number.isNaN(Date.parse(v.value.replace(' ', 'T'))))) {
      out.push(finding('CSAR-MANIFEST-METADATA-INVALID', formality, `${k} "${v.value}" is not an RFC 3339 date-time`, { file, line: v.line }));
    }
  }
  return out;
}

function firstLine(md: Record<string, ManifestValue>): number | undefined {
  const lines = Object.values(md).map((v) => v.line);
  return lines.length ? Math.min(...lines) - 1 : undefined;
}
