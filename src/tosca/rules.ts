import type { Finding, Severity } from '../common/findings';
import type { Located } from './yaml';

/**
 * Every rule the TOSCA/SOL001 validator can report. Ids are stable across releases (clients switch on
 * them); docs/rules.md documents the same table and a test keeps the two in step.
 */
export const RULES = {
  'TOSCA-FILE-TOO-LARGE': ['error', 'A YAML file is larger than maxFileBytes, or the descriptor files together exceed 4 x maxFileBytes.'],
  'TOSCA-FILE-UNREADABLE': ['error', 'A descriptor file named by the package or an import cannot be read.'],
  'TOSCA-YAML-SYNTAX': ['error', 'The file is not well-formed YAML 1.2 (or not UTF-8).'],
  'TOSCA-YAML-FLOW-INDENT': ['warning', 'A flow collection continues at a lower indentation than YAML 1.2 allows; accepted as PyYAML does.'],
  'TOSCA-DUPLICATE-KEY': ['error', 'A mapping has the same key twice; the last one is used.'],
  'TOSCA-ALIAS-LIMIT': ['error', 'Too many YAML aliases, or aliases that expand beyond maxNodes (alias bomb).'],
  'TOSCA-DEPTH-LIMIT': ['error', 'YAML nesting deeper than maxDepth, or a derived_from chain longer than 64 types.'],
  'TOSCA-NODE-LIMIT': ['error', 'A YAML document has more than maxNodes nodes.'],
  'TOSCA-NOT-A-TEMPLATE': ['error', 'The file is not a TOSCA service template (no mapping, or no tosca_definitions_version).'],
  'TOSCA-DEFINITIONS-VERSION': ['error', 'tosca_definitions_version is not a supported TOSCA Simple Profile version (1.0 to 1.3).'],
  'TOSCA-UNKNOWN-KEYNAME': ['warning', 'A keyname that the TOSCA grammar does not define at this place (probably a typo).'],
  'TOSCA-STRUCTURE': ['error', 'A TOSCA element has the wrong YAML shape (e.g. a list where a map is required).'],
  'TOSCA-IMPORT-NOT-FOUND': ['error', 'An import is neither a file of the package nor a file of the built-in catalog (the network is never used).'],
  'TOSCA-IMPORT-CYCLE': ['error', 'Imports form a cycle (each file is still loaded once).'],
  'TOSCA-UNKNOWN-TYPE': ['error', 'A type name (derived_from, property type, template type, ...) is not defined.'],
  'TOSCA-IMPLICIT-TYPE': ['warning', 'A type used but neither defined nor imported; resolved from the built-in catalog matching tosca_definitions_version.'],
  'TOSCA-WRONG-TYPE-KIND': ['error', 'A type of the wrong kind is used (e.g. a data type as a node template type).'],
  'TOSCA-TYPE-SECTION': ['warning', 'A type is defined in the wrong section (e.g. a data type under node_types).'],
  'TOSCA-DERIVATION-CYCLE': ['error', 'A derived_from chain loops back to itself.'],
  'TOSCA-TYPE-REDEFINED': ['warning', 'A type name is defined by two different files of the package.'],
  'TOSCA-REQUIRED-PROPERTY': ['error', 'A required property has no value and no default.'],
  'TOSCA-UNKNOWN-PROPERTY': ['error', 'A property (or data type field) that its type does not define.'],
  'TOSCA-TYPE-MISMATCH': ['error', 'A value does not have the type its definition declares (incl. scalar-unit syntax and list/map entries).'],
  'TOSCA-STRING-NOT-QUOTED': ['warning', 'A number or boolean is given where a string is expected (YAML reads 1.10 as 1.1); it should be quoted.'],
  'TOSCA-CONSTRAINT': ['error', 'A value violates a constraint (equal, greater_*, less_*, in_range, valid_values, length, min/max_length, pattern).'],
  'TOSCA-BAD-CONSTRAINT': ['error', 'A constraint clause is malformed or unknown.'],
  'TOSCA-PATTERN-UNCHECKED': ['warning', 'A pattern constraint uses backreferences or lookaround; it is not evaluated, since only linear-time patterns are run on uploaded input.'],
  'TOSCA-INPUT-UNKNOWN': ['error', 'get_input names an input that the topology template does not declare.'],
  'TOSCA-FUNCTION-TARGET': ['error', 'get_property / get_attribute names a node template, capability or property that does not exist.'],
  'TOSCA-UNKNOWN-REQUIREMENT': ['error', 'A node template uses a requirement name its type does not define.'],
  'TOSCA-REQUIREMENT-TARGET': ['error', 'A requirement points at a node template that does not exist.'],
  'TOSCA-REQUIREMENT-INCOMPATIBLE': ['error', 'A requirement target has no capability of the required type, or is not of the required node type.'],
  'TOSCA-REQUIREMENT-OCCURRENCES': ['error', 'A requirement is used more often than its occurrences allow.'],
  'TOSCA-UNKNOWN-CAPABILITY': ['error', 'A node template assigns a capability its type does not define.'],
  'TOSCA-UNKNOWN-INTERFACE': ['error', 'A node template uses an interface or operation its type does not define.'],
  'TOSCA-ARTIFACT-FILE-MISSING': ['error', 'An artifact file (e.g. a tosca.artifacts.nfv.SwImage image) is not in the package.'],
  'TOSCA-SUBSTITUTION-MAPPING': ['error', 'substitution_mappings maps a property or requirement that the node type or the template does not have.'],
  'TOSCA-POLICY-TARGET': ['error', 'A policy or group targets a member that does not exist, or one its type does not allow.'],
  'SOL001-VNF-MISSING': ['error', 'The VNFD has no node template of a type derived from tosca.nodes.nfv.VNF.'],
  'SOL001-VNF-MULTIPLE': ['error', 'A topology template (deployment flavour) has more than one VNF node.'],
  'SOL001-VNF-PROPERTY': ['error', 'The VNF node does not give a mandatory VNF property (descriptor_id, descriptor_version, provider, product_name, software_version, vnfm_info, flavour_id).'],
  'SOL001-VNFM-INFO': ['warning', 'A vnfm_info entry does not match the SOL001 pattern (etsivnfm:vX.Y.Z or <number>:<name>).'],
  'SOL001-FLAVOUR-MISSING': ['error', 'No deployment flavour (flavour_id) can be determined.'],
  'SOL001-FLAVOUR-DUPLICATE': ['error', 'Two deployment flavour templates declare the same flavour_id.'],
  'SOL001-SUBSTITUTION-TYPE': ['error', 'substitution_mappings.node_type of a VNFD is not derived from tosca.nodes.nfv.VNF.'],
  'SOL001-SW-IMAGE': ['error', 'Software image description inconsistent: a SwImage artifact without sw_image_data or artifact properties, or more than one SwImage artifact on one node.'],
  'SOL001-NS-MISSING': ['error', 'The NSD has no node template of a type derived from tosca.nodes.nfv.NS.'],
  'SOL001-NS-PROPERTY': ['error', 'The NS node does not give a property NsdInfo is made of (descriptor_id, name, version, designer, invariant_id).'],
  'SOL001-PNF-MISSING': ['error', 'The PNFD has no node template of a type derived from tosca.nodes.nfv.PNF.'],
  'SOL001-PNF-PROPERTY': ['error', 'The PNF node does not give a property PnfdInfo is made of (descriptor_id, name, version, provider, descriptor_invariant_id).'],
  'SOL001-CHECKSUM': ['error', 'A software image checksum hash is not a hexadecimal digest of the length its algorithm produces.'],
  'SOL001-UNREFERENCED': ['warning', 'A virtual link or virtual storage node that no requirement refers to.'],
  'SOL001-VDU-PROFILE': ['error', 'vdu_profile min_number_of_instances is greater than max_number_of_instances.'],
  'SOL001-CP-BINDING': ['error', 'A VduCp has no virtual_binding to a Vdu.Compute.'],
  'SOL001-SCALING-ASPECT': ['error', 'A scaling or instantiation level policy names an aspect, level or default_level that is not declared.'],
  'SOL001-SCALING-CONSISTENCY': ['warning', 'Scaling aspects and instantiation levels disagree (undeclared step delta, level outside vdu_profile, scale_level above max_scale_level).'],
} as const satisfies Record<string, readonly [Severity, string]>;

export type RuleId = keyof typeof RULES;

/** Findings collector: severity comes from the rule table, the place from the offending YAML node. */
export class Findings {
  readonly list: Finding[] = [];

  add(rule: RuleId, at: Located | undefined, message: string, path?: string): void {
    this.list.push({
      rule,
      severity: RULES[rule][0],
      message,
      ...(at?.file ? { file: at.file, line: at.line, column: at.column } : {}),
      ...(path ? { path } : {}),
    });
  }

  push(...f: Finding[]): void {
    this.list.push(...f);
  }
}
