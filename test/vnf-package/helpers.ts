import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as yauzl from 'yauzl';
import type { TestDepot, TestUser } from '../helpers/depot';
import { buildZip, DEFAULT_METADATA, sha256, type BuildOptions } from '../helpers/csar-builder';

/** Helpers for the SOL005 / onboarding tests: VNFDs, CSARs, and onboarding through the real API. */

export const V1 = '/vnfpkgm/v1';
export const V2 = '/vnfpkgm/v2';

export const ETSI_IMPORTS = [
  'https://forge.etsi.org/rep/nfv/SOL001/raw/v3.3.1/etsi_nfv_sol001_common_types.yaml',
  'https://forge.etsi.org/rep/nfv/SOL001/raw/v3.3.1/etsi_nfv_sol001_vnfd_types.yaml',
];

export interface VnfdSpec {
  vnfdId?: string;
  provider?: string;
  product?: string;
  softwareVersion?: string;
  vnfdVersion?: string;
  /** Image path relative to the VNFD file (e.g. `../Files/images/x.img`); omitted = no sw_image. */
  imageFile?: string;
  /** The image bytes, to compute the VNFD's checksum. */
  image?: Buffer;
  /** Extra imports (relative file names) — for multi-file VNFDs. */
  imports?: string[];
  /** Put the node type into a separate file and import it (multi-file VNFD). */
  typeInline?: boolean;
}

export const NODE_TYPE = (name: string) => `  ${name}:
    derived_from: tosca.nodes.nfv.VNF
    properties:
      flavour_id:
        type: string
        constraints: [ valid_values: [ small ] ]
        default: small
      flavour_description:
        type: string
        default: Small flavour
`;

export function typesFile(name = 'depot.t.VNF'): string {
  return `tosca_definitions_version: tosca_simple_yaml_1_3
imports:
${ETSI_IMPORTS.map((i) => `  - ${i}`).join('\n')}
node_types:
${NODE_TYPE(name)}`;
}

/** A small, valid SOL001 VNFD (one VDU, optionally with a sw_image). */
export function vnfd(s: VnfdSpec = {}): string {
  const typeName = 'depot.t.VNF';
  const imports = [...ETSI_IMPORTS, ...(s.imports ?? [])];
  const image = s.imageFile && s.image
    ? `      artifacts:
        sw_image:
          type: tosca.artifacts.nfv.SwImage
          file: ${s.imageFile}
          properties:
            name: img
            version: '1.0'
            checksum:
              algorithm: sha-256
              hash: ${sha256(s.image)}
            container_format: bare
            disk_format: qcow2
            min_disk: 1 GiB
            min_ram: 512 MiB
            size: ${s.image.length} B
`
    : '';
  return `tosca_definitions_version: tosca_simple_yaml_1_3
description: Depot onboarding test VNF
imports:
${imports.map((i) => `  - ${i}`).join('\n')}
${s.typeInline === false ? '' : `node_types:\n${NODE_TYPE(typeName)}`}topology_template:
  substitution_mappings:
    node_type: ${typeName}
    properties:
      flavour_id: small
  node_templates:
    VNF:
      type: ${typeName}
      properties:
        descriptor_id: ${s.vnfdId ?? randomUUID()}
        descriptor_version: '${s.vnfdVersion ?? '1.0'}'
        provider: ${s.provider ?? 'Acme'}
        product_name: ${s.product ?? 'Test VNF'}
        software_version: '${s.softwareVersion ?? `1.0.${++versionCounter}`}'
        vnfm_info: [ 'etsivnfm:v3.3.1' ]
        flavour_id: small
        flavour_description: Small flavour
    VDU1:
      type: tosca.nodes.nfv.Vdu.Compute
      properties:
        name: vdu1
        description: the only VDU
        vdu_profile:
          min_number_of_instances: 1
          max_number_of_instances: 1
      capabilities:
        virtual_compute:
          properties:
            virtual_memory:
              virtual_mem_size: 512 MiB
            virtual_cpu:
              num_virtual_cpu: 1
${image}`;
}

let versionCounter = 0;

export const META = (entry: string, manifest?: string, extra = '') =>
  `TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\nCreated-By: Depot tests\nEntry-Definitions: ${entry}\n${manifest ? `ETSI-Entry-Manifest: ${manifest}\n` : ''}${extra}`;

export const IMAGE_PATH = 'Files/images/test.img';

/** A deterministic pseudo-random image (incompressible enough to stay big when deflated). */
export function imageBytes(size: number, seed = 1): Buffer {
  const b = Buffer.alloc(size);
  let x = Math.imul(seed, 2654435761) >>> 0;
  for (let i = 0; i < size; i++) {
    // Math.imul: a plain `*` loses precision past 2^53 and the sequence degenerates.
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

export interface PackageSpec extends VnfdSpec {
  /** 'meta' (TOSCA-Metadata, default) or 'single' (root YAML + same-named .mf). */
  structure?: 'meta' | 'single';
  /** Multi-file VNFD (types in Definitions/types.yaml). */
  multiFile?: boolean;
  /** Include an image of this many bytes (deflated unless imageStored). */
  imageSize?: number;
  imageStored?: boolean;
  imageSeed?: number;
  /** Additional files (added to the manifest). */
  extra?: Record<string, string | Buffer>;
  /** No manifest at all. */
  noManifest?: boolean;
  build?: BuildOptions;
}

/** Files of a valid package (before zipping). */
export function packageFiles(s: PackageSpec = {}): { files: Record<string, string | Buffer>; manifest?: string; entry: string; image?: Buffer } {
  const image = s.image ?? (s.imageSize ? imageBytes(s.imageSize, s.imageSeed) : undefined);
  const files: Record<string, string | Buffer> = {};
  if (s.structure === 'single') {
    files['vnfd.yaml'] = vnfd({ ...s, image, imageFile: image ? IMAGE_PATH : undefined });
    if (image) files[IMAGE_PATH] = image;
    Object.assign(files, s.extra ?? {});
    return { files, manifest: s.noManifest ? undefined : 'vnfd.mf', entry: 'vnfd.yaml', image };
  }
  const entry = 'Definitions/top.yaml';
  if (s.multiFile) {
    files['Definitions/types.yaml'] = typesFile();
    files[entry] = vnfd({ ...s, image, imageFile: image ? `../${IMAGE_PATH}` : undefined, imports: ['types.yaml'], typeInline: false });
  } else {
    files[entry] = vnfd({ ...s, image, imageFile: image ? `../${IMAGE_PATH}` : undefined });
  }
  files['TOSCA-Metadata/TOSCA.meta'] = META(entry, s.noManifest ? undefined : 'manifest.mf');
  if (image) files[IMAGE_PATH] = image;
  Object.assign(files, s.extra ?? {});
  return { files, manifest: s.noManifest ? undefined : 'manifest.mf', entry, image };
}

export async function buildPackage(s: PackageSpec = {}): Promise<Buffer> {
  const { files, manifest } = packageFiles(s);
  const entries = { ...(s.build?.entries ?? {}) };
  if (files[IMAGE_PATH] && s.imageStored) entries[IMAGE_PATH] = { ...entries[IMAGE_PATH], compress: false };
  const metadata = { ...DEFAULT_METADATA, vnf_provider_id: s.provider ?? 'Acme', vnf_product_name: s.product ?? 'Test VNF', vnf_package_version: s.vnfdVersion ?? '1.0' };
  return buildZip(files, { ...s.build, entries, ...(manifest && { manifest: { path: manifest, metadata, ...s.build?.manifest } }) });
}

export async function createPackage(d: TestDepot, as?: TestUser, userDefinedData?: Record<string, unknown>, prefix = V1): Promise<any> {
  const res = await d.request('POST', `${prefix}/vnf_packages`, { as, json: userDefinedData ? { userDefinedData } : {} });
  const body: any = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  return body;
}

export async function putContent(d: TestDepot, id: string, zip: Buffer, as?: TestUser): Promise<Response> {
  return d.request('PUT', `${V1}/vnf_packages/${id}/package_content`, { as, body: zip, headers: { 'Content-Type': 'application/zip' } });
}

/** Polls until onboardingState is ONBOARDED or ERROR (or the timeout); returns the v2 VnfPkgInfo. */
export async function waitFinal(d: TestDepot, id: string, as?: TestUser, timeoutMs = 30_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await d.request('GET', `${V2}/vnf_packages/${id}`, { as });
    const body: any = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    if (body.onboardingState === 'ONBOARDED' || body.onboardingState === 'ERROR') return body;
    if (Date.now() > until) throw new Error(`package ${id} still ${body.onboardingState} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Create + PUT package_content (202) + wait: the VnfPkgInfo (v2) at the end. */
export async function onboard(d: TestDepot, zip: Buffer, as?: TestUser): Promise<any> {
  const pkg = await createPackage(d, as);
  const res = await putContent(d, pkg.id, zip, as);
  assert.equal(res.status, 202, await res.text());
  return waitFinal(d, pkg.id, as);
}

export const fmt = (findings: any[] = []) => findings.map((f) => `  ${f.severity} ${f.rule} ${f.file ?? ''}:${f.line ?? ''} ${f.path ?? ''} ${f.message}`).join('\n');

export function errorRules(info: any): string[] {
  return [...new Set<string>((info.onboardingFailureDetails?.findings ?? []).filter((f: any) => f.severity === 'error').map((f: any) => f.rule))].sort();
}

export function assertOnboarded(info: any): void {
  assert.equal(info.onboardingState, 'ONBOARDED', `expected ONBOARDED, got ${info.onboardingState}:\n${fmt(info.onboardingFailureDetails?.findings)}`);
}

/** ERROR, with (at least) the given error rule ids among the findings. */
export function assertError(info: any, ...rules: string[]): any[] {
  assert.equal(info.onboardingState, 'ERROR', `expected ERROR with ${rules.join(', ')}, got ${info.onboardingState}`);
  const findings: any[] = info.onboardingFailureDetails?.findings ?? [];
  for (const r of rules) assert.ok(findings.some((f) => f.rule === r && f.severity === 'error'), `expected error ${r} in\n${fmt(findings)}`);
  return findings;
}

export async function problem(res: Response, status: number, detail?: RegExp): Promise<any> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.equal(res.headers.get('content-type'), 'application/problem+json', text);
  const body = JSON.parse(text);
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
  if (detail) assert.match(body.detail, detail);
  return body;
}

export async function bytes(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

/** A valid manifest metadata block for the default package (provider Acme, product Test VNF). */
export const DEFAULT_META_BLOCK = { ...DEFAULT_METADATA, vnf_provider_id: 'Acme', vnf_product_name: 'Test VNF' };

/** The files of a zip (a response body), by name. */
export function unzip(buf: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out = new Map<string, Buffer>();
      zip.on('entry', (e: yauzl.Entry) => {
        if (e.fileName.endsWith('/')) return zip.readEntry();
        zip.openReadStream(e, (err2, s) => {
          if (err2 || !s) return reject(err2);
          const chunks: Buffer[] = [];
          s.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
            out.set(e.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(out)).on('error', reject);
      zip.readEntry();
    });
  });
}
