import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { formatFinding, hasErrors, type Finding } from '../common/findings';
import { parseToscaMeta, TOSCA_META_PATH } from '../csar/meta';
import type { PackageFiles, VnfdFacts } from '../tosca';
import { UsageError } from './command';
import { validateCsarFile } from './validate';
import { writeZip, type ZipEntryInput } from './zip-writer';

export interface PackOptions {
  out: string;
  /** Write TOSCA-Metadata/TOSCA.meta (default); false: the root-YAML layout of SOL004 §4.3.3. */
  meta?: boolean;
  /** PEM private key and certificate (PEM, the signer's first or matched by key; intermediates may follow). */
  signKey?: string;
  signCert?: string;
  /** SOL004 security option: 1 (the manifest signed, default when signing) or 2 (the whole CSAR, in an outer zip). */
  option?: 1 | 2;
}

interface FolderFile {
  name: string;
  abs: string;
  size: number;
}

interface Hashed extends FolderFile {
  sha256: string;
  crc32: number;
}

/** Regular files of the folder, package paths sorted; dot files and folders (.git, .DS_Store) and symlinks are not packed. */
function folderFiles(root: string, skip: (abs: string) => boolean): FolderFile[] {
  const out: FolderFile[] = [];
  const walk = (abs: string, rel: string) => {
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const a = path.join(abs, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (skip(a)) continue;
      if (e.isDirectory()) walk(a, r);
      else if (e.isFile()) out.push({ name: r, abs: a, size: fs.statSync(a).size });
    }
  };
  walk(root, '');
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function hashFile(f: FolderFile): Promise<Hashed> {
  const h = createHash('sha256');
  let crc = 0;
  for await (const chunk of fs.createReadStream(f.abs, { highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer);
    crc = zlib.crc32(chunk as Buffer, crc);
  }
  return { ...f, sha256: h.digest('hex'), crc32: crc >>> 0 };
}

/** The VNFD's top-level file: the one YAML with a topology template that no other YAML imports. */
function findEntry(files: FolderFile[]): { entry?: string; finding?: Finding } {
  const yamls = files.filter((f) => /\.ya?ml$/i.test(f.name) && f.size <= 2 * 1024 * 1024).map((f) => ({ name: f.name, text: fs.readFileSync(f.abs, 'utf8') }));
  const tops = yamls.filter((y) => /^topology_template\s*:/m.test(y.text) && !yamls.some((o) => o !== y && o.text.includes(path.posix.basename(y.name))));
  if (tops.length === 1) return { entry: tops[0].name };
  if (tops.length === 0) return { finding: { rule: 'CSAR-ENTRY-DEFINITIONS-MISSING', severity: 'error', message: 'no YAML file with a topology_template that no other file imports: add TOSCA-Metadata/TOSCA.meta naming the Entry-Definitions' } };
  return { finding: { rule: 'CSAR-ENTRY-DEFINITIONS-AMBIGUOUS', severity: 'error', message: `more than one top-level VNFD (${tops.map((t) => t.name).join(', ')}): add TOSCA-Metadata/TOSCA.meta naming the Entry-Definitions` } };
}

/** RFC 3339 release date: SOURCE_DATE_EPOCH when set (reproducible builds), else the newest file's modification time. */
function releaseDate(files: FolderFile[]): string {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const seconds = epoch && /^\d+$/.test(epoch) ? Number(epoch) : Math.max(0, ...files.map((f) => Math.floor(fs.statSync(f.abs).mtimeMs / 1000)));
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function vnfdFacts(files: FolderFile[], entry: string): Promise<VnfdFacts | undefined> {
  const byName = new Map(files.map((f) => [f.name, f]));
  const view: PackageFiles = {
    has: (p) => byName.has(p),
    list: () => [...byName.keys()],
    read: (p) => fs.promises.readFile(byName.get(p)!.abs),
  };
  return (await (require('../tosca') as typeof import('../tosca')).validateVnfd(view, entry)).facts;
}

/** SOL004 manifest text: metadata from the VNFD, then a SHA-256 entry per file, in path order. */
function manifestText(facts: VnfdFacts | undefined, date: string, files: Hashed[]): string {
  const md: [string, string | undefined][] = [
    ['vnf_provider_id', facts?.vnfProvider], ['vnf_product_name', facts?.vnfProductName], ['vnf_release_date_time', date],
    ['vnf_package_version', facts?.vnfdVersion], ['vnf_software_version', facts?.vnfSoftwareVersion], ['vnfd_id', facts?.vnfdId],
  ];
  const lines = ['metadata:', ...md.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `  ${k}: ${String(v).replace(/[\r\n]+/g, ' ')}`)];
  const entries = files.map((f) => `Source: ${f.name}\nAlgorithm: SHA-256\nHash: ${f.sha256}`);
  return `${[lines.join('\n'), ...entries].join('\n\n')}\n`;
}

function memoryEntry(name: string, data: Buffer): ZipEntryInput {
  return { name, data, size: data.length, crc32: zlib.crc32(data) >>> 0 };
}


async function writeZipFile(file: string, entries: ZipEntryInput[]): Promise<void> {
  const out = fs.createWriteStream(file);
  const closed = new Promise<void>((resolve, reject) => {
    out.once('close', resolve);
    out.once('error', reject);
  });
  try {
    await writeZip(out, entries);
  } finally {
    out.end();
  }
  await closed;
}

/**
 * Builds the CSAR of a folder into `file` (no validation): TOSCA.meta (unless `meta` is false), a
 * manifest listing every file, signed as option 1 when a signer is given. Problems that leave no
 * package to build (no entry definitions) are findings, and no file is written.
 */
async function buildCsar(dir: string, file: string, o: { meta: boolean; signer?: import('../sol004').CmsSigner; skip?: (abs: string) => boolean }): Promise<Finding[]> {
  const findings: Finding[] = [];
  let files = folderFiles(dir, o.skip ?? (() => false));
  const own = files.find((f) => f.name === TOSCA_META_PATH);
  let entry: string | undefined;
  let manifest: string | undefined;
  let metaKeys: [string, string][] = [];
  if (own) {
    const parsed = parseToscaMeta(fs.readFileSync(own.abs, 'utf8'), 'warning').meta;
    entry = parsed.keys['Entry-Definitions']?.value;
    manifest = parsed.keys['ETSI-Entry-Manifest']?.value;
    metaKeys = ['ETSI-Entry-Change-Log', 'ETSI-Entry-Licenses', 'ETSI-Entry-Tests', 'ETSI-Entry-Certificate'].flatMap((k) => (parsed.keys[k] ? [[k, parsed.keys[k].value] as [string, string]] : []));
  }
  if (!o.meta) files = files.filter((f) => !f.name.startsWith('TOSCA-Metadata/'));
  if (!entry) {
    const found = findEntry(files);
    if (found.finding) return [found.finding];
    entry = found.entry!;
  }
  if (!o.meta && entry.includes('/')) {
    return [{ rule: 'CSAR-ENTRY-DEFINITIONS-MISSING', severity: 'error', file: entry, message: `without TOSCA.meta (--no-meta) the VNFD must be the one YAML file at the package root; ${entry} is not at the root` }];
  }
  if (!manifest || !o.meta) manifest = `${entry.replace(/^.*\//, '').replace(/\.ya?ml$/i, '')}.mf`;
  const generated = new Set([manifest, ...(o.meta ? [TOSCA_META_PATH] : [])]);
  const packed = files.filter((f) => !generated.has(f.name));
  const hashed: Hashed[] = [];
  for (const f of packed) hashed.push(await hashFile(f));
  const facts = await vnfdFacts(packed, entry);
  let manifestBytes = Buffer.from(manifestText(facts, releaseDate(packed), hashed), 'utf8');
  if (o.signer) {
    const sol004 = require('../sol004') as typeof import('../sol004');
    const digest = createHash('sha256').update(manifestBytes).digest();
    manifestBytes = Buffer.concat([manifestBytes, Buffer.from(sol004.cmsPem(sol004.signDetachedCms(digest, o.signer)), 'latin1')]);
  }
  const extra: ZipEntryInput[] = [memoryEntry(manifest, manifestBytes)];
  if (o.meta) {
    // The SOL004 entries a vendor's folder conventionally has, when its own TOSCA.meta does not name them.
    const conventional: [string, string | undefined][] = [
      ['ETSI-Entry-Change-Log', packed.find((f) => /^ChangeLog(\.[A-Za-z]+)?$/i.test(f.name))?.name],
      ['ETSI-Entry-Licenses', packed.some((f) => f.name.startsWith('Licenses/')) ? 'Licenses' : undefined],
      ['ETSI-Entry-Tests', packed.some((f) => f.name.startsWith('Tests/')) ? 'Tests' : undefined],
    ];
    for (const [k, v] of conventional) if (v && !metaKeys.some(([m]) => m === k)) metaKeys.push([k, v]);
    const meta = ['TOSCA-Meta-File-Version: 1.0', 'CSAR-Version: 1.1', 'Created-By: Depot', `Entry-Definitions: ${entry}`, `ETSI-Entry-Manifest: ${manifest}`, ...metaKeys.map(([k, v]) => `${k}: ${v}`)];
    extra.push(memoryEntry(TOSCA_META_PATH, Buffer.from(`${meta.join('\n')}\n`, 'utf8')));
  }
  const entries = [...extra, ...hashed.map((f) => ({ name: f.name, file: f.abs, size: f.size, crc32: f.crc32 }))].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  await writeZipFile(file, entries);
  return findings;
}

/** The folder as the package it would pack into, in a temporary file (`depot validate <dir>`). */
export async function packToTemp(dir: string, o: { meta: boolean }): Promise<{ file?: string; findings: Finding[]; dispose(): Promise<void> }> {
  const tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'depot-pack-'));
  const dispose = () => fs.promises.rm(tmp, { recursive: true, force: true });
  try {
    const file = path.join(tmp, `${path.basename(path.resolve(dir))}.csar`);
    const findings = await buildCsar(dir, file, o);
    return { file: fs.existsSync(file) ? file : undefined, findings, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

function readFile(p: string, what: string): Buffer {
  try {
    return fs.readFileSync(p);
  } catch (err: any) {
    throw new UsageError(`cannot read the ${what} ${p}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
}

/**
 * `depot pack`: a SOL004 CSAR from a folder, byte-identical for identical input, signed as option 1
 * or 2 when a key and certificate are given. The package is validated as onboarding would (for
 * option 2: the inner CSAR, which is what onboarding checks after the signature); with an error
 * nothing is written at `out` and the findings say why.
 */
export async function packDirectory(dir: string, opts: { out: string; meta?: boolean; signKey?: string; signCert?: string; option?: 1 | 2 }): Promise<{ out: string; findings: Finding[] }> {
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${dir} is not a folder`);
  if (!!opts.signKey !== !!opts.signCert) throw new UsageError('signing needs both --sign-key and --sign-cert');
  if (opts.option !== undefined && !opts.signKey) throw new UsageError('--option needs --sign-key and --sign-cert');
  let signer: import('../sol004').CmsSigner | undefined;
  if (opts.signKey && opts.signCert) {
    const key = readFile(opts.signKey, 'key');
    const cert = readFile(opts.signCert, 'certificate');
    try {
      signer = (require('../sol004') as typeof import('../sol004')).loadSigner(key, cert);
    } catch (err: any) {
      throw new UsageError(`cannot sign with ${opts.signKey} and ${opts.signCert}: ${String(err.message).split('\n')[0]}`);
    }
  }
  const out = path.resolve(opts.out);
  const option = signer ? (opts.option ?? 1) : undefined;
  const tmp = `${out}.tmp-${process.pid}`;
  const inner = option === 2 ? `${out}.inner-${process.pid}` : tmp;
  const skip = (abs: string) => abs === out || abs.startsWith(`${out}.tmp-`) || abs.startsWith(`${out}.inner-`);
  try {
    const findings = await buildCsar(dir, inner, { meta: opts.meta !== false, signer: option === 1 ? signer : undefined, skip });
    if (!fs.existsSync(inner)) return { out, findings };
    findings.push(...(await validateCsarFile(inner)));
    if (hasErrors(findings)) return { out, findings };
    if (option === 2) await wrapOption2(inner, tmp, path.basename(out).replace(/\.[^.]*$/, ''), signer!);
    await fs.promises.rename(tmp, out);
    return { out, findings };
  } finally {
    await fs.promises.rm(tmp, { force: true });
    if (inner !== tmp) await fs.promises.rm(inner, { force: true });
  }
}

/** SOL004 option 2: an outer zip of `<name>.csar`, its detached CMS `<name>.cms` (over the CSAR's exact bytes) and `<name>.cert`. */
async function wrapOption2(csar: string, file: string, name: string, signer: import('../sol004').CmsSigner): Promise<void> {
  const sol004 = require('../sol004') as typeof import('../sol004');
  const h = await hashFile({ name: `${name}.csar`, abs: csar, size: fs.statSync(csar).size });
  const cms = Buffer.from(sol004.cmsPem(sol004.signDetachedCms(Buffer.from(h.sha256, 'hex'), signer)), 'latin1');
  const cert = Buffer.from(sol004.certificatesPem(signer.certs), 'latin1');
  const csarEntry: ZipEntryInput = { name: h.name, file: csar, size: h.size, crc32: h.crc32, stored: true };
  await writeZipFile(file, [csarEntry, memoryEntry(`${name}.cert`, cert), memoryEntry(`${name}.cms`, cms)]);
}

function parseArgs(argv: string[]): { dir: string } & PackOptions {
  let dir: string | undefined;
  const o: Partial<PackOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('-')) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '-o' || a === '--out') o.out = value();
    else if (a === '--no-meta') o.meta = false;
    else if (a === '--sign-key') o.signKey = value();
    else if (a === '--sign-cert') o.signCert = value();
    else if (a === '--option') {
      const v = value();
      if (v !== '1' && v !== '2') throw new UsageError(`--option is 1 or 2, not ${v}`);
      o.option = Number(v) as 1 | 2;
    } else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else if (dir === undefined) dir = a;
    else throw new UsageError(`one folder at a time (got ${dir} and ${a})`);
  }
  if (!dir) throw new UsageError('which folder?');
  return { dir, ...o, out: o.out ?? `${path.basename(path.resolve(dir))}.csar` };
}

/** `depot pack <dir> [-o FILE] [--no-meta] [--sign-key KEY --sign-cert CERT [--option 1|2]]`. */
export async function packCommand(argv: string[]): Promise<number> {
  const { dir, ...opts } = parseArgs(argv);
  const r = await packDirectory(dir, opts);
  for (const f of r.findings) process.stdout.write(`${formatFinding(f)}\n`);
  if (hasErrors(r.findings)) {
    process.stderr.write(`depot pack: ${dir} does not make a valid package: nothing written\n`);
    return 1;
  }
  process.stderr.write(`${path.relative(process.cwd(), r.out) || r.out}\n`);
  return 0;
}
