import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { Finding, Severity } from '../common/findings';
import { checkHashSyntax, isExternalSource, normaliseAlgorithm } from './digest';
import { CsarError, finding } from './finding';
import { type Manifest, parseManifest } from './manifest';
import { type DigestEntry, parseToscaMeta, TOSCA_META_PATH, type ToscaMeta } from './meta';
import { type CsarArchive, type CsarEntry, type CsarLimits, type CsarSource, type HashAlgorithm, openCsar } from './zip';

export type PackageSecurityOption = 'OPTION_1' | 'OPTION_2';

/** SHA-256 of every file (Depot content-addresses by it), plus whatever the manifest asked for. */
export type CsarDigests = { sha256: string } & Partial<Record<HashAlgorithm, string>>;

export interface InspectOptions {
  limits?: Partial<CsarLimits>;
  /** Turns SOL004 formalities Tacker-built packages skip (EXPECTED.md) from warnings into errors. */
  strict?: boolean;
  /**
   * Receives each safe file entry's verified bytes during the single hashing pass, so the caller
   * can store it without a second read. The stream must be consumed (or it is drained after the
   * promise settles); it fails with a CsarError when the archive lies about the entry.
   * `digests` (SHA-256 and whatever else is computed for the entry) is filled once the stream has
   * ended without error, so a consumer can reuse them instead of hashing the bytes again.
   */
  onEntry?: (entry: CsarEntry, stream: Readable, digests: Partial<Record<HashAlgorithm, string>>) => Promise<void>;
  /**
   * Digests to compute for every file besides SHA-256, e.g. ['sha512'] when VNFD sw_image_data
   * checksums (checked later by checkSoftwareImages) use another algorithm than the manifest.
   */
  extraAlgorithms?: HashAlgorithm[];
  /**
   * Digests already computed for an entry (while the upload streamed): when they cover every
   * algorithm the entry needs, the entry is not read again and `onEntry` is not called for it;
   * otherwise it is read for the missing algorithms only. For a security option 2 package it is
   * consulted for the inner CSAR's entries when that is read in place (a stored inner CSAR: its
   * entries' offsets are then absolute in the upload), never for a temporary copy.
   */
  reuse?: (entry: CsarEntry, algorithms: ReadonlySet<HashAlgorithm>) => CsarDigests | undefined;
  /**
   * Digests some files need besides what the manifest asks for (e.g. the algorithm a per-artifact
   * signature names), asked once the manifest is parsed and before the single hashing pass, so that
   * they are computed in it. It may read small files through `archive`.
   */
  neededDigests?: (manifest: Manifest, archive: CsarArchive) => Promise<Map<string, HashAlgorithm[]>>;
  /** Cap for TOSCA.meta and manifest reads; default 16 MiB. */
  maxTextBytes?: number;
  /** Where a deflated inner CSAR of a security option 2 package is unpacked; default os.tmpdir(). */
  tempDir?: string;
  /**
   * Keep the inspected CSAR open and return it as `archive` (the inner CSAR for option 2), so the
   * VNFD can be read through csarFiles() without opening the upload again. The caller must
   * `await result.archive.close()`.
   */
  keepOpen?: boolean;
}

/** The outer ZIP of a security option 2 package: the CSAR and its detached CMS signature. */
export interface SignedPackage {
  csar: string;
  /** `<name>.cms`; it may be absent from the outer ZIP (the signature check reports that). */
  signature: string;
  certificate?: string;
  /** Entries of the outer ZIP besides the CSAR, its `.cms` and `.cert` (each one is an error). */
  extraFiles?: string[];
}

export interface CsarInspection {
  findings: Finding[];
  /** Undefined only when the archive could not be indexed at all (see findings). */
  structure?: 'tosca-metadata' | 'single-yaml';
  entryDefinitions?: string;
  meta?: ToscaMeta;
  manifest?: Manifest;
  packageSecurityOption: PackageSecurityOption;
  /** Set for OPTION_2; everything else then describes the inner CSAR. */
  signedPackage?: SignedPackage;
  entries: CsarEntry[];
  digests: Map<string, CsarDigests>;
  /** Manifest / TOSCA.meta sources that are URIs: recorded with their digests, not fetched. */
  externalArtifacts: DigestEntry[];
  /** Only with `keepOpen`: the inspected CSAR, still open; closing it releases everything. */
  archive?: CsarArchive;
  /** Only with `keepOpen`, for OPTION_2: the outer ZIP (its `.cms` and `.cert`), closed with `archive`. */
  outer?: CsarArchive;
}

const DEFAULT_MAX_TEXT = 16 * 1024 * 1024;
const YAML_FILE = /\.ya?ml$/i;

/**
 * Indexes, checks and hashes a SOL004 CSAR in one pass over the archive. Hostile or broken input
 * yields findings; the promise rejects only for I/O failures or an error thrown by `onEntry`.
 */
export async function inspectCsar(path: string | CsarSource, opts: InspectOptions = {}): Promise<CsarInspection> {
  const cleanup: (() => Promise<void>)[] = [];
  const release = async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  };
  try {
    const outer = await openCsar(path, opts.limits);
    cleanup.push(() => outer.close());
    const signed = outer.fatal ? undefined : detectOption2(outer);
    const { result, archive } = signed ? await inspectInner(outer, signed, opts, cleanup) : { result: await inspectArchive(outer, opts, 'OPTION_1', opts.reuse), archive: outer };
    if (opts.keepOpen && archive) {
      result.archive = { ...archive, close: release };
      if (signed) result.outer = outer;
    } else await release();
    return result;
  } catch (err) {
    await release();
    throw err;
  }
}

/**
 * SOL004 §5.1 option 2: the upload is a ZIP whose root holds `<name>.csar`, its `<name>.cms` signature
 * and optionally `<name>.cert`. A ZIP with a root `.csar` but neither TOSCA-Metadata nor a root YAML
 * file (so it cannot be an option 1 CSAR) is read as option 2 too, whatever else it holds: its other
 * entries (`extraFiles`) and a missing `.cms` are then errors of the signature check, not a second
 * guess at the layout. Any other ZIP is the CSAR itself (option 1).
 */
function detectOption2(archive: Pick<CsarArchive, 'entries' | 'directories'>): SignedPackage | undefined {
  const names = [...archive.entries.map((e) => e.name), ...archive.directories];
  const root = names.filter((n) => !n.includes('/'));
  const csars = root.filter((n) => /\.csar$/i.test(n));
  if (!csars.length || names.some((n) => n.startsWith('TOSCA-Metadata/')) || root.some((n) => YAML_FILE.test(n))) return undefined;
  const base = (n: string) => n.replace(/\.[^.]*$/, '');
  const sibling = (csar: string, ext: RegExp) => root.find((n) => base(n) === base(csar) && ext.test(n));
  // Several CSARs: the one with its signature beside it is the package, the others are extra.
  const csar = csars.find((c) => sibling(c, /\.cms$/i)) ?? csars[0];
  const signature = sibling(csar, /\.cms$/i) ?? `${base(csar)}.cms`;
  const certificate = sibling(csar, /\.cert$/i);
  const extraFiles = names.filter((n) => n !== csar && n !== signature && n !== certificate);
  return { csar, signature, ...(certificate && { certificate }), ...(extraFiles.length && { extraFiles }) };
}

async function inspectInner(
  outer: CsarArchive,
  signed: SignedPackage,
  opts: InspectOptions,
  cleanup: (() => Promise<void>)[],
): Promise<{ result: CsarInspection; archive?: CsarArchive }> {
  // Unsafe outer entries were dropped before option 2 was recognised; their findings must survive.
  const withOuter = (r: CsarInspection): CsarInspection => ({ ...r, findings: [...outer.findings, ...r.findings], signedPackage: signed });
  const entry = outer.getEntry(signed.csar) as CsarEntry;
  if (entry.dataOffset !== undefined) {
    // A stored inner CSAR is read in place, so its own stored entries keep absolute offsets.
    const inner = await openCsar(outer.source, opts.limits, { slice: { start: entry.dataOffset, length: entry.size } });
    cleanup.push(() => inner.close());
    return { result: withOuter(await inspectArchive(inner, opts, 'OPTION_2', opts.reuse)), archive: inner };
  }
  const dir = await fs.promises.mkdtemp(nodePath.join(opts.tempDir ?? os.tmpdir(), 'depot-csar-'));
  cleanup.push(() => fs.promises.rm(dir, { recursive: true, force: true }));
  const file = nodePath.join(dir, 'inner.csar');
  try {
    await pipeline(await outer.openEntry(signed.csar), fs.createWriteStream(file));
  } catch (err) {
    if (!(err instanceof CsarError)) throw err;
    return { result: { ...emptyInspection('OPTION_2'), findings: [...outer.findings, finding(err.rule, 'error', err.message, { file: signed.csar })], signedPackage: signed } };
  }
  const inner = await openCsar(file, opts.limits);
  cleanup.push(() => inner.close());
  const result = await inspectArchive(inner, opts, 'OPTION_2', undefined);
  // Offsets into a temporary copy are useless to the caller.
  for (const e of result.entries) delete e.dataOffset;
  return { result: withOuter(result), archive: inner };
}

function emptyInspection(option: PackageSecurityOption): CsarInspection {
  return { findings: [], packageSecurityOption: option, entries: [], digests: new Map(), externalArtifacts: [] };
}

async function inspectArchive(archive: CsarArchive, opts: InspectOptions, option: PackageSecurityOption, reuse: InspectOptions['reuse']): Promise<CsarInspection> {
  const result: CsarInspection = { ...emptyInspection(option), entries: [...archive.entries], findings: [...archive.findings] };
  if (archive.fatal) return result;
  const formality: Severity = opts.strict ? 'error' : 'warning';
  const maxText = opts.maxTextBytes ?? DEFAULT_MAX_TEXT;
  const findings = result.findings;
  const has = (name: string) => archive.getEntry(name) !== undefined;
  const hasDir = (name: string) => has(name) || archive.entries.some((e) => e.name.startsWith(`${name.replace(/\/$/, '')}/`));

  async function readText(name: string): Promise<string | undefined> {
    try {
      return (await archive.readEntry(name, maxText)).toString('utf8');
    } catch (err) {
      if (!(err instanceof CsarError)) throw err;
      findings.push(finding(err.rule, 'error', err.message, { file: name }));
      return undefined;
    }
  }

  /** Files the SOL004 layout names but that are not digest-listed themselves. */
  const exempt = new Set<string>();
  let manifestPath: string | undefined;
  const rootFiles = archive.entries.map((e) => e.name).filter((n) => !n.includes('/'));
  const rootManifests = rootFiles.filter((n) => /\.mf$/i.test(n));

  if (has(TOSCA_META_PATH) || archive.entries.some((e) => e.name.startsWith('TOSCA-Metadata/')) || archive.directories.includes('TOSCA-Metadata/')) {
    result.structure = 'tosca-metadata';
    exempt.add(TOSCA_META_PATH);
    const text = has(TOSCA_META_PATH) ? await readText(TOSCA_META_PATH) : undefined;
    if (!has(TOSCA_META_PATH)) findings.push(finding('CSAR-META-MISSING', 'error', `a TOSCA-Metadata directory exists but ${TOSCA_META_PATH} does not`));
    if (text !== undefined) {
      const parsed = parseToscaMeta(text, formality);
      result.meta = parsed.meta;
      findings.push(...parsed.findings);
      const keys = parsed.meta.keys;
      const at = (k: string) => ({ file: TOSCA_META_PATH, line: keys[k]?.line });
      const entryDefs = keys['Entry-Definitions'];
      if (entryDefs) {
        result.entryDefinitions = entryDefs.value;
        if (!has(entryDefs.value)) findings.push(finding('CSAR-ENTRY-DEFINITIONS-MISSING', 'error', `Entry-Definitions "${entryDefs.value}" is not in the package`, at('Entry-Definitions')));
      }
      for (const other of keys['Other-Definitions']?.value.split(/\s+/).filter(Boolean) ?? []) {
        if (!has(other)) findings.push(finding('CSAR-FILE-MISSING', 'error', `Other-Definitions "${other}" is not in the package`, { ...at('Other-Definitions'), path: other }));
      }
      for (const [key, isDir] of [['ETSI-Entry-Change-Log', false], ['ETSI-Entry-Certificate', false], ['ETSI-Entry-Licenses', true], ['ETSI-Entry-Tests', true]] as const) {
        const v = keys[key];
        if (!v) continue;
        if (key === 'ETSI-Entry-Certificate') exempt.add(v.value);
        if (!(isDir ? hasDir(v.value) : has(v.value))) findings.push(finding('CSAR-FILE-MISSING', 'error', `${key} "${v.value}" is not in the package`, { ...at(key), path: v.value }));
      }
      const declared = keys['ETSI-Entry-Manifest'];
      if (declared) {
        if (!/\.mf$/i.test(declared.value)) findings.push(finding('CSAR-META-INVALID-VALUE', formality, `ETSI-Entry-Manifest "${declared.value}" does not end in .mf`, at('ETSI-Entry-Manifest')));
        if (has(declared.value)) manifestPath = declared.value;
        else findings.push(finding('CSAR-MANIFEST-MISSING', 'error', `ETSI-Entry-Manifest "${declared.value}" is not in the package`, at('ETSI-Entry-Manifest')));
      } else if (rootManifests.length === 1) {
        // Tacker-built packages often ship a root manifest without declaring it; checking its
        // digests anyway is what "integrity first" means.
        manifestPath = rootManifests[0];
        findings.push(finding('CSAR-META-MISSING-KEY', formality, `TOSCA.meta block_0 lacks "ETSI-Entry-Manifest"; using the root manifest ${manifestPath}`, { file: TOSCA_META_PATH, line: 1 }));
      } else {
        findings.push(finding('CSAR-MANIFEST-MISSING', formality, 'the package has no manifest (TOSCA.meta block_0 lacks "ETSI-Entry-Manifest")', { file: TOSCA_META_PATH, line: 1 }));
      }
    }
  } else {
    result.structure = 'single-yaml';
    const yamls = rootFiles.filter((n) => YAML_FILE.test(n));
    if (yamls.length === 0) {
      findings.push(finding('CSAR-ENTRY-DEFINITIONS-MISSING', 'error', 'no TOSCA-Metadata directory and no YAML file at the package root'));
    } else if (yamls.length > 1) {
      findings.push(finding('CSAR-ENTRY-DEFINITIONS-AMBIGUOUS', 'error', `without TOSCA-Metadata the root must hold exactly one YAML file; found ${yamls.join(', ')}`));
    } else {
      result.entryDefinitions = yamls[0];
      const base = yamls[0].replace(YAML_FILE, '');
      exempt.add(`${base}.cert`);
      const expected = `${base}.mf`;
      const matching = rootManifests.filter((n) => n === expected);
      if (matching.length === 1) {
        manifestPath = expected;
        const others = rootManifests.filter((n) => n !== expected);
        if (others.length) findings.push(finding('CSAR-MANIFEST-AMBIGUOUS', 'error', `more than one manifest at the package root: ${rootManifests.join(', ')}`));
      } else if (rootManifests.length === 0) {
        findings.push(finding('CSAR-MANIFEST-MISSING', formality, `the package has no manifest (expected ${expected} beside ${yamls[0]})`));
      } else {
        findings.push(finding('CSAR-MANIFEST-NAME-MISMATCH', 'error', `the manifest ${rootManifests.join(', ')} does not match the main template ${yamls[0]} (expected ${expected})`, { file: rootManifests[0] }));
        // Still verify its digests: a misnamed manifest is no reason to skip integrity checks.
        if (rootManifests.length === 1) manifestPath = rootManifests[0];
      }
    }
  }

  if (manifestPath) {
    exempt.add(manifestPath);
    const text = await readText(manifestPath);
    if (text !== undefined) {
      const parsed = parseManifest(text, manifestPath, formality);
      result.manifest = parsed.manifest;
      findings.push(...parsed.findings);
    }
  }

  // Which algorithms each file needs beyond SHA-256, and which digest claims to verify afterwards.
  const wanted = new Map<string, Set<HashAlgorithm>>();
  const claims: { entry: DigestEntry; algorithm: HashAlgorithm; hash: string; name: string }[] = [];
  const listed = new Set<string>();
  const digestEntries = [...(result.manifest?.entries ?? []), ...(result.meta?.artifacts ?? [])];
  for (const d of digestEntries) {
    const at = { file: d.file, line: d.line, path: d.source };
    if (isExternalSource(d.source)) {
      result.externalArtifacts.push(d);
      if (!d.algorithm || !d.hash) findings.push(finding('CSAR-DIGEST-INCOMPLETE', 'error', `external artifact ${d.source} has no ${d.algorithm ? 'Hash' : 'Algorithm'}`, at));
      continue;
    }
    const name = d.source.replace(/^\.\//, '');
    listed.add(name);
    for (const ref of [d.signature, d.certificate]) {
      if (ref === undefined) continue;
      exempt.add(ref);
      if (!has(ref)) findings.push(finding('CSAR-FILE-MISSING', 'error', `${ref} (signature or certificate of ${d.source}) is not in the package`, { ...at, path: ref }));
    }
    if (!has(name)) {
      findings.push(finding('CSAR-FILE-MISSING', 'error', `${d.source} is listed in ${d.file} but not in the package`, at));
      continue;
    }
    if (!d.algorithm || !d.hash) {
      const severity = d.algorithm || d.hash ? 'error' : formality;
      findings.push(finding('CSAR-DIGEST-INCOMPLETE', severity, `${d.source} has no ${d.algorithm ? 'Hash' : 'Algorithm'}`, at));
      continue;
    }
    const algorithm = normaliseAlgorithm(d.algorithm);
    if (!algorithm) {
      findings.push(finding('CSAR-HASH-ALGORITHM', 'error', `unsupported algorithm "${d.algorithm}" for ${d.source}; use SHA-256, SHA-384 or SHA-512`, at));
      continue;
    }
    const syntax = checkHashSyntax(algorithm, d.hash);
    if (!syntax.ok) {
      findings.push(finding(syntax.rule, 'error', `hash of ${d.source}: ${syntax.reason}`, { ...at, line: d.hashLine ?? d.line }));
      continue;
    }
    if (!wanted.has(name)) wanted.set(name, new Set());
    (wanted.get(name) as Set<HashAlgorithm>).add(algorithm);
    claims.push({ entry: d, algorithm, hash: syntax.hash, name });
  }
  for (const [set, sources] of Object.entries(result.manifest?.nonManoArtifactSets ?? {})) {
    for (const s of sources) {
      if (isExternalSource(s.source)) continue;
      listed.add(s.source);
      if (!has(s.source)) findings.push(finding('CSAR-FILE-MISSING', 'error', `${s.source} (non-MANO artifact set ${set}) is not in the package`, { file: manifestPath, line: s.line, path: s.source }));
    }
  }

  if (opts.neededDigests && result.manifest) {
    for (const [name, algorithms] of await opts.neededDigests(result.manifest, archive)) {
      if (!wanted.has(name)) wanted.set(name, new Set());
      for (const a of algorithms) (wanted.get(name) as Set<HashAlgorithm>).add(a);
    }
  }
  if (!findings.some((f) => f.rule === 'CSAR-ZIP-TOO-LARGE')) {
    await hashPass(archive, wanted, opts.extraAlgorithms ?? [], result, opts.onEntry, reuse);
  }

  for (const c of claims) {
    const actual = result.digests.get(c.name)?.[c.algorithm];
    // An entry that failed to stream already has its own finding.
    if (actual === undefined || actual === c.hash) continue;
    const d = c.entry;
    findings.push(finding('CSAR-HASH-MISMATCH', 'error', `${c.algorithm.toUpperCase()} of ${d.source} is ${actual}, but ${d.file} declares ${c.hash}`, { file: d.file, line: d.hashLine ?? d.line, path: d.source }));
  }

  if (result.manifest) {
    for (const e of archive.entries) {
      if (listed.has(e.name) || exempt.has(e.name)) continue;
      findings.push(finding('CSAR-FILE-UNLISTED', formality, `${e.name} has no digest entry in ${result.manifest.path}`, { file: e.name }));
    }
  }
  return result;
}

/** One sequential read of every entry in central-directory order, which writers keep in file order. */
async function hashPass(
  archive: CsarArchive,
  wanted: Map<string, Set<HashAlgorithm>>,
  extra: readonly HashAlgorithm[],
  result: CsarInspection,
  onEntry: InspectOptions['onEntry'],
  reuse: InspectOptions['reuse'],
): Promise<void> {
  for (const entry of archive.entries) {
    const algorithms = new Set<HashAlgorithm>(['sha256', ...extra, ...(wanted.get(entry.name) ?? [])]);
    const known = reuse?.(entry, algorithms);
    const missing = known ? [...algorithms].filter((a) => known[a] === undefined) : [...algorithms];
    if (known && !missing.length) {
      result.digests.set(entry.name, known);
      continue;
    }
    let opened: Awaited<ReturnType<CsarArchive['openDigestingEntry']>>;
    try {
      // Only what is not known yet is computed (e.g. a SHA-512 the manifest asks for); the CRC-32
      // is checked all the same.
      opened = await archive.openDigestingEntry(entry.name, missing);
      if (known) Object.assign(opened.digests, known);
    } catch (err) {
      if (!(err instanceof CsarError)) throw err;
      result.findings.push(finding(err.rule, 'error', err.message, { file: entry.name }));
      continue;
    }
    const { stream, digests } = opened;
    const done = finished(stream);
    // The stream may fail (a lying entry) while onEntry still runs; `done` is awaited only after
    // it, so mark the rejection handled now, or Node reports an unhandled rejection in between
    // (seen as PromiseRejectionHandledWarning in test/vnf-package/onboarding.test.ts).
    done.catch(() => undefined);
    let consumerError: unknown;
    if (onEntry) {
      try {
        await onEntry(entry, stream, digests);
      } catch (err) {
        consumerError = err;
      }
    }
    if (!stream.readableEnded && !stream.destroyed) stream.resume();
    try {
      await done;
    } catch (err) {
      if (!(err instanceof CsarError)) throw consumerError ?? err;
      result.findings.push(finding(err.rule, 'error', err.message, { file: entry.name }));
      continue;
    }
    if (consumerError) throw consumerError;
    result.digests.set(entry.name, digests as CsarDigests);
  }
}
