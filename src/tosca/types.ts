import type { Findings } from './rules';
import { YMap, YScalar, YSeq, YValue, get, isMapNode, isSeqNode, str } from './yaml';

export const TYPE_SECTIONS = {
  node_types: 'node',
  data_types: 'data',
  capability_types: 'capability',
  relationship_types: 'relationship',
  artifact_types: 'artifact',
  interface_types: 'interface',
  policy_types: 'policy',
  group_types: 'group',
} as const;
export type TypeSection = keyof typeof TYPE_SECTIONS;
export type Kind = (typeof TYPE_SECTIONS)[TypeSection];

const ROOT_KINDS: Record<string, Kind> = {
  'tosca.nodes.Root': 'node',
  'tosca.datatypes.Root': 'data',
  'tosca.capabilities.Root': 'capability',
  'tosca.relationships.Root': 'relationship',
  'tosca.artifacts.Root': 'artifact',
  'tosca.interfaces.Root': 'interface',
  'tosca.policies.Root': 'policy',
  'tosca.groups.Root': 'group',
};

/** No real TOSCA hierarchy comes near this; it bounds the cost of a hostile one. */
export const MAX_CHAIN = 64;

export const PRIMITIVES = new Set([
  'string', 'integer', 'float', 'boolean', 'timestamp', 'null', 'version', 'range', 'list', 'map',
  'scalar-unit.size', 'scalar-unit.time', 'scalar-unit.frequency', 'scalar-unit.bitrate',
]);

export interface TypeDef {
  name: string;
  section: TypeSection;
  def: YMap;
  keyNode: YScalar;
  /** true for the built-in catalog: trusted, never re-checked */
  builtin: boolean;
}

/** A property, attribute, input or parameter definition. */
export interface PropDef {
  name: string;
  type: string;
  typeNode?: YValue;
  required: boolean;
  default?: YValue;
  constraints?: YSeq;
  entrySchema?: PropDef;
  keySchema?: PropDef;
  node: YValue;
}

export function parsePropDef(name: string, node: YValue): PropDef {
  const typeNode = get(node, 'type');
  const req = get(node, 'required');
  const constraints = get(node, 'constraints');
  const es = get(node, 'entry_schema');
  const ks = get(node, 'key_schema');
  return {
    name,
    type: str(typeNode) ?? 'string',
    typeNode,
    // TOSCA: properties are required unless they say otherwise
    required: !(req && req.kind === 'scalar' && (req.value === false || req.value === 'false')),
    default: isMapNode(node) ? node.byKey.get('default')?.value : undefined,
    constraints: isSeqNode(constraints) ? constraints : undefined,
    // entry_schema may be a bare type name (TOSCA 1.0 short form)
    entrySchema: es ? parsePropDef(`${name}[]`, es.kind === 'scalar' ? { ...es, kind: 'map', pairs: [{ key: 'type', keyNode: es, value: es }], byKey: new Map([['type', { key: 'type', keyNode: es, value: es }]]) } : es) : undefined,
    keySchema: ks ? parsePropDef(`${name}{}`, ks) : undefined,
    node,
  };
}

export interface ReqDef { name: string; capability?: string; node?: string; relationship?: string; occurrences?: [number, number]; def: YValue }

/**
 * All types in scope of one validation. Lookups fall back to the built-in catalog for names that the
 * package uses but never imports (Tacker's single-file VNFDs rely on that), with a warning.
 */
export class TypeRegistry {
  readonly types = new Map<string, TypeDef>();
  private readonly propCache = new Map<string, Map<string, PropDef>>();
  private readonly attrCache = new Map<string, Map<string, PropDef>>();
  private readonly kindCache = new Map<string, Kind | undefined>();
  private readonly implicitReported = new Set<string>();
  private readonly chainCache = new Map<string, readonly TypeDef[]>();
  private readonly reqCache = new Map<string, Map<string, ReqDef>>();

  constructor(private readonly fallback: (name: string) => TypeDef | undefined, private readonly findings: Findings) {}

  add(t: TypeDef): void {
    const prev = this.types.get(t.name);
    if (prev && !prev.builtin && !t.builtin && prev.def.file !== t.def.file) {
      this.findings.add('TOSCA-TYPE-REDEFINED', t.keyNode, `type ${t.name} is also defined in ${prev.def.file}:${prev.keyNode.line}; this definition is used`);
    }
    // A package's own definition wins over the catalog's (the package ships its own ETSI copy).
    if (prev && !prev.builtin && t.builtin) return;
    this.types.set(t.name, t);
  }

  /** Look a type up; `at` is where it is used, for the implicit-catalog warning. */
  lookup(name: string, at?: YValue): TypeDef | undefined {
    const t = this.types.get(name);
    if (t) return t;
    const f = this.fallback(name);
    if (f) {
      this.types.set(name, f);
      if (at && !this.implicitReported.has(name)) {
        this.implicitReported.add(name);
        this.findings.add('TOSCA-IMPLICIT-TYPE', at, `type ${name} is not defined or imported; using the built-in catalog's definition`);
      }
    }
    return f;
  }

  parentName(t: TypeDef): string | undefined {
    return str(get(t.def, 'derived_from'));
  }

  /**
   * The type and its ancestors, nearest first; stops at unknown parents and cycles (reported elsewhere),
   * and after MAX_CHAIN + 1 types so that a pathological hierarchy costs linear time.
   */
  chain(name: string): readonly TypeDef[] {
    const known = this.chainCache.get(name);
    if (known) return known;
    const out: TypeDef[] = [];
    const seen = new Set<string>();
    let t = this.types.get(name) ?? this.lookup(name);
    while (t && !seen.has(t.name) && out.length <= MAX_CHAIN) {
      seen.add(t.name);
      out.push(t);
      const p = this.parentName(t);
      t = p ? this.types.get(p) ?? this.lookup(p) : undefined;
    }
    this.chainCache.set(name, out);
    return out;
  }

  /** derived_from chain longer than MAX_CHAIN (reported as TOSCA-DEPTH-LIMIT at the type that crosses it) */
  tooDeep(name: string): boolean {
    return this.chain(name).length > MAX_CHAIN;
  }

  /** The derived_from chain reaches a TOSCA root or primitive (no unknown parent, no cycle). */
  isComplete(name: string): boolean {
    const chain = this.chain(name);
    if (chain.length > MAX_CHAIN) return false;
    const last = chain[chain.length - 1];
    if (!last) return false;
    const p = this.parentName(last);
    return !p || PRIMITIVES.has(p);
  }

  derivesFrom(name: string, ancestor: string): boolean {
    if (name === ancestor) return true;
    return this.chain(name).some((t) => t.name === ancestor);
  }

  /** Kind by the root the type derives from; a data type may derive from a primitive. */
  kind(name: string): Kind | undefined {
    if (this.kindCache.has(name)) return this.kindCache.get(name);
    let k: Kind | undefined = ROOT_KINDS[name];
    if (!k) {
      const chain = this.chain(name);
      for (const t of chain) {
        if (ROOT_KINDS[t.name]) { k = ROOT_KINDS[t.name]; break; }
      }
      const last = chain[chain.length - 1];
      if (!k && last) {
        const p = this.parentName(last);
        if (p && PRIMITIVES.has(p)) k = 'data';
        // A root-less chain (a vendor Root type): trust the section it is declared in.
        else if (!p) k = TYPE_SECTIONS[last.section];
      }
    }
    this.kindCache.set(name, k);
    return k;
  }

  /** Primitive a data type ultimately derives from (e.g. tosca.datatypes.json -> string). */
  primitiveBase(name: string): string | undefined {
    if (PRIMITIVES.has(name)) return name;
    for (const t of this.chain(name)) {
      const p = this.parentName(t);
      if (p && PRIMITIVES.has(p)) return p;
    }
    return undefined;
  }

  private collect(name: string, key: 'properties' | 'attributes', cache: Map<string, Map<string, PropDef>>): Map<string, PropDef> {
    let m = cache.get(name);
    if (m) return m;
    m = new Map();
    for (const t of [...this.chain(name)].reverse()) {
      const defs = get(t.def, key);
      if (isMapNode(defs)) for (const p of defs.pairs) m.set(p.key, parsePropDef(p.key, p.value));
    }
    cache.set(name, m);
    return m;
  }

  properties(name: string): Map<string, PropDef> { return this.collect(name, 'properties', this.propCache); }
  attributes(name: string): Map<string, PropDef> { return this.collect(name, 'attributes', this.attrCache); }

  /** Constraints a data type itself declares (for types derived from primitives), nearest first. */
  typeConstraints(name: string): YSeq[] {
    const out: YSeq[] = [];
    for (const t of this.chain(name)) {
      const c = get(t.def, 'constraints');
      if (isSeqNode(c)) out.push(c);
    }
    return out;
  }

  /** Requirement definitions (list of single-key maps), ancestors first, overridden by name. */
  requirements(name: string): Map<string, ReqDef> {
    const cached = this.reqCache.get(name);
    if (cached) return cached;
    const m = new Map<string, ReqDef>();
    this.reqCache.set(name, m);
    for (const t of [...this.chain(name)].reverse()) {
      const reqs = get(t.def, 'requirements');
      if (!isSeqNode(reqs)) continue;
      for (const item of reqs.items) {
        if (!isMapNode(item)) continue;
        for (const p of item.pairs) m.set(p.key, parseReqDef(p.key, p.value));
      }
    }
    return m;
  }

  /** Capability definitions: name -> capability type. */
  capabilities(name: string): Map<string, { type: string; def: YValue }> {
    const m = new Map<string, { type: string; def: YValue }>();
    for (const t of [...this.chain(name)].reverse()) {
      const caps = get(t.def, 'capabilities');
      if (isMapNode(caps)) for (const p of caps.pairs) m.set(p.key, { type: str(p.value) ?? str(get(p.value, 'type')) ?? '', def: p.value });
    }
    return m;
  }

  interfaces(name: string): Map<string, string> {
    const m = new Map<string, string>();
    for (const t of [...this.chain(name)].reverse()) {
      const ifs = get(t.def, 'interfaces');
      if (isMapNode(ifs)) for (const p of ifs.pairs) m.set(p.key, str(get(p.value, 'type')) ?? str(p.value) ?? '');
    }
    return m;
  }

  /** Operation names of an interface type (TOSCA 1.0-1.2: direct keys; 1.3: under `operations`). */
  operations(interfaceType: string): Set<string> {
    const ops = new Set<string>();
    for (const t of this.chain(interfaceType)) {
      for (const p of t.def.pairs) {
        if (p.key === 'operations' && isMapNode(p.value)) for (const o of p.value.pairs) ops.add(o.key);
        else if (!INTERFACE_KEYNAMES.has(p.key)) ops.add(p.key);
      }
    }
    return ops;
  }
}

const INTERFACE_KEYNAMES = new Set(['derived_from', 'version', 'metadata', 'description', 'inputs', 'operations', 'notifications']);

function parseReqDef(name: string, v: YValue): ReqDef {
  if (v.kind === 'scalar') return { name, capability: str(v), def: v };
  const rel = get(v, 'relationship');
  const occ = get(v, 'occurrences');
  let occurrences: [number, number] | undefined;
  if (isSeqNode(occ) && occ.items.length === 2) {
    const lo = Number(str(occ.items[0]));
    const hiS = str(occ.items[1]);
    occurrences = [Number.isFinite(lo) ? lo : 0, hiS === 'UNBOUNDED' ? Infinity : Number(hiS)];
  }
  return { name, capability: str(get(v, 'capability')), node: str(get(v, 'node')), relationship: str(rel) ?? str(get(rel, 'type')), occurrences, def: v };
}
