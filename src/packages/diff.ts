import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArtifactEngine } from '../artifacts/engine';
import type { ArtifactRecord } from '../artifacts/types';
import { formatFinding } from '../common/findings';
import type { Principal } from '../common/principal';
import { csarFiles, DEFAULT_READ_CAP, inspectCsar, parseManifest, parseToscaMeta, TOSCA_META_PATH } from '../csar';
import { describeVnfd, diffVnfd, folderFiles, type PackageFiles, type VnfdChange, type VnfdFacts } from '../tosca';
import { findEntryDefinitions } from '../tosca/cli';

/**
 * The difference between two packages (`depot diff`, `GET /artifacts/vnf_packages/{id}/diff`): the
 * VNFD element by element (src/tosca/diff.ts), every file by its SHA-256, and the metadata of the
 * manifest and TOSCA.meta. A package is seen through a snapshot — its file list with digests and a
 * reader of its small files — so a stored package, a remote one, a CSAR and a folder compare alike,
 * and no image is ever read to compare it.
 */
export interface FileDigest {
  sha256: string;
  size?: number;
}

export interface PackageSnapshot {
  /** What the package is called in the output (an id, a file name). */
  label: string;
  /** Reads the small files (descriptors, TOSCA.meta, manifest). */
  files: PackageFiles;
  /** Every file of the package. */
  digests: Map<string, FileDigest>;
  /** Entry definitions and manifest, when already known (else found as onboarding finds them). */
  entry?: string;
  manifest?: string;
  close?(): Promise<void>;
}

export interface PackageSummary {
  label: string;
  vnfdId?: string;
  vnfProvider?: string;
  vnfProductName?: string;
  vnfSoftwareVersion?: string;
  vnfdVersion?: string;
  softwareImages: { id: string; name: string; version: string; hash?: string }[];
}

export interface MetadataChange {
  /** `manifest` (its `metadata:` block) or `TOSCA.meta` (block_0). */
  source: 'manifest' | 'TOSCA.meta';
  key: string;
  change: 'added' | 'removed' | 'changed';
  before?: string;
  after?: string;
}

export interface PackageDiff {
  /** No change in the files (hence none anywhere). */
  equal: boolean;
  a: PackageSummary;
  b: PackageSummary;
  vnfd: VnfdChange[];
  files: {
    added: ({ path: string } & FileDigest)[];
    removed: ({ path: string } & FileDigest)[];
    changed: { path: string; before: FileDigest; after: FileDigest }[];
  };
  metadata: MetadataChange[];
  /** Why part of a side could not be compared (no VNFD found, an unreadable manifest). */
  problems: string[];
}

interface Side {
  summary: PackageSummary;
  model?: Parameters<typeof diffVnfd>[0];
  metadata: Map<string, { source: MetadataChange['source']; key: string; value: string }>;
}

async function examine(s: PackageSnapshot, problems: string[]): Promise<Side> {
  const summary: PackageSummary = { label: s.label, softwareImages: [] };
  const metadata: Side['metadata'] = new Map();
  const text = async (p: string) => (await s.files.read(p)).toString('utf8');
  let manifest = s.manifest;
  if (s.files.has(TOSCA_META_PATH)) {
    try {
      const { meta } = parseToscaMeta(await text(TOSCA_META_PATH), 'warning');
      for (const [key, v] of Object.entries(meta.keys)) metadata.set(`TOSCA.meta\0${key}`, { source: 'TOSCA.meta', key, value: v.value });
      manifest ??= meta.keys['ETSI-Entry-Manifest']?.value;
    } catch (err) {
      problems.push(`${s.label}: ${TOSCA_META_PATH}: ${(err as Error).message}`);
    }
  }
  if (!manifest) {
    const roots = s.files.list().filter((f) => !f.includes('/') && /\.mf$/i.test(f));
    if (roots.length === 1) manifest = roots[0];
  }
  if (manifest && s.files.has(manifest)) {
    try {
      const { manifest: m } = parseManifest(await text(manifest), manifest, 'warning');
      for (const [key, v] of Object.entries(m.metadata ?? {})) metadata.set(`manifest\0${key}`, { source: 'manifest', key, value: v.value });
    } catch (err) {
      problems.push(`${s.label}: ${manifest}: ${(err as Error).message}`);
    }
  }
  let entry = s.entry;
  if (!entry) {
    const found = await findEntryDefinitions(s.files);
    entry = found.entry;
    if (!entry) problems.push(`${s.label}: ${found.problem ?? 'no entry definitions'}`);
  }
  if (!entry) return { summary, metadata };
  const { model, facts } = await describeVnfd(s.files, entry);
  if (!model.packageTemplates.length) {
    const why = model.findings.list.find((f) => f.severity === 'error');
    problems.push(`${s.label}: the VNFD ${entry} cannot be read${why ? `: ${formatFinding(why)}` : ''}`);
  }
  Object.assign(summary, identity(facts));
  return { summary, model, metadata };
}

function identity(f: VnfdFacts): Omit<PackageSummary, 'label'> {
  return {
    vnfdId: f.vnfdId, vnfProvider: f.vnfProvider, vnfProductName: f.vnfProductName, vnfSoftwareVersion: f.vnfSoftwareVersion, vnfdVersion: f.vnfdVersion,
    softwareImages: f.softwareImages.map((i) => ({ id: i.id, name: i.name, version: i.version, ...(i.checksum && { hash: i.checksum.hash }) })),
  };
}

/** What turns package `a` into package `b`. The snapshots are not closed. */
export async function diffPackages(a: PackageSnapshot, b: PackageSnapshot): Promise<PackageDiff> {
  const problems: string[] = [];
  const [x, y] = [await examine(a, problems), await examine(b, problems)];
  const files: PackageDiff['files'] = { added: [], removed: [], changed: [] };
  for (const [path, d] of a.digests) {
    const e = b.digests.get(path);
    if (!e) files.removed.push({ path, ...d });
    else if (e.sha256 !== d.sha256) files.changed.push({ path, before: d, after: e });
  }
  for (const [path, e] of b.digests) if (!a.digests.has(path)) files.added.push({ path, ...e });
  for (const list of [files.added, files.removed, files.changed]) list.sort((p, q) => p.path.localeCompare(q.path));
  const metadata: MetadataChange[] = [];
  for (const [k, m] of x.metadata) {
    const n = y.metadata.get(k);
    if (!n) metadata.push({ source: m.source, key: m.key, change: 'removed', before: m.value });
    else if (n.value !== m.value) metadata.push({ source: m.source, key: m.key, change: 'changed', before: m.value, after: n.value });
  }
  for (const [k, n] of y.metadata) if (!x.metadata.has(k)) metadata.push({ source: n.source, key: n.key, change: 'added', after: n.value });
  const vnfd = diffVnfd(x.model, y.model);
  const equal = !files.added.length && !files.removed.length && !files.changed.length;
  return { equal, a: x.summary, b: y.summary, vnfd, files, metadata, problems };
}

/** A stream's bytes, refused above `cap` (a snapshot reads descriptors, never images). */
export async function readCapped(stream: Readable, cap: number, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > cap) {
      stream.destroy();
      throw new Error(`${name}: larger than ${cap} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** A CSAR file, read with onboarding's reader (every entry hashed once, unsafe entries left out). */
export async function csarSnapshot(file: string): Promise<PackageSnapshot> {
  const inspection = await inspectCsar(file, { keepOpen: true });
  const archive = inspection.archive;
  if (!archive) {
    const why = inspection.findings.find((f) => f.severity === 'error');
    throw new Error(`${file}: not a readable CSAR${why ? `: ${why.message}` : ''}`);
  }
  const sizes = new Map(inspection.entries.map((e) => [e.name, e.size]));
  const digests = new Map([...inspection.digests].map(([p, d]) => [p, { sha256: d.sha256, size: sizes.get(p) }]));
  return { label: file, files: csarFiles(archive), digests, entry: inspection.entryDefinitions, manifest: inspection.manifest?.path, close: () => archive.close() };
}

/** A package folder (what `depot pack` would pack): every regular file hashed as a stream. */
export async function folderSnapshot(dir: string): Promise<PackageSnapshot> {
  const files = folderFiles(dir);
  const digests = new Map<string, FileDigest>();
  for (const p of files.list().sort()) {
    const abs = nodePath.join(dir, ...p.split('/'));
    const hash = createHash('sha256');
    await pipeline(fs.createReadStream(abs), hash);
    digests.set(p, { sha256: hash.digest('hex'), size: fs.statSync(abs).size });
  }
  return { label: dir, files, digests };
}

/** The snapshot of a local path: a folder, else a CSAR. */
export function localSnapshot(p: string): Promise<PackageSnapshot> {
  return fs.statSync(p).isDirectory() ? folderSnapshot(p) : csarSnapshot(p);
}

/** Files of a snapshot read through `open(path)`, capped like onboarding's small-file reads. */
export function listedFiles(paths: Iterable<string>, open: (path: string) => Promise<Readable>): PackageFiles {
  const names = new Set(paths);
  return {
    has: (p) => names.has(p),
    list: () => [...names],
    read: async (p) => {
      if (!names.has(p)) throw new Error(`no such file in package: ${p}`);
      return readCapped(await open(p), DEFAULT_READ_CAP, p);
    },
  };
}

/**
 * A stored package, read through the engine's read rules for `p` (a disabled package's files are
 * its owner's and admins'): the file list and digests come from its folder rows, the small files
 * from the store. `folder` is the type's folder of package files (`content`).
 */
export async function storedSnapshot(engine: ArtifactEngine, p: Principal, a: ArtifactRecord, folder: string): Promise<PackageSnapshot> {
  const rows = await engine.folder(p, a.type_name, a.id, folder, '');
  const digests = new Map(rows.map((r) => [r.path, { sha256: r.digests.sha256, size: Number(r.size) }]));
  const descriptor = (a.fields.descriptor ?? {}) as { entry?: string; manifest?: string };
  const files = listedFiles(digests.keys(), async (path) => (await engine.entries(p, a.type_name, a.id, folder, [path]))[0].open());
  return { label: a.id, files, digests, entry: descriptor.entry, manifest: descriptor.manifest };
}
