import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import * as yazl from 'yazl';

/**
 * Builds real CSAR zips for tests with yazl, plus byte-level patches for the tricks yazl refuses
 * to write (`..` names, NUL, lying sizes, bad CRC, encryption flags).
 */

export interface EntryOptions {
  /** Deflate (default) or store. */
  compress?: boolean;
  /** Unix mode bits, e.g. 0o120777 for a symlink. */
  mode?: number;
}

export interface ManifestSpec {
  /** Package path of the manifest; default `manifest.mf`. */
  path?: string;
  /** Files to list with their SHA-256; default every file except the manifest and TOSCA.meta. */
  files?: string[];
  /** `metadata:` values; `false` leaves the block out. Default: a valid VNF metadata block. */
  metadata?: Record<string, string> | false;
  /** Extra raw text appended to the manifest (a CMS block, a lying entry...). */
  append?: string;
}

export interface BuildOptions {
  /** Default for every entry; per-entry `entries` override it. */
  compress?: boolean;
  entries?: Record<string, EntryOptions>;
  /** Empty directory entries to add (names end with '/'). */
  directories?: string[];
  forceZip64?: boolean;
  /** Writes a correct manifest for the given files before zipping. */
  manifest?: ManifestSpec;
  /** Byte patches applied to the finished zip, in order. */
  patch?: ((zip: Buffer) => Buffer)[];
}

export const DEFAULT_METADATA: Record<string, string> = {
  vnf_provider_id: 'Company',
  vnf_product_name: 'Sample VNF',
  vnf_release_date_time: '2026-11-24T10:00:00+01:00',
  vnf_package_version: '1.0',
};

export function sha256(data: string | Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

export function manifestText(files: Record<string, string | Buffer>, spec: ManifestSpec = {}): string {
  const own = spec.path ?? 'manifest.mf';
  const listed = spec.files ?? Object.keys(files).filter((f) => f !== own && f !== 'TOSCA-Metadata/TOSCA.meta');
  const parts: string[] = [];
  const metadata = spec.metadata === undefined ? DEFAULT_METADATA : spec.metadata;
  if (metadata) parts.push(['metadata:', ...Object.entries(metadata).map(([k, v]) => `  ${k}: ${v}`)].join('\n'));
  for (const f of listed) parts.push(`Source: ${f}\nAlgorithm: SHA-256\nHash: ${sha256(files[f])}`);
  return parts.join('\n\n') + '\n' + (spec.append ?? '');
}

export async function buildZip(files: Record<string, string | Buffer>, opts: BuildOptions = {}): Promise<Buffer> {
  const all = { ...files };
  if (opts.manifest) all[opts.manifest.path ?? 'manifest.mf'] = manifestText(files, opts.manifest);
  const zip = new yazl.ZipFile();
  for (const dir of opts.directories ?? []) zip.addEmptyDirectory(dir);
  for (const [name, content] of Object.entries(all)) {
    const e = opts.entries?.[name] ?? {};
    zip.addBuffer(Buffer.isBuffer(content) ? content : Buffer.from(content), name, {
      compress: e.compress ?? opts.compress ?? true,
      ...(e.mode !== undefined ? { mode: e.mode } : {}),
      ...(opts.forceZip64 ? { forceZip64Format: true } : {}),
    });
  }
  zip.end({ forceZip64Format: !!opts.forceZip64 } as yazl.EndOptions);
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return (opts.patch ?? []).reduce<Buffer>((buf, p) => p(buf), Buffer.concat(chunks));
}

const made: string[] = [];

export async function writeTempZip(data: Buffer, name = 'test.csar'): Promise<string> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'depot-csar-test-'));
  made.push(dir);
  const file = path.join(dir, name);
  await fs.promises.writeFile(file, data);
  return file;
}

/** Builds the zip and writes it to a temp file; returns its path. */
export async function buildCsar(files: Record<string, string | Buffer>, opts: BuildOptions = {}): Promise<string> {
  return writeTempZip(await buildZip(files, opts));
}

/** Call from an `after` hook. */
export async function cleanupCsars(): Promise<void> {
  await Promise.all(made.splice(0).map((d) => fs.promises.rm(d, { recursive: true, force: true })));
}

/** The folder's files keyed by package path, like `zip -r` run inside it. */
export function readFolder(root: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const walk = (dir: string) => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, d.name);
      if (d.isDirectory()) walk(full);
      else out[path.relative(root, full).split(path.sep).join('/')] = fs.readFileSync(full);
    }
  };
  walk(root);
  return out;
}

// ---- raw zip surgery -------------------------------------------------------------------------

export interface CentralRecord {
  /** Offset of the central directory file header. */
  offset: number;
  name: string;
  localOffset: number;
}

/** Lists central directory records (non-zip64 EOCD is enough for the small test archives). */
export function centralRecords(zip: Buffer): CentralRecord[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('no EOCD');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const out: CentralRecord[] = [];
  for (let i = 0; i < count; i++) {
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    out.push({ offset: p, name: zip.toString('latin1', p + 46, p + 46 + nameLen), localOffset: zip.readUInt32LE(p + 42) });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

function record(zip: Buffer, name: string): CentralRecord {
  const r = centralRecords(zip).find((c) => c.name === name);
  if (!r) throw new Error(`no entry ${name}`);
  return r;
}

/**
 * Renames an entry in both headers. yazl refuses hostile names, so tests build with a placeholder
 * of the same byte length and swap it in afterwards.
 */
export function renameEntry(from: string, to: string, where: 'both' | 'local' = 'both'): (zip: Buffer) => Buffer {
  return (zip) => {
    const a = Buffer.from(from, 'latin1');
    const b = Buffer.from(to, 'latin1');
    if (a.length !== b.length) throw new Error('renameEntry needs names of equal byte length');
    const r = record(zip, from);
    const out = Buffer.from(zip);
    b.copy(out, r.localOffset + 30);
    if (where === 'both') b.copy(out, r.offset + 46);
    return out;
  };
}

/** Central directory field offsets (relative to the record) and their local-header twins. */
const FIELDS = {
  flags: { central: 8, local: 6, size: 2 },
  method: { central: 10, local: 8, size: 2 },
  crc32: { central: 16, local: 14, size: 4 },
  compressedSize: { central: 20, local: 18, size: 4 },
  uncompressedSize: { central: 24, local: 22, size: 4 },
  externalAttributes: { central: 38, local: -1, size: 4 },
} as const;

/** Overwrites a header field of one entry, in the central directory and (where it exists) the local header. */
export function patchField(name: string, field: keyof typeof FIELDS, value: number, where: 'both' | 'central' = 'both'): (zip: Buffer) => Buffer {
  return (zip) => {
    const f = FIELDS[field];
    const r = record(zip, name);
    const out = Buffer.from(zip);
    const write = (at: number) => (f.size === 2 ? out.writeUInt16LE(value, at) : out.writeUInt32LE(value >>> 0, at));
    write(r.offset + f.central);
    if (where === 'both' && f.local >= 0) write(r.localOffset + f.local);
    return out;
  };
}

export function truncate(length: number): (zip: Buffer) => Buffer {
  return (zip) => zip.subarray(0, length);
}

/** A minimal archive-level CSAR (TOSCA.meta naming change log and licenses) for zip-level tests. */
export const SAMPLE_META = 'TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\nCreated-By: test\nEntry-Definitions: Definitions/vnfd.yaml\nETSI-Entry-Manifest: manifest.mf\nETSI-Entry-Change-Log: ChangeLog.txt\nETSI-Entry-Licenses: Licenses\n';
export const SAMPLE_FILES: Readonly<Record<string, string>> = Object.freeze({
  'TOSCA-Metadata/TOSCA.meta': SAMPLE_META,
  'Definitions/vnfd.yaml': 'tosca_definitions_version: tosca_simple_yaml_1_3\n',
  'ChangeLog.txt': 'v1\n',
  'Licenses/LICENSE': 'Apache-2.0\n',
});

/** Drops the central directory record of `name` (and fixes the end record): an entry only a stream reader sees. */
export function dropCentral(name: string): (zip: Buffer) => Buffer {
  return (zip) => {
    const r = centralRecords(zip).find((c) => c.name === name);
    if (!r) throw new Error(`no entry ${name}`);
    const len = 46 + zip.readUInt16LE(r.offset + 28) + zip.readUInt16LE(r.offset + 30) + zip.readUInt16LE(r.offset + 32);
    const out = Buffer.concat([zip.subarray(0, r.offset), zip.subarray(r.offset + len)]);
    const eocd = out.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    out.writeUInt16LE(out.readUInt16LE(eocd + 8) - 1, eocd + 8);
    out.writeUInt16LE(out.readUInt16LE(eocd + 10) - 1, eocd + 10);
    out.writeUInt32LE(out.readUInt32LE(eocd + 12) - len, eocd + 12);
    return out;
  };
}

/**
 * A zip written the way streaming writers do (Java's ZipOutputStream, zip to a pipe): entries added
 * as streams get a data descriptor (sizes and CRC after the data); `buffered` entries do not.
 */
export async function streamedZip(files: Record<string, string | Buffer>, opts: { stored?: string[]; buffered?: string[] } = {}): Promise<Buffer> {
  const z = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const compress = !opts.stored?.includes(name);
    if (opts.buffered?.includes(name)) {
      z.addBuffer(data, name, { compress });
    } else {
      const s = new PassThrough();
      s.end(data);
      z.addReadStream(s, name, { compress });
    }
  }
  z.end();
  const chunks: Buffer[] = [];
  for await (const c of z.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
