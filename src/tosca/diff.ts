import type { Model, Topology } from './validator';
import { policyEntries } from './validator';
import { YValue, get, plain, str } from './yaml';

/**
 * What changed between two VNFDs, element by element: node templates are matched by name within
 * the topology of the same deployment flavour (the flavour id of its substitution mappings, else
 * the file), policies by name, and inside a matched element every differing value is reported with
 * its YAML path, so "VDU1's image version 1.0 → 2.0" is one change, not a rewritten file.
 */
export type VnfdChangeCategory =
  | 'vnf' | 'flavour' | 'vdu' | 'storage' | 'connection-point' | 'virtual-link' | 'software-image'
  | 'instantiation-level' | 'scaling' | 'policy' | 'group' | 'node' | 'input' | 'template';

export interface VnfdChange {
  change: 'added' | 'removed' | 'changed';
  category: VnfdChangeCategory;
  /** The node template, policy, group or input concerned; the flavour id for a flavour. */
  element?: string;
  /** YAML path of the changed value, e.g. `topology_template/node_templates/VDU1/properties/name`. */
  path: string;
  /** Where it is: in the second VNFD, or in the first for what was removed. */
  file: string;
  line?: number;
  column?: number;
  before?: unknown;
  after?: unknown;
}

const NODE_CATEGORIES: [string, VnfdChangeCategory][] = [
  ['tosca.nodes.nfv.VNF', 'vnf'],
  ['tosca.nodes.nfv.Vdu.Compute', 'vdu'],
  ['tosca.nodes.nfv.Vdu.VirtualBlockStorage', 'storage'],
  ['tosca.nodes.nfv.Vdu.VirtualObjectStorage', 'storage'],
  ['tosca.nodes.nfv.Vdu.VirtualFileStorage', 'storage'],
  ['tosca.nodes.nfv.Vdu.VirtualStorage', 'storage'],
  ['tosca.nodes.nfv.VnfVirtualLink', 'virtual-link'],
  ['tosca.nodes.nfv.Cp', 'connection-point'],
];
const POLICY_CATEGORIES: [string, VnfdChangeCategory][] = [
  ['tosca.policies.nfv.InstantiationLevels', 'instantiation-level'],
  ['tosca.policies.nfv.VduInstantiationLevels', 'instantiation-level'],
  ['tosca.policies.nfv.VirtualLinkInstantiationLevels', 'instantiation-level'],
  ['tosca.policies.nfv.ScalingAspects', 'scaling'],
  ['tosca.policies.nfv.VduScalingAspectDeltas', 'scaling'],
  ['tosca.policies.nfv.VirtualLinkBitrateScalingAspectDeltas', 'scaling'],
  ['tosca.policies.nfv.VduInitialDelta', 'scaling'],
  ['tosca.policies.nfv.VirtualLinkBitrateInitialDelta', 'scaling'],
];
const SW_IMAGE = 'tosca.artifacts.nfv.SwImage';
/** VNF properties that describe the deployment flavour rather than the product. */
const FLAVOUR_PROPERTIES = new Set(['flavour_id', 'flavour_description']);

/** One side of a comparison: an element's definition and how to classify what changed inside it. */
interface Element {
  category: VnfdChangeCategory;
  name?: string;
  def: YValue;
  /** Where the element is named (its key), for a whole element added or removed. */
  key?: YValue;
  file: string;
  path: string;
  /** The category of a value below the element, by its path relative to the element. */
  refine?: (rel: string[]) => VnfdChangeCategory | undefined;
}

function categoryOf(model: Model, type: string, table: [string, VnfdChangeCategory][], fallback: VnfdChangeCategory): VnfdChangeCategory {
  if (!type || !model.types.lookup(type)) return fallback;
  return table.find(([t]) => model.types.derivesFrom(type, t))?.[1] ?? fallback;
}

/**
 * What a template is, independent of its file name (vendors rename files between versions): the
 * deployment flavour its topology substitutes (its flavour_id), else the entry definitions, else
 * its path.
 */
function roles(model: Model): Map<string, string> {
  const out = new Map<string, string>();
  for (const t of model.topologies) {
    const id = str(get(get(t.substitution, 'properties'), 'flavour_id'));
    if (id) out.set(t.template.path, `flavour ${id}`);
  }
  const entry = model.packageTemplates[0];
  if (entry && !out.has(entry.path)) out.set(entry.path, 'entry');
  for (const t of model.packageTemplates) if (!out.has(t.path)) out.set(t.path, t.path);
  return out;
}

function elements(model: Model): Map<string, Element> {
  const out = new Map<string, Element>();
  const role = roles(model);
  for (const topo of model.topologies) {
    const key = role.get(topo.template.path)!;
    const file = topo.template.path;
    for (const nt of topo.nodes.values()) {
      const category = categoryOf(model, nt.type, NODE_CATEGORIES, 'node');
      const artifacts = get(nt.def, 'artifacts');
      const refine = (rel: string[]): VnfdChangeCategory | undefined => {
        if (rel[0] === 'properties' && rel[1] === 'sw_image_data') return 'software-image';
        if (rel[0] === 'artifacts' && rel[1]) {
          const type = str(get(get(artifacts, rel[1]), 'type')) ?? '';
          if (type && model.types.lookup(type) && model.types.derivesFrom(type, SW_IMAGE)) return 'software-image';
        }
        if (category === 'vnf' && rel[0] === 'properties' && FLAVOUR_PROPERTIES.has(rel[1])) return 'flavour';
        return undefined;
      };
      out.set(`${key}\0node\0${nt.name}`, { category, name: nt.name, def: nt.def, key: nt.keyNode, file, path: nt.path, refine });
    }
    for (const p of policyEntries(topo)) {
      const type = str(get(p.def, 'type')) ?? '';
      out.set(`${key}\0policy\0${p.name}`, { category: categoryOf(model, type, POLICY_CATEGORIES, 'policy'), name: p.name, def: p.def, key: p.keyNode, file, path: p.path });
    }
    for (const [name, def] of topo.groups) out.set(`${key}\0group\0${name}`, { category: 'group', name, def, file, path: `topology_template/groups/${name}` });
    for (const [name, def] of topo.inputs) out.set(`${key}\0input\0${name}`, { category: 'input', name, def, file, path: `topology_template/inputs/${name}` });
    if (topo.substitution) out.set(`${key}\0substitution`, { category: 'flavour', name: key.replace(/^flavour /, ''), def: topo.substitution, file, path: 'topology_template/substitution_mappings' });
    // The rest of the template (imports, types, metadata, outputs...): compared key by key.
    const rest = (pairs: { key: string; value: YValue }[], prefix: string, skip: Set<string>) => {
      for (const p of pairs) if (!skip.has(p.key)) out.set(`${key}\0template\0${prefix}${p.key}`, { category: 'template', def: p.value, file, path: `${prefix}${p.key}` });
    };
    rest(topo.node.pairs, 'topology_template/', new Set(['node_templates', 'policies', 'groups', 'inputs', 'substitution_mappings']));
  }
  for (const t of model.packageTemplates) {
    for (const p of t.root.pairs) {
      if (p.key === 'topology_template') continue;
      out.set(`${role.get(t.path)}\0template\0${p.key}`, { category: 'template', def: p.value, file: t.path, path: p.key });
    }
  }
  return out;
}

/** The changes that turn VNFD `a` into VNFD `b` (either may be absent: a package without a VNFD). */
export function diffVnfd(a: Model | undefined, b: Model | undefined): VnfdChange[] {
  const before = a ? elements(a) : new Map<string, Element>();
  const after = b ? elements(b) : new Map<string, Element>();
  const changes: VnfdChange[] = [];
  const at = (v: YValue) => ({ line: v.line, column: v.column });
  const whole = (e: Element, change: 'added' | 'removed') => {
    // A flavour comes or goes with its substitution mappings; its nodes are listed one by one too.
    changes.push({ change, category: e.category, element: e.name, path: e.path, file: e.file, ...at(e.key ?? e.def), ...(change === 'added' ? { after: plain(e.def) } : { before: plain(e.def) }) });
  };
  for (const [key, e] of before) if (!after.has(key)) whole(e, 'removed');
  for (const [key, e] of after) {
    const old = before.get(key);
    if (!old) {
      whole(e, 'added');
      continue;
    }
    compare(old.def, e.def, [], (change, rel, x, y) => {
      const where = y ?? x!;
      changes.push({
        change, category: e.refine?.(rel) ?? e.category, element: e.name, path: [e.path, ...rel].join('/'), file: y ? e.file : old.file, ...at(where),
        ...(x !== undefined && { before: plain(x) }), ...(y !== undefined && { after: plain(y) }),
      });
    });
  }
  const order: VnfdChangeCategory[] = ['vnf', 'flavour', 'vdu', 'software-image', 'storage', 'connection-point', 'virtual-link', 'instantiation-level', 'scaling', 'policy', 'group', 'node', 'input', 'template'];
  return changes.sort((x, y) => order.indexOf(x.category) - order.indexOf(y.category) || x.file.localeCompare(y.file) || (x.line ?? 0) - (y.line ?? 0) || x.path.localeCompare(y.path));
}

type Report = (change: VnfdChange['change'], rel: string[], before?: YValue, after?: YValue) => void;

/** Walks two subtrees together; reports the deepest differing values (a scalar, or a key or item that is only on one side). */
function compare(x: YValue, y: YValue, rel: string[], report: Report): void {
  if (x.kind === 'map' && y.kind === 'map') {
    for (const p of x.pairs) {
      const q = y.byKey.get(p.key);
      if (!q) report('removed', [...rel, p.key], p.value, undefined);
      else compare(p.value, q.value, [...rel, p.key], report);
    }
    for (const q of y.pairs) if (!x.byKey.has(q.key)) report('added', [...rel, q.key], undefined, q.value);
    return;
  }
  if (x.kind === 'seq' && y.kind === 'seq') {
    const n = Math.max(x.items.length, y.items.length);
    for (let i = 0; i < n; i++) {
      const [u, v] = [x.items[i], y.items[i]];
      if (!v) report('removed', [...rel, String(i)], u, undefined);
      else if (!u) report('added', [...rel, String(i)], undefined, v);
      else compare(u, v, [...rel, String(i)], report);
    }
    return;
  }
  if (x.kind === 'scalar' && y.kind === 'scalar' && x.value === y.value) return;
  report('changed', rel, x, y);
}
