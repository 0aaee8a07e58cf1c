import { Model, NodeTemplate } from './validator';
import { propertyValue } from './sol001';
import type { RuleId } from './rules';
import { YValue, get, isMapNode } from './yaml';

/** A descriptor an NSD refers to: a VNFD (VNF node), a PNFD (PNF node) or a nested NSD (NS node). */
export interface DescriptorReference {
  kind: 'vnfd' | 'pnfd' | 'nsd';
  /** the descriptor_id the node template gives */
  id: string;
  /** the node template that refers to it */
  node: string;
  file?: string;
  line?: number;
}

export interface NsdFacts {
  nsdId?: string; nsdName?: string; nsdVersion?: string; nsdDesigner?: string; nsdInvariantId?: string;
  /** every VNFD, PNFD and nested NSD referenced, in document order (duplicates kept: each with its place) */
  references: DescriptorReference[];
  descriptorFiles: string[];
}

export interface PnfdFacts {
  pnfdId?: string; pnfdName?: string; pnfdVersion?: string; pnfdProvider?: string; pnfdInvariantId?: string;
  descriptorFiles: string[];
}

const NS = 'tosca.nodes.nfv.NS';
const VNF = 'tosca.nodes.nfv.VNF';
const PNF = 'tosca.nodes.nfv.PNF';

/** The NS node properties that make NsdInfo (SOL001 6.8.1 / SOL005 NsdInfo). */
const NS_IDENTITY = { descriptor_id: 'nsdId', name: 'nsdName', version: 'nsdVersion', designer: 'nsdDesigner', invariant_id: 'nsdInvariantId' } as const;
/** The PNF node properties that make PnfdInfo (SOL001 7.x / SOL005 PnfdInfo). */
const PNF_IDENTITY = { descriptor_id: 'pnfdId', name: 'pnfdName', version: 'pnfdVersion', provider: 'pnfdProvider', descriptor_invariant_id: 'pnfdInvariantId' } as const;

const scalar = (v: YValue | undefined) => (v && v.kind === 'scalar' && v.value !== null ? String(v.value) : undefined);

/**
 * The node of `base` type that describes the descriptor itself: the first one of the entry
 * template (the top-level template, as for a VNFD), else the first one anywhere.
 */
function identityNode(model: Model, base: string): NodeTemplate | undefined {
  const entry = model.packageTemplates[0];
  let first: NodeTemplate | undefined;
  for (const topo of model.topologies) {
    for (const nt of topo.nodes.values()) {
      if (!model.types.lookup(nt.type) || !model.types.derivesFrom(nt.type, base)) continue;
      if (topo.template === entry) return nt;
      first ??= nt;
    }
  }
  return first;
}

/** Reads the identity properties of `nt` into `facts`; a missing one is `rule` at the node's properties. */
function identity<K extends string>(model: Model, nt: NodeTemplate, props: Record<string, K>, facts: Partial<Record<K, string>>, rule: RuleId, what: string): void {
  for (const [prop, field] of Object.entries(props) as [string, K][]) {
    const { value, explicit } = propertyValue(model, nt, prop);
    const s = scalar(value);
    if (s !== undefined) facts[field] = s;
    if (!explicit || s === undefined) {
      const at = get(nt.def, 'properties');
      model.findings.add(rule, at && isMapNode(at) ? at : nt.keyNode, `${what} node ${nt.name} does not give the mandatory property ${prop}`, `${nt.path}/properties/${prop}`);
    }
  }
}

/** Whether some node's type is unknown or incomplete: then a missing node is not reported (the cause is). */
function unsure(model: Model): boolean {
  return model.topologies.some((t) => [...t.nodes.values()].some((n) => !model.types.lookup(n.type) || !model.types.isComplete(n.type)));
}

/**
 * SOL001 clause 6 rules for an NSD: one NS node describes it (descriptor_id, name, version,
 * designer, invariant_id given explicitly); every VNF, PNF and other NS node template is a
 * reference to a VNFD, PNFD or nested NSD by its descriptor_id, located at that property.
 */
export function checkNsd(model: Model): NsdFacts {
  const facts: NsdFacts = { references: [], descriptorFiles: model.packageTemplates.map((t) => t.path) };
  const entry = model.packageTemplates[0];
  if (!entry) return facts;
  const self = identityNode(model, NS);
  if (!self) {
    if (!unsure(model)) model.findings.add('SOL001-NS-MISSING', { file: entry.path, line: entry.root.line, column: entry.root.column }, `no node template of a type derived from ${NS} in the NSD`);
    return facts;
  }
  identity(model, self, NS_IDENTITY, facts, 'SOL001-NS-PROPERTY', 'NS');
  for (const topo of model.topologies) {
    for (const nt of topo.nodes.values()) {
      if (nt === self || !model.types.lookup(nt.type)) continue;
      const kind = model.types.derivesFrom(nt.type, VNF) ? 'vnfd' : model.types.derivesFrom(nt.type, PNF) ? 'pnfd' : model.types.derivesFrom(nt.type, NS) ? 'nsd' : undefined;
      if (!kind) continue;
      const { value } = propertyValue(model, nt, 'descriptor_id');
      const id = scalar(value);
      // A missing descriptor_id is the generic TOSCA-REQUIRED-PROPERTY finding already.
      if (id === undefined) continue;
      // The flavour templates of the NSD itself carry NS nodes of its own descriptor_id.
      if (kind === 'nsd' && id === facts.nsdId) continue;
      const at = get(get(nt.def, 'properties'), 'descriptor_id') ?? nt.keyNode;
      facts.references.push({ kind, id, node: nt.name, file: at.file, line: at.line });
    }
  }
  return facts;
}

/** SOL001 clause 7 rules for a PNFD: one PNF node describes it, its identity given explicitly. */
export function checkPnfd(model: Model): PnfdFacts {
  const facts: PnfdFacts = { descriptorFiles: model.packageTemplates.map((t) => t.path) };
  const entry = model.packageTemplates[0];
  if (!entry) return facts;
  const self = identityNode(model, PNF);
  if (!self) {
    if (!unsure(model)) model.findings.add('SOL001-PNF-MISSING', { file: entry.path, line: entry.root.line, column: entry.root.column }, `no node template of a type derived from ${PNF} in the PNFD`);
    return facts;
  }
  identity(model, self, PNF_IDENTITY, facts, 'SOL001-PNF-PROPERTY', 'PNF');
  return facts;
}

