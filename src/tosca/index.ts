import type { Finding } from '../common/findings';
import { memoryFiles, type PackageFiles } from './files';
import { checkSol001, VnfdFacts } from './sol001';
import { checkNsd, checkPnfd, NsdFacts, PnfdFacts } from './sol001-ns';
import { checkTopologies, checkTypeDefinitions, collectTopologies, loadModel, resolveLimits, sortFindings, type Model } from './validator';

export type { PackageFiles } from './files';
export { folderFiles, memoryFiles, zipFiles } from './files';
export type { SoftwareImageFacts, VnfdFacts } from './sol001';
export type { DescriptorReference, NsdFacts, PnfdFacts } from './sol001-ns';
export { RULES } from './rules';
export { diffVnfd } from './diff';
export type { VnfdChange, VnfdChangeCategory } from './diff';

export interface ValidateOptions { limits?: { maxFileBytes?: number; maxDepth?: number; maxAliases?: number; maxNodes?: number } }
export interface ValidationResult { findings: Finding[]; facts: VnfdFacts }

/** Load, type-check and check the topologies: everything but profile-specific rules. */
async function analyse(files: PackageFiles, entry: string, opts?: ValidateOptions) {
  const model = await loadModel(files, entry, resolveLimits(opts?.limits));
  checkTypeDefinitions(model);
  collectTopologies(model);
  checkTopologies(model);
  return model;
}

/**
 * Validate a VNFD (TOSCA + ETSI SOL001 rules) starting at `entryDefinitions`, reporting every problem
 * found rather than the first, and extract the facts VnfPkgInfo needs. Never throws on bad input.
 */
export async function validateVnfd(files: PackageFiles, entryDefinitions: string, opts?: ValidateOptions): Promise<ValidationResult> {
  const { findings, facts } = await describeVnfd(files, entryDefinitions, opts);
  return { findings, facts };
}

/** validateVnfd() with the loaded model, for callers that compare VNFDs (diff.ts). */
export async function describeVnfd(files: PackageFiles, entryDefinitions: string, opts?: ValidateOptions): Promise<ValidationResult & { model: Model }> {
  const model = await analyse(files, entryDefinitions, opts);
  const facts = checkSol001(model);
  return { findings: sortFindings(model.findings.list), facts, model };
}

/** Validate an NSD (TOSCA + SOL001 clause 6 rules) and extract NsdInfo's facts and its references. */
export async function validateNsd(files: PackageFiles, entryDefinitions: string, opts?: ValidateOptions): Promise<{ findings: Finding[]; facts: NsdFacts }> {
  const model = await analyse(files, entryDefinitions, opts);
  const facts = checkNsd(model);
  return { findings: sortFindings(model.findings.list), facts };
}

/** Validate a PNFD (TOSCA + SOL001 clause 7 rules) and extract PnfdInfo's facts. */
export async function validatePnfd(files: PackageFiles, entryDefinitions: string, opts?: ValidateOptions): Promise<{ findings: Finding[]; facts: PnfdFacts }> {
  const model = await analyse(files, entryDefinitions, opts);
  const facts = checkPnfd(model);
  return { findings: sortFindings(model.findings.list), facts };
}

/** Generic TOSCA service template validation (no SOL001 VNF rules), for the `tosca_templates` artifact type. */
export async function validateToscaTemplate(files: PackageFiles, entry: string, opts?: ValidateOptions): Promise<{ findings: Finding[]; descriptorFiles: string[] }> {
  const model = await analyse(files, entry, opts);
  return { findings: sortFindings(model.findings.list), descriptorFiles: model.packageTemplates.map((t) => t.path) };
}

/**
 * Validates a minimal SOL001 VNFD so that the built-in catalog (normative and ETSI types) is parsed
 * and the validator's code is compiled before the first package arrives: a first validation costs
 * ~250 ms here, a warm one 1–5 ms. The service calls it in the background once it listens.
 */
export async function warmUp(): Promise<void> {
  const vnfd = 'tosca_definitions_version: tosca_simple_yaml_1_3\nimports:\n  - etsi_nfv_sol001_common_types.yaml\n  - etsi_nfv_sol001_vnfd_types.yaml\ntopology_template:\n  node_templates: {}\n';
  await validateVnfd(memoryFiles({ 'warm-up.yaml': vnfd }), 'warm-up.yaml');
}
