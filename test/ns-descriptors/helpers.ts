import assert from 'node:assert/strict';
import type { TestDepot, TestUser } from '../helpers/depot';
import { buildZip } from '../helpers/csar-builder';
import { fmt } from '../vnf-package/helpers';

/** Helpers for the SOL005 NSD Management tests: NSDs, PNFDs and their archives, built here. */

export const NSD = '/nsd/v1';
const NSD_TYPES = 'etsi_nfv_sol001_nsd_types.yaml';
const PNFD_TYPES = 'etsi_nfv_sol001_pnfd_types.yaml';

export interface NsdSpec {
  nsdId: string;
  name?: string;
  version?: string;
  designer?: string;
  invariantId?: string;
  /** vnfdIds of the VNFs the NSD is made of */
  vnfds?: string[];
  pnfds?: string[];
  /** nsdIds of nested NSDs */
  nested?: string[];
  /** the import of the NSD types: by file name (default) or forge URL */
  importUrl?: boolean;
}

const VNF_NODE = (i: number, vnfdId: string) => `    vnf${i}:
      type: tosca.nodes.nfv.VNF
      properties:
        descriptor_id: ${vnfdId}
        descriptor_version: '1.0'
        provider: Acme
        product_name: Test VNF
        software_version: '1.0'
        product_info_name: Test VNF
        vnfm_info: [ 'etsivnfm:v2.3.1' ]
        flavour_id: small
        flavour_description: Small flavour
`;

const PNF_NODE = (i: number, pnfdId: string) => `    pnf${i}:
      type: tosca.nodes.nfv.PNF
      properties:
        descriptor_id: ${pnfdId}
        function_description: Router
        provider: Acme
        version: '1.0'
        descriptor_invariant_id: ${pnfdId}-inv
        name: Router ${i}
`;

const NS_NODE = (name: string, nsdId: string, spec: { designer?: string; version?: string; invariantId?: string; title?: string } = {}) => `    ${name}:
      type: tosca.nodes.nfv.NS
      properties:
        descriptor_id: ${nsdId}
        designer: ${spec.designer ?? 'Acme'}
        version: '${spec.version ?? '1.0'}'
        name: ${spec.title ?? `NS ${nsdId}`}
        invariant_id: ${spec.invariantId ?? `${nsdId}-inv`}
        flavour_id: default
`;

/** A SOL001 NSD: its NS node, then one node per referenced VNFD, PNFD and nested NSD (in that order). */
export function nsdYaml(s: NsdSpec): string {
  const imp = s.importUrl ? `https://forge.etsi.org/rep/nfv/SOL001/raw/v4.4.1/${NSD_TYPES}` : NSD_TYPES;
  return `tosca_definitions_version: tosca_simple_yaml_1_3
description: Depot test NSD ${s.nsdId}
imports:
  - ${imp}
topology_template:
  node_templates:
${NS_NODE('ns', s.nsdId, { designer: s.designer, version: s.version, invariantId: s.invariantId, title: s.name })}${(s.vnfds ?? []).map((v, i) => VNF_NODE(i, v)).join('')}${(s.pnfds ?? []).map((p, i) => PNF_NODE(i, p)).join('')}${(s.nested ?? []).map((n, i) => NS_NODE(`nested${i}`, n)).join('')}`;
}

export interface PnfdSpec { pnfdId: string; name?: string; version?: string; provider?: string }

export function pnfdYaml(s: PnfdSpec): string {
  return `tosca_definitions_version: tosca_simple_yaml_1_3
description: Depot test PNFD ${s.pnfdId}
imports: [ ${PNFD_TYPES} ]
topology_template:
  node_templates:
    pnf:
      type: tosca.nodes.nfv.PNF
      properties:
        descriptor_id: ${s.pnfdId}
        function_description: Router
        provider: ${s.provider ?? 'Acme'}
        version: '${s.version ?? '1.0'}'
        descriptor_invariant_id: ${s.pnfdId}-inv
        name: ${s.name ?? `PNF ${s.pnfdId}`}
`;
}

const META = (entry: string) => `TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\nCreated-By: Depot tests\nEntry-Definitions: ${entry}\nETSI-Entry-Manifest: manifest.mf\n`;

/**
 * An archive holding one descriptor: with TOSCA-Metadata (Definitions/<name>.yaml, manifest.mf),
 * or without (<name>.yaml and <name>.mf at the root). The manifest carries SOL007 / PNFD metadata.
 */
export async function descriptorArchive(yaml: string, kind: 'nsd' | 'pnfd', structure: 'meta' | 'single' = 'meta', metadata?: Record<string, string>): Promise<Buffer> {
  const md = metadata ?? (kind === 'nsd'
    ? { nsd_designer: 'Acme', nsd_invariant_id: /invariant_id: (\S+)/.exec(yaml)![1], nsd_name: /\n {8}name: (.+)\n/.exec(yaml)![1], nsd_release_date_time: '2026-12-01T10:00:00+00:00', nsd_file_structure_version: '1.0' }
    : { pnfd_provider: /provider: (\S+)/.exec(yaml)![1], pnfd_name: /\n {8}name: (.+)\n/.exec(yaml)![1], pnfd_release_date_time: '2026-12-01T10:00:00+00:00', pnfd_archive_version: /version: '([^']+)'/.exec(yaml)![1] });
  if (structure === 'single') return buildZip({ [`${kind}.yaml`]: yaml }, { manifest: { path: `${kind}.mf`, metadata: md } });
  return buildZip({ 'TOSCA-Metadata/TOSCA.meta': META(`Definitions/${kind}.yaml`), [`Definitions/${kind}.yaml`]: yaml }, { manifest: { path: 'manifest.mf', metadata: md } });
}

const collection = (kind: 'nsd' | 'pnfd') => (kind === 'nsd' ? 'ns_descriptors' : 'pnf_descriptors');
const content = (kind: 'nsd' | 'pnfd') => (kind === 'nsd' ? 'nsd_content' : 'pnfd_content');
const state = (kind: 'nsd' | 'pnfd') => (kind === 'nsd' ? 'nsdOnboardingState' : 'pnfdOnboardingState');

export async function createDescriptor(d: TestDepot, kind: 'nsd' | 'pnfd', as?: TestUser, userDefinedData?: Record<string, unknown>): Promise<any> {
  const res = await d.request('POST', `${NSD}/${collection(kind)}`, { as, json: userDefinedData ? { userDefinedData } : {} });
  const body: any = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  return body;
}

export function putDescriptorContent(d: TestDepot, kind: 'nsd' | 'pnfd', id: string, body: Buffer | string, as?: TestUser, contentType?: string): Promise<Response> {
  return d.request('PUT', `${NSD}/${collection(kind)}/${id}/${content(kind)}`, { as, body, headers: { 'Content-Type': contentType ?? (typeof body === 'string' ? 'text/plain' : 'application/zip') } });
}

/** Polls until the onboarding state is ONBOARDED or ERROR; returns the NsdInfo / PnfdInfo. */
export async function waitDescriptor(d: TestDepot, kind: 'nsd' | 'pnfd', id: string, as?: TestUser, timeoutMs = 30_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await d.request('GET', `${NSD}/${collection(kind)}/${id}`, { as });
    const body: any = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    if (body[state(kind)] === 'ONBOARDED' || body[state(kind)] === 'ERROR') return body;
    if (Date.now() > until) throw new Error(`${kind} ${id} still ${body[state(kind)]} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Create + PUT content (202) + wait. */
export async function onboardDescriptor(d: TestDepot, kind: 'nsd' | 'pnfd', body: Buffer | string, as?: TestUser): Promise<any> {
  const info = await createDescriptor(d, kind, as);
  const res = await putDescriptorContent(d, kind, info.id, body, as);
  assert.equal(res.status, 202, await res.text());
  return waitDescriptor(d, kind, info.id, as);
}

export function assertDescriptorOnboarded(info: any, kind: 'nsd' | 'pnfd'): void {
  assert.equal(info[state(kind)], 'ONBOARDED', `expected ONBOARDED, got ${info[state(kind)]}:\n${fmt(info.onboardingFailureDetails?.findings)}`);
}
