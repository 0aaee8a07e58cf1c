import type { Finding } from '../common/findings';
import { NORMATIVE, catalogFileFor, catalogTemplate, etsiDirForDefinitionsVersion } from './catalog';
import { PackageFiles, dirOf, joinPath } from './files';
import { Findings } from './rules';
import { MAX_CHAIN, PRIMITIVES, ReqDef, TYPE_SECTIONS, TypeDef, TypeRegistry, TypeSection, parsePropDef } from './types';
import { ValueContext, checkProperties, checkValue, functionCall } from './values';
import { DEFAULT_LIMITS, Limits, TOTAL_BYTES_FACTOR, YMap, YScalar, YSeq, YValue, get, isMapNode, isSeqNode, loadYaml, str } from './yaml';

/** One loaded service template (a package file or a catalog file). */
export interface ServiceTemplate {
  path: string;
  root: YMap;
  builtin: boolean;
  defsVersion?: string;
}

/** Result of loading and type-checking a set of templates, before any profile-specific rules. */
export interface Model {
  templates: ServiceTemplate[];
  /** package templates in load order, entry first */
  packageTemplates: ServiceTemplate[];
  types: TypeRegistry;
  findings: Findings;
  files: PackageFiles;
  /** topology of each package template that has one */
  topologies: Topology[];
  /**
   * Property names that node templates of templates *without* substitution_mappings give, per node type:
   * the substituted (abstract) node, whose values a flavour template's node of the same type inherits.
   */
  substitutedValues: Map<string, Set<string>>;
}

export interface NodeTemplate { name: string; keyNode: YScalar; def: YMap; type: string; path: string }
export interface Topology {
  template: ServiceTemplate;
  node: YMap;
  inputs: Map<string, YValue>;
  nodes: Map<string, NodeTemplate>;
  groups: Map<string, YMap>;
  substitution?: YMap;
  path: string;
}

const SUPPORTED_VERSIONS = new Set(['tosca_simple_yaml_1_0', 'tosca_simple_yaml_1_1', 'tosca_simple_yaml_1_2', 'tosca_simple_yaml_1_3', 'tosca_simple_profile_for_nfv_1_0_0']);
const TEMPLATE_KEYS = new Set(['tosca_definitions_version', 'namespace', 'metadata', 'description', 'dsl_definitions', 'repositories', 'imports', 'profile', ...Object.keys(TYPE_SECTIONS), 'topology_template']);
const TOPOLOGY_KEYS = new Set(['description', 'inputs', 'outputs', 'node_templates', 'relationship_templates', 'groups', 'policies', 'substitution_mappings', 'workflows']);
const NODE_TEMPLATE_KEYS = new Set(['type', 'description', 'metadata', 'directives', 'properties', 'attributes', 'requirements', 'capabilities', 'interfaces', 'artifacts', 'node_filter', 'copy']);

export function resolveLimits(l?: Partial<Limits>): Limits {
  return { ...DEFAULT_LIMITS, ...Object.fromEntries(Object.entries(l ?? {}).filter(([, v]) => v !== undefined)) };
}

/** Load the entry file and everything it imports, from the package or the built-in catalog. */
export async function loadModel(files: PackageFiles, entry: string, limits: Limits): Promise<Model> {
  const findings = new Findings();
  const templates: ServiceTemplate[] = [];
  const packageTemplates: ServiceTemplate[] = [];
  const byPath = new Map<string, ServiceTemplate | null>();
  const onStack = new Set<string>();
  let totalBytes = 0;

  const loadCatalog = (rel: string): ServiceTemplate => {
    const key = `catalog:${rel}`;
    let t = byPath.get(key);
    if (!t) {
      const root = catalogTemplate(rel) as YMap;
      t = { path: key, root, builtin: true, defsVersion: str(get(root, 'tosca_definitions_version')) };
      byPath.set(key, t);
      // catalog files import each other by forge URL
      const imps = get(root, 'imports');
      if (isSeqNode(imps)) for (const i of imps.items) {
        const c = str(i) && catalogFileFor(str(i)!, t.defsVersion);
        if (c && c !== NORMATIVE) loadCatalog(c);
      }
      templates.push(t);
    }
    return t;
  };

  const loadPackageFile = async (path: string, at: YValue | undefined): Promise<void> => {
    if (onStack.has(path)) {
      findings.add('TOSCA-IMPORT-CYCLE', at, `import cycle: ${[...onStack, path].slice([...onStack].indexOf(path)).join(' -> ')}`);
      return;
    }
    if (byPath.has(path)) return;
    byPath.set(path, null);
    let bytes: Buffer;
    try {
      bytes = await files.read(path);
    } catch (e) {
      findings.add('TOSCA-FILE-UNREADABLE', at, `cannot read ${path}: ${(e as Error).message}`);
      return;
    }
    totalBytes += bytes.length;
    if (totalBytes > limits.maxFileBytes * TOTAL_BYTES_FACTOR) {
      findings.add('TOSCA-FILE-TOO-LARGE', at, `the descriptor files together exceed ${limits.maxFileBytes * TOTAL_BYTES_FACTOR} bytes; ${path} is not loaded`);
      return;
    }
    const loaded = loadYaml(path, bytes, limits);
    findings.push(...loaded.findings);
    if (!loaded.root) return;
    if (!isMapNode(loaded.root)) {
      findings.add('TOSCA-NOT-A-TEMPLATE', loaded.root, `${path} is not a YAML mapping`);
      return;
    }
    const root = loaded.root;
    const defsNode = get(root, 'tosca_definitions_version');
    const defsVersion = str(defsNode);
    if (!defsVersion) findings.add('TOSCA-NOT-A-TEMPLATE', root, `${path} has no tosca_definitions_version`, 'tosca_definitions_version');
    else if (!SUPPORTED_VERSIONS.has(defsVersion)) findings.add('TOSCA-DEFINITIONS-VERSION', defsNode, `unsupported tosca_definitions_version ${defsVersion}`, 'tosca_definitions_version');
    for (const p of root.pairs) if (!TEMPLATE_KEYS.has(p.key)) findings.add('TOSCA-UNKNOWN-KEYNAME', p.keyNode, `unknown top-level keyname ${p.key}`, p.key);
    const t: ServiceTemplate = { path, root, builtin: false, defsVersion };
    byPath.set(path, t);
    packageTemplates.push(t);
    onStack.add(path);
    const imps = get(root, 'imports');
    if (imps && !isSeqNode(imps) && !(imps.kind === 'scalar' && imps.value === null)) findings.add('TOSCA-STRUCTURE', imps, 'imports must be a list', 'imports');
    if (isSeqNode(imps)) {
      for (let i = 0; i < imps.items.length; i++) {
        const item = imps.items[i];
        // 1.0-1.2 named form `- name: {file: x}` or `- name: x`; 1.3 form `- file: x`; or a plain string
        let ref = str(item) ?? str(get(item, 'file'));
        if (!ref && isMapNode(item) && item.pairs.length === 1) ref = str(item.pairs[0].value) ?? str(get(item.pairs[0].value, 'file'));
        if (!ref) {
          findings.add('TOSCA-STRUCTURE', item, 'import entry has no file', `imports/${i}`);
          continue;
        }
        await resolveImport(ref, t, item, `imports/${i}`);
      }
    }
    onStack.delete(path);
    templates.push(t);
  };

  const resolveImport = async (ref: string, from: ServiceTemplate, at: YValue, path: string): Promise<void> => {
    const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(ref);
    if (!isUrl) {
      const rel = joinPath(dirOf(from.path), ref);
      // The package's own copy wins (e.g. the ETSI files Tacker packages ship in Definitions/).
      if (rel !== undefined && files.has(rel)) return loadPackageFile(rel, at);
    }
    const cat = catalogFileFor(ref, from.defsVersion);
    if (cat) {
      if (cat !== NORMATIVE) loadCatalog(cat);
      return;
    }
    findings.add('TOSCA-IMPORT-NOT-FOUND', at, isUrl ? `import ${ref} is not in the built-in catalog (the network is not used)` : `import ${ref} is neither in the package (relative to ${from.path}) nor in the built-in catalog`, path);
  };

  loadCatalog(NORMATIVE);
  if (!files.has(entry)) findings.add('TOSCA-FILE-UNREADABLE', undefined, `entry definitions ${entry} is not in the package`);
  else await loadPackageFile(entry, undefined);

  const entryVersion = packageTemplates[0]?.defsVersion;
  const implicitDir = etsiDirForDefinitionsVersion(entryVersion);
  const fallbackTypes = new Map<string, TypeDef>();
  let fallbackLoaded = false;
  const fallback = (name: string): TypeDef | undefined => {
    if (!name.startsWith('tosca.')) return undefined;
    if (!fallbackLoaded) {
      fallbackLoaded = true;
      for (const f of ['etsi_nfv_sol001_common_types.yaml', 'etsi_nfv_sol001_vnfd_types.yaml']) {
        const rel = `etsi/${implicitDir}/${f}`;
        collectTypes({ path: `catalog:${rel}`, root: catalogTemplate(rel) as YMap, builtin: true }, (t) => fallbackTypes.set(t.name, t));
      }
    }
    return fallbackTypes.get(name);
  };
  const types = new TypeRegistry(fallback, findings);
  for (const t of templates) collectTypes(t, (d) => types.add(d), findings);
  const model: Model = { templates, packageTemplates, types, findings, files, topologies: [], substitutedValues: new Map() };
  return model;
}

function collectTypes(t: ServiceTemplate, add: (d: TypeDef) => void, findings?: Findings): void {
  for (const section of Object.keys(TYPE_SECTIONS) as TypeSection[]) {
    const sec = get(t.root, section);
    if (!sec || (sec.kind === 'scalar' && sec.value === null)) continue;
    if (!isMapNode(sec)) {
      findings?.add('TOSCA-STRUCTURE', sec, `${section} must be a map`, section);
      continue;
    }
    for (const p of sec.pairs) {
      if (!isMapNode(p.value)) {
        // `SomeType: {}` written as `SomeType:` is common; an empty definition is fine
        if (p.value.kind === 'scalar' && p.value.value === null) {
          add({ name: p.key, section, def: { kind: 'map', pairs: [], byKey: new Map(), file: p.keyNode.file, line: p.keyNode.line, column: p.keyNode.column }, keyNode: p.keyNode, builtin: t.builtin });
        } else findings?.add('TOSCA-STRUCTURE', p.value, `type ${p.key} must be a map`, `${section}/${p.key}`);
        continue;
      }
      add({ name: p.key, section, def: p.value, keyNode: p.keyNode, builtin: t.builtin });
    }
  }
}

/** A value context with no topology: functions are not allowed in type definitions' defaults. */
function typeValueContext(model: Model): ValueContext {
  return { types: model.types, findings: model.findings, onFunction: () => undefined };
}

/** Check the type definitions a package itself contains. */
export function checkTypeDefinitions(model: Model): void {
  const { types, findings } = model;
  const vctx = typeValueContext(model);
  for (const t of model.packageTemplates) {
    for (const section of Object.keys(TYPE_SECTIONS) as TypeSection[]) {
      const sec = get(t.root, section);
      if (!isMapNode(sec)) continue;
      for (const p of sec.pairs) {
        const def = p.value;
        if (!isMapNode(def)) continue;
        const path = `${section}/${p.key}`;
        checkDerivation(model, p.key, def, path);
        const kind = types.kind(p.key);
        if (kind && kind !== TYPE_SECTIONS[section]) {
          findings.add('TOSCA-TYPE-SECTION', p.keyNode, `${p.key} is a ${kind} type but is defined under ${section}`, path);
        }
        const allowed = TYPE_KEYS[kind ?? TYPE_SECTIONS[section]];
        if (allowed) for (const k of def.pairs) if (!COMMON_TYPE_KEYS.has(k.key) && !allowed.has(k.key)) findings.add('TOSCA-UNKNOWN-KEYNAME', k.keyNode, `unknown keyname ${k.key} in ${kind ?? section} type ${p.key}`, `${path}/${k.key}`);
        for (const key of ['properties', 'attributes'] as const) {
          const defs = get(def, key);
          if (!isMapNode(defs)) continue;
          for (const pd of defs.pairs) checkPropertyDefinition(model, pd.key, pd.value, `${path}/${key}/${pd.key}`, vctx);
        }
        const caps = get(def, 'capabilities');
        if (isMapNode(caps)) for (const c of caps.pairs) {
          const ctNode = isMapNode(c.value) ? get(c.value, 'type') : c.value;
          expectKind(model, str(ctNode), ctNode, 'capability', `${path}/capabilities/${c.key}`);
        }
        const reqs = get(def, 'requirements');
        if (isSeqNode(reqs)) reqs.items.forEach((r, i) => {
          if (!isMapNode(r)) return;
          for (const rp of r.pairs) {
            const rv = rp.value;
            const cap = rv.kind === 'scalar' ? rv : get(rv, 'capability');
            expectKind(model, str(cap), cap, 'capability', `${path}/requirements/${i}/${rp.key}`);
            const node = get(rv, 'node');
            if (node) expectKind(model, str(node), node, 'node', `${path}/requirements/${i}/${rp.key}/node`);
            const rel = get(rv, 'relationship');
            const relType = isMapNode(rel) ? get(rel, 'type') : rel;
            if (relType) expectKind(model, str(relType), relType, 'relationship', `${path}/requirements/${i}/${rp.key}/relationship`);
          }
        });
        const ifs = get(def, 'interfaces');
        if (isMapNode(ifs) && section !== 'interface_types') for (const ip of ifs.pairs) {
          const it = get(ip.value, 'type');
          if (it) expectKind(model, str(it), it, 'interface', `${path}/interfaces/${ip.key}`);
        }
      }
    }
  }
}

function checkDerivation(model: Model, name: string, def: YMap, path: string): void {
  const { types, findings } = model;
  const parentNode = get(def, 'derived_from');
  const parent = str(parentNode);
  if (!parent) return;
  if (parent === name) {
    findings.add('TOSCA-DERIVATION-CYCLE', parentNode, `${name} is derived from itself`, `${path}/derived_from`);
    return;
  }
  if (!types.lookup(parent, parentNode) && !(PRIMITIVES.has(parent))) {
    findings.add('TOSCA-UNKNOWN-TYPE', parentNode, `${name} is derived from unknown type ${parent}`, `${path}/derived_from`);
    return;
  }
  const parentDef = types.lookup(parent);
  if (types.tooDeep(name) && !(parentDef && types.tooDeep(parent))) {
    findings.add('TOSCA-DEPTH-LIMIT', parentNode, `derived_from chain of ${name} is longer than ${MAX_CHAIN} types`, `${path}/derived_from`);
    return;
  }
  if (types.tooDeep(name)) return;
  // walk up: a cycle is reported on each type that is part of it
  const seen = new Set<string>([name]);
  let cur = parent;
  for (;;) {
    if (seen.has(cur)) {
      if (cur === name) findings.add('TOSCA-DERIVATION-CYCLE', parentNode, `derived_from chain of ${name} loops: ${[...seen, cur].join(' -> ')}`, `${path}/derived_from`);
      return;
    }
    seen.add(cur);
    const t = types.lookup(cur);
    const next = t && types.parentName(t);
    if (!next) return;
    cur = next;
  }
}

function expectKind(model: Model, name: string | undefined, at: YValue | undefined, kind: string, path: string): boolean {
  if (!name) return false;
  const t = model.types.lookup(name, at);
  if (!t) {
    model.findings.add('TOSCA-UNKNOWN-TYPE', at, `unknown ${kind} type ${name}`, path);
    return false;
  }
  const k = model.types.kind(name);
  if (k && k !== kind) {
    model.findings.add('TOSCA-WRONG-TYPE-KIND', at, `${name} is a ${k} type, a ${kind} type is required here`, path);
    return false;
  }
  return true;
}

// TOSCA 1.3 §3.6: keynames of type definitions by kind (interface types also hold operations: not listed)
const COMMON_TYPE_KEYS = new Set(['derived_from', 'version', 'metadata', 'description']);
const TYPE_KEYS: Partial<Record<string, Set<string>>> = {
  node: new Set(['properties', 'attributes', 'requirements', 'capabilities', 'interfaces', 'artifacts']),
  data: new Set(['properties', 'constraints', 'key_schema', 'entry_schema']),
  capability: new Set(['properties', 'attributes', 'valid_source_types']),
  relationship: new Set(['properties', 'attributes', 'interfaces', 'valid_target_types']),
  artifact: new Set(['mime_type', 'file_ext', 'properties']),
  policy: new Set(['properties', 'targets', 'triggers']),
  group: new Set(['properties', 'attributes', 'members', 'requirements', 'capabilities', 'interfaces']),
};
const PROPERTY_DEF_KEYS = new Set(['type', 'description', 'required', 'default', 'value', 'status', 'constraints', 'key_schema', 'entry_schema', 'external-schema', 'metadata']);

function checkPropertyDefinition(model: Model, name: string, node: YValue, path: string, vctx: ValueContext): void {
  if (!isMapNode(node)) {
    model.findings.add('TOSCA-STRUCTURE', node, `definition of ${name} must be a map`, path);
    return;
  }
  for (const k of node.pairs) if (!PROPERTY_DEF_KEYS.has(k.key)) model.findings.add('TOSCA-UNKNOWN-KEYNAME', k.keyNode, `unknown keyname ${k.key} in the definition of ${name}`, `${path}/${k.key}`);
  const d = parsePropDef(name, node);
  if (!checkDataTypeRef(model, d.type, d.typeNode, `${path}/type`)) return;
  if (d.entrySchema && !checkDataTypeRef(model, d.entrySchema.type, d.entrySchema.typeNode, `${path}/entry_schema`)) return;
  if (d.default !== undefined && !(d.default.kind === 'scalar' && d.default.value === null)) checkValue(d.default, d, `${path}/default`, vctx);
}

function checkDataTypeRef(model: Model, type: string, at: YValue | undefined, path: string): boolean {
  if (PRIMITIVES.has(type)) return true;
  return expectKind(model, type, at, 'data', path);
}

// ------------------------------------------------------------------------------------------------
// Topology

export function collectTopologies(model: Model): void {
  for (const t of model.packageTemplates) {
    const tt = get(t.root, 'topology_template');
    if (!tt || (tt.kind === 'scalar' && tt.value === null)) continue;
    if (!isMapNode(tt)) {
      model.findings.add('TOSCA-STRUCTURE', tt, 'topology_template must be a map', 'topology_template');
      continue;
    }
    const topo: Topology = { template: t, node: tt, inputs: new Map(), nodes: new Map(), groups: new Map(), path: 'topology_template' };
    const inputs = get(tt, 'inputs');
    if (isMapNode(inputs)) for (const p of inputs.pairs) topo.inputs.set(p.key, p.value);
    const nts = get(tt, 'node_templates');
    if (isMapNode(nts)) {
      for (const p of nts.pairs) {
        if (!isMapNode(p.value)) {
          model.findings.add('TOSCA-STRUCTURE', p.value, `node template ${p.key} must be a map`, `topology_template/node_templates/${p.key}`);
          continue;
        }
        topo.nodes.set(p.key, { name: p.key, keyNode: p.keyNode, def: p.value, type: str(get(p.value, 'type')) ?? '', path: `topology_template/node_templates/${p.key}` });
      }
    } else if (nts && !(nts.kind === 'scalar' && nts.value === null)) model.findings.add('TOSCA-STRUCTURE', nts, 'node_templates must be a map', 'topology_template/node_templates');
    const groups = get(tt, 'groups');
    if (isMapNode(groups)) for (const p of groups.pairs) if (isMapNode(p.value)) topo.groups.set(p.key, p.value);
    const sm = get(tt, 'substitution_mappings');
    if (isMapNode(sm)) topo.substitution = sm;
    model.topologies.push(topo);
  }
}

export function checkTopologies(model: Model): void {
  for (const topo of model.topologies) {
    if (topo.substitution) continue;
    for (const nt of topo.nodes.values()) {
      const props = get(nt.def, 'properties');
      if (!isMapNode(props)) continue;
      const set = model.substitutedValues.get(nt.type) ?? new Set<string>();
      for (const p of props.pairs) set.add(p.key);
      model.substitutedValues.set(nt.type, set);
    }
  }
  for (const topo of model.topologies) checkTopology(model, topo);
}

/**
 * Required properties that a flavour template's node gets from elsewhere: when the node stands for the
 * substituted node (its type is the substitution node_type), a topology input of the same name, a
 * substitution property mapping, or the substituted node in the top-level template provides the value.
 */
function providedBySubstitution(model: Model, topo: Topology, nt: NodeTemplate): Set<string> | undefined {
  const smType = str(get(topo.substitution, 'node_type'));
  if (!smType || !model.types.lookup(nt.type) || !model.types.derivesFrom(nt.type, smType)) return undefined;
  const out = new Set<string>(topo.inputs.keys());
  const mapped = get(topo.substitution, 'properties');
  if (isMapNode(mapped)) for (const p of mapped.pairs) out.add(p.key);
  for (const [type, names] of model.substitutedValues) if (model.types.derivesFrom(type, smType) || model.types.derivesFrom(smType, type)) for (const n of names) out.add(n);
  return out;
}

function functionChecker(model: Model, topo: Topology, self?: NodeTemplate): ValueContext['onFunction'] {
  const { findings, types } = model;
  return (call, at, path) => {
    const args = call.args;
    if (call.name === 'get_input') {
      const name = str(args) ?? (isSeqNode(args) ? str(args.items[0]) : undefined);
      if (!name) findings.add('TOSCA-STRUCTURE', at, 'get_input needs an input name', path);
      else if (!topo.inputs.has(name)) findings.add('TOSCA-INPUT-UNKNOWN', at, `get_input: no input named ${name} in topology_template.inputs`, path);
      return;
    }
    if (call.name !== 'get_property' && call.name !== 'get_attribute') return;
    if (!isSeqNode(args) || args.items.length < 2) {
      findings.add('TOSCA-STRUCTURE', at, `${call.name} needs [ <node>, [<capability or requirement>,] <name>, ... ]`, path);
      return;
    }
    const entity = str(args.items[0]) ?? '';
    let target: NodeTemplate | undefined;
    if (entity === 'SELF') target = self;
    else if (entity === 'SOURCE' || entity === 'TARGET' || entity === 'HOST') return; // resolved at run time
    else {
      target = topo.nodes.get(entity);
      if (!target) {
        findings.add('TOSCA-FUNCTION-TARGET', args.items[0], `${call.name}: no node template named ${entity}`, path);
        return;
      }
    }
    if (!target || !types.lookup(target.type)) return;
    const second = str(args.items[1]) ?? '';
    const caps = types.capabilities(target.type);
    const reqs = types.requirements(target.type);
    let owner = target.type;
    let nameNode = args.items[1];
    if ((caps.has(second) || reqs.has(second)) && args.items.length > 2) {
      const cap = caps.get(second);
      if (!cap) return; // a requirement's target is only known at run time
      owner = cap.type;
      nameNode = args.items[2];
    }
    const name = str(nameNode) ?? '';
    const known = types.properties(owner).has(name) || (call.name === 'get_attribute' && (types.attributes(owner).has(name) || ['tosca_id', 'tosca_name', 'state'].includes(name)));
    if (!known) findings.add('TOSCA-FUNCTION-TARGET', nameNode, `${call.name}: ${owner} of ${target.name} has no ${call.name === 'get_property' ? 'property' : 'attribute'} ${name}`, path);
  };
}

function valueContext(model: Model, topo: Topology, self?: NodeTemplate): ValueContext {
  return { types: model.types, findings: model.findings, onFunction: functionChecker(model, topo, self) };
}

function checkTopology(model: Model, topo: Topology): void {
  const { findings, types } = model;
  for (const p of topo.node.pairs) if (!TOPOLOGY_KEYS.has(p.key)) findings.add('TOSCA-UNKNOWN-KEYNAME', p.keyNode, `unknown topology_template keyname ${p.key}`, `topology_template/${p.key}`);
  const tctx = valueContext(model, topo);
  const inputs = get(topo.node, 'inputs');
  if (isMapNode(inputs)) for (const p of inputs.pairs) checkPropertyDefinition(model, p.key, p.value, `topology_template/inputs/${p.key}`, tctx);

  for (const nt of topo.nodes.values()) checkNodeTemplate(model, topo, nt);

  const outputs = get(topo.node, 'outputs');
  if (isMapNode(outputs)) for (const p of outputs.pairs) {
    const v = get(p.value, 'value');
    const call = functionCall(v);
    if (call && v) tctx.onFunction(call, v, `topology_template/outputs/${p.key}/value`);
  }

  for (const [name, g] of topo.groups) {
    const path = `topology_template/groups/${name}`;
    const typeNode = get(g, 'type');
    const type = str(typeNode);
    if (!expectKind(model, type, typeNode ?? g, 'group', `${path}/type`)) continue;
    checkProperties(asMap(get(g, 'properties')), types.properties(type!), `${path}/properties`, tctx, `group ${name}`, g);
    checkMembers(model, topo, get(g, 'members'), type!, 'members', `${path}/members`, false);
  }

  for (const pe of policyEntries(topo)) {
    if (!isMapNode(pe.def)) { findings.add('TOSCA-STRUCTURE', pe.def, `policy ${pe.name} must be a map`, pe.path); continue; }
    const typeNode = get(pe.def, 'type');
    const type = str(typeNode);
    if (!expectKind(model, type, typeNode ?? pe.def, 'policy', `${pe.path}/type`)) continue;
    checkProperties(asMap(get(pe.def, 'properties')), types.properties(type!), `${pe.path}/properties`, tctx, `policy ${pe.name}`, pe.def);
    checkMembers(model, topo, get(pe.def, 'targets'), type!, 'targets', `${pe.path}/targets`, true);
  }

  if (topo.substitution) checkSubstitution(model, topo, topo.substitution, tctx);
}

export interface PolicyEntry { name: string; def: YValue; keyNode: YScalar; path: string }

/** Policies of a topology: TOSCA 1.2+ writes a list of single-key maps, 1.0 a map. */
export function policyEntries(topo: Topology): PolicyEntry[] {
  const out: PolicyEntry[] = [];
  const policies = get(topo.node, 'policies');
  if (isSeqNode(policies)) policies.items.forEach((it, i) => { if (isMapNode(it)) for (const p of it.pairs) out.push({ name: p.key, def: p.value, keyNode: p.keyNode, path: `topology_template/policies/${i}/${p.key}` }); });
  else if (isMapNode(policies)) for (const p of policies.pairs) out.push({ name: p.key, def: p.value, keyNode: p.keyNode, path: `topology_template/policies/${p.key}` });
  return out;
}

function asMap(v: YValue | undefined): YMap | undefined {
  return isMapNode(v) ? v : undefined;
}

/** Policy targets / group members: must exist, and be of a type the policy/group type allows. */
function checkMembers(model: Model, topo: Topology, list: YValue | undefined, type: string, key: 'targets' | 'members', path: string, groupsAllowed: boolean): void {
  const { findings, types } = model;
  if (!list || (list.kind === 'scalar' && list.value === null)) return;
  if (!isSeqNode(list)) { findings.add('TOSCA-STRUCTURE', list, `${key} must be a list`, path); return; }
  let allowed: string[] | undefined;
  for (const t of types.chain(type)) {
    const a = get(t.def, key);
    if (isSeqNode(a)) { allowed = a.items.map((x) => str(x) ?? ''); break; }
  }
  list.items.forEach((m, i) => {
    const name = str(m) ?? '';
    const node = topo.nodes.get(name);
    const group = groupsAllowed ? topo.groups.get(name) : undefined;
    if (!node && !group) {
      findings.add('TOSCA-POLICY-TARGET', m, `${key}: no node template${groupsAllowed ? ' or group' : ''} named ${name}`, `${path}/${i}`);
      return;
    }
    const memberType = node ? node.type : str(get(group, 'type')) ?? '';
    if (allowed && allowed.length && !allowed.some((a) => types.derivesFrom(memberType, a))) {
      findings.add('TOSCA-POLICY-TARGET', m, `${name} (${memberType}) is not one of the ${key} ${type} allows: ${allowed.join(', ')}`, `${path}/${i}`);
    }
  });
}

function checkNodeTemplate(model: Model, topo: Topology, nt: NodeTemplate): void {
  const { findings, types } = model;
  const ctx = valueContext(model, topo, nt);
  for (const p of nt.def.pairs) if (!NODE_TEMPLATE_KEYS.has(p.key)) findings.add('TOSCA-UNKNOWN-KEYNAME', p.keyNode, `unknown node template keyname ${p.key}`, `${nt.path}/${p.key}`);
  const typeNode = get(nt.def, 'type');
  if (!typeNode) { findings.add('TOSCA-STRUCTURE', nt.keyNode, `node template ${nt.name} has no type`, nt.path); return; }
  if (!expectKind(model, nt.type, typeNode, 'node', `${nt.path}/type`)) return;
  // A broken derived_from chain is reported once, at the type; checking templates against it would only echo it.
  if (!types.isComplete(nt.type)) return;

  const props = get(nt.def, 'properties');
  if (props && !isMapNode(props) && !(props.kind === 'scalar' && props.value === null)) findings.add('TOSCA-STRUCTURE', props, 'properties must be a map', `${nt.path}/properties`);
  checkProperties(asMap(props), types.properties(nt.type), `${nt.path}/properties`, ctx, `node template ${nt.name} (${nt.type})`, props ?? nt.keyNode, 0, providedBySubstitution(model, topo, nt));

  const attrs = get(nt.def, 'attributes');
  if (isMapNode(attrs)) {
    const defs = types.attributes(nt.type);
    for (const a of attrs.pairs) if (!defs.has(a.key)) findings.add('TOSCA-UNKNOWN-PROPERTY', a.keyNode, `${nt.type} has no attribute ${a.key}`, `${nt.path}/attributes/${a.key}`);
  }

  checkRequirements(model, topo, nt);

  const caps = get(nt.def, 'capabilities');
  if (isMapNode(caps)) {
    const defs = types.capabilities(nt.type);
    for (const c of caps.pairs) {
      const path = `${nt.path}/capabilities/${c.key}`;
      const cd = defs.get(c.key);
      if (!cd) { findings.add('TOSCA-UNKNOWN-CAPABILITY', c.keyNode, `${nt.type} has no capability ${c.key}`, path); continue; }
      if (!types.lookup(cd.type)) continue;
      const cprops = get(c.value, 'properties');
      if (cprops !== undefined) checkProperties(asMap(cprops), types.properties(cd.type), `${path}/properties`, ctx, `capability ${c.key} (${cd.type})`, cprops);
    }
  }

  const ifs = get(nt.def, 'interfaces');
  if (isMapNode(ifs)) {
    const defs = types.interfaces(nt.type);
    for (const i of ifs.pairs) {
      const path = `${nt.path}/interfaces/${i.key}`;
      const itype = defs.get(i.key);
      if (itype === undefined) { findings.add('TOSCA-UNKNOWN-INTERFACE', i.keyNode, `${nt.type} has no interface ${i.key}`, path); continue; }
      if (!itype || !types.lookup(itype) || !isMapNode(i.value)) continue;
      const ops = types.operations(itype);
      const opsMap = get(i.value, 'operations');
      const assigned = isMapNode(opsMap) ? opsMap.pairs : i.value.pairs.filter((p) => p.key !== 'inputs' && p.key !== 'description' && p.key !== 'notifications' && p.key !== 'type');
      for (const op of assigned) {
        if (!ops.has(op.key)) findings.add('TOSCA-UNKNOWN-INTERFACE', op.keyNode, `interface ${i.key} (${itype}) has no operation ${op.key}`, `${path}/${op.key}`);
        checkImplementation(model, topo, nt, op.value, `${path}/${op.key}`);
      }
    }
  }

  const arts = get(nt.def, 'artifacts');
  if (isMapNode(arts)) for (const a of arts.pairs) checkArtifact(model, topo, nt, a.key, a.value, ctx);
}

/**
 * An operation's implementation names an artifact of the node (template or type) or a file; a file
 * (anything with a path separator) must be in the package.
 */
function checkImplementation(model: Model, topo: Topology, nt: NodeTemplate, op: YValue, path: string): void {
  const impl = isMapNode(op) ? get(op, 'implementation') : undefined;
  if (!impl) return;
  const refs: YValue[] = [];
  if (impl.kind === 'scalar') refs.push(impl);
  else if (isMapNode(impl)) {
    const primary = get(impl, 'primary');
    if (primary?.kind === 'scalar') refs.push(primary);
    const deps = get(impl, 'dependencies');
    if (isSeqNode(deps)) refs.push(...deps.items.filter((d) => d.kind === 'scalar'));
  }
  const artifactNames = new Set<string>();
  for (const owner of [nt.def, ...model.types.chain(nt.type).map((t) => t.def)]) {
    const arts = get(owner, 'artifacts');
    if (isMapNode(arts)) for (const a of arts.pairs) artifactNames.add(a.key);
  }
  for (const ref of refs) {
    const name = str(ref);
    if (!name || artifactNames.has(name) || !name.includes('/')) continue;
    const loc = artifactPath(model, topo.template.path, name);
    if (!loc.found) model.findings.add('TOSCA-ARTIFACT-FILE-MISSING', ref, `implementation ${name} of ${nt.name} is neither an artifact of the node nor a file of the package`, `${path}/implementation`);
  }
}

/** Package-relative path of an artifact file, or undefined if it is a URL or escapes the package. */
export function artifactPath(model: Pick<Model, 'files'>, templatePath: string, file: string): { path?: string; url?: string; found: boolean } {
  if (/^[a-z][a-z0-9+.-]*:/i.test(file)) return { url: file, found: true };
  // Tacker resolves artifact files against the template's folder; TOSCA CSARs also use package-root paths.
  const rel = joinPath(dirOf(templatePath), file);
  if (rel !== undefined && model.files.has(rel)) return { path: rel, found: true };
  const fromRoot = joinPath('', file.replace(/^\/+/, ''));
  if (fromRoot !== undefined && model.files.has(fromRoot)) return { path: fromRoot, found: true };
  return { path: rel ?? fromRoot, found: false };
}

function checkArtifact(model: Model, topo: Topology, nt: NodeTemplate, name: string, def: YValue, ctx: ValueContext): void {
  const { findings, types } = model;
  const path = `${nt.path}/artifacts/${name}`;
  const fileNode = def.kind === 'scalar' ? def : get(def, 'file');
  const file = str(fileNode);
  if (def.kind !== 'scalar') {
    const typeNode = get(def, 'type');
    const type = str(typeNode);
    if (!typeNode) findings.add('TOSCA-STRUCTURE', def, `artifact ${name} has no type`, path);
    else if (expectKind(model, type, typeNode, 'artifact', `${path}/type`)) {
      const props = get(def, 'properties');
      if (props !== undefined) checkProperties(asMap(props), types.properties(type!), `${path}/properties`, ctx, `artifact ${name} (${type})`, props);
    }
  }
  if (!file) {
    findings.add('TOSCA-STRUCTURE', def, `artifact ${name} has no file`, path);
    return;
  }
  const loc = artifactPath(model, topo.template.path, file);
  if (!loc.found) {
    findings.add('TOSCA-ARTIFACT-FILE-MISSING', fileNode, `artifact ${name} of ${nt.name}: file ${file}${loc.path ? ` (${loc.path})` : ' (outside the package)'} is not in the package`, `${path}/file`);
  }
}

function checkRequirements(model: Model, topo: Topology, nt: NodeTemplate): void {
  const { findings, types } = model;
  const defs = types.requirements(nt.type);
  const counts = new Map<string, number>();
  const reqs = get(nt.def, 'requirements');
  if (reqs && !isSeqNode(reqs) && !(reqs.kind === 'scalar' && reqs.value === null)) findings.add('TOSCA-STRUCTURE', reqs, 'requirements must be a list of single-key maps', `${nt.path}/requirements`);
  if (isSeqNode(reqs)) checkRequirementAssignments(model, topo, nt, reqs, defs, counts);
  // Lower bounds: a requirement the substitution maps outward is fulfilled by the enclosing service.
  const mappedOut = new Set<string>();
  const smReqs = get(topo.substitution, 'requirements');
  if (isMapNode(smReqs)) for (const p of smReqs.pairs) if (isSeqNode(p.value) && str(p.value.items[0]) === nt.name) mappedOut.add(str(p.value.items[1]) ?? '');
  for (const d of defs.values()) {
    const lower = d.occurrences?.[0] ?? 0;
    if (lower > 0 && (counts.get(d.name) ?? 0) < lower && !mappedOut.has(d.name)) {
      findings.add('TOSCA-REQUIREMENT-OCCURRENCES', nt.keyNode, `${nt.name} (${nt.type}) needs requirement ${d.name} at least ${lower} time(s)`, `${nt.path}/requirements`);
    }
  }
}

function checkRequirementAssignments(model: Model, topo: Topology, nt: NodeTemplate, reqs: YSeq, defs: Map<string, ReqDef>, counts: Map<string, number>): void {
  const { findings, types } = model;
  reqs.items.forEach((item, i) => {
    if (!isMapNode(item) || item.pairs.length !== 1) {
      if (!(item.kind === 'scalar' && item.value === null)) findings.add('TOSCA-STRUCTURE', item, 'a requirement assignment is a single-key map', `${nt.path}/requirements/${i}`);
      return;
    }
    const { key: rname, keyNode, value } = item.pairs[0];
    const path = `${nt.path}/requirements/${i}/${rname}`;
    const rdef = defs.get(rname);
    if (!rdef) { findings.add('TOSCA-UNKNOWN-REQUIREMENT', keyNode, `${nt.type} has no requirement ${rname}`, path); return; }
    const n = (counts.get(rname) ?? 0) + 1;
    counts.set(rname, n);
    if (rdef.occurrences && n > rdef.occurrences[1]) findings.add('TOSCA-REQUIREMENT-OCCURRENCES', keyNode, `requirement ${rname} used ${n} times, at most ${rdef.occurrences[1]} allowed`, path);
    const targetNode = value.kind === 'scalar' ? value : get(value, 'node');
    const target = str(targetNode);
    if (!target) return; // abstract requirement, fulfilled at deployment
    const tn = topo.nodes.get(target);
    if (!tn) {
      // `node:` may name a node type instead of a template (to be fulfilled by the orchestrator)
      if (value.kind !== 'scalar' && types.lookup(target) && types.kind(target) === 'node') return;
      findings.add('TOSCA-REQUIREMENT-TARGET', targetNode, `requirement ${rname} of ${nt.name}: no node template named ${target}`, path);
      return;
    }
    if (!types.lookup(tn.type) || types.kind(tn.type) !== 'node' || !types.isComplete(tn.type)) return;
    if (rdef.node && types.lookup(rdef.node) && !types.derivesFrom(tn.type, rdef.node)) {
      findings.add('TOSCA-REQUIREMENT-INCOMPATIBLE', targetNode, `requirement ${rname} of ${nt.name} needs a ${rdef.node}, but ${target} is a ${tn.type}`, path);
      return;
    }
    const capName = str(get(value, 'capability'));
    const tcaps = types.capabilities(tn.type);
    if (capName && tcaps.has(capName)) return; // symbolic capability name on the target
    const capType = capName ?? rdef.capability;
    if (!capType || !types.lookup(capType)) return;
    if (![...tcaps.values()].some((c) => types.derivesFrom(c.type, capType))) {
      findings.add('TOSCA-REQUIREMENT-INCOMPATIBLE', targetNode, `requirement ${rname} of ${nt.name} needs capability ${capType}, which ${target} (${tn.type}) does not offer`, path);
    }
  });
}

function checkSubstitution(model: Model, topo: Topology, sm: YMap, ctx: ValueContext): void {
  const { findings, types } = model;
  const base = 'topology_template/substitution_mappings';
  const typeNode = get(sm, 'node_type');
  const type = str(typeNode);
  if (!typeNode) { findings.add('TOSCA-STRUCTURE', sm, 'substitution_mappings has no node_type', base); return; }
  if (!expectKind(model, type, typeNode, 'node', `${base}/node_type`)) return;
  const props = get(sm, 'properties');
  if (isMapNode(props)) {
    const defs = types.properties(type!);
    for (const p of props.pairs) {
      const d = defs.get(p.key);
      const path = `${base}/properties/${p.key}`;
      if (!d) { findings.add('TOSCA-SUBSTITUTION-MAPPING', p.keyNode, `${type} has no property ${p.key} to map`, path); continue; }
      // TOSCA 1.3 maps a property to an input: [ input_name ]; SOL001 samples give the value itself
      if (isSeqNode(p.value) && p.value.items.length === 1 && d.type !== 'list') {
        const input = str(p.value.items[0]) ?? '';
        if (!topo.inputs.has(input)) findings.add('TOSCA-SUBSTITUTION-MAPPING', p.value, `property ${p.key} is mapped to input ${input}, which is not declared`, path);
      } else checkValue(p.value, d, path, ctx);
    }
  }
  for (const [key, defsOf, what] of [['requirements', (t: string) => types.requirements(t), 'requirement'], ['capabilities', (t: string) => types.capabilities(t), 'capability']] as const) {
    const maps = get(sm, key);
    if (!isMapNode(maps)) continue;
    const own = defsOf(type!);
    for (const p of maps.pairs) {
      const path = `${base}/${key}/${p.key}`;
      // `name: []` maps nothing (Tacker samples use it as a placeholder), so only real mappings are checked
      if (isSeqNode(p.value) && p.value.items.length === 0) continue;
      if (!own.has(p.key)) findings.add('TOSCA-SUBSTITUTION-MAPPING', p.keyNode, `${type} has no ${what} ${p.key} to map`, path);
      if (!isSeqNode(p.value)) continue;
      if (p.value.items.length !== 2) { findings.add('TOSCA-SUBSTITUTION-MAPPING', p.value, `${what} mapping must be [ <node_template>, <${what}> ]`, path); continue; }
      const tname = str(p.value.items[0]) ?? '';
      const tn = topo.nodes.get(tname);
      if (!tn) { findings.add('TOSCA-SUBSTITUTION-MAPPING', p.value.items[0], `${what} ${p.key} is mapped to ${tname}, which is not a node template`, path); continue; }
      const inner = str(p.value.items[1]) ?? '';
      if (types.lookup(tn.type) && !defsOf(tn.type).has(inner)) findings.add('TOSCA-SUBSTITUTION-MAPPING', p.value.items[1], `${tname} (${tn.type}) has no ${what} ${inner}`, path);
    }
  }
}

export function sortFindings(list: Finding[]): Finding[] {
  const seen = new Set<string>();
  return list
    .filter((f) => {
      const k = `${f.rule}|${f.file}|${f.line}|${f.column}|${f.message}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => (a.file ?? '').localeCompare(b.file ?? '') || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}
