import { Model, NodeTemplate, Topology, artifactPath, policyEntries } from './validator';
import { functionCall, parseScalarUnit } from './values';
import { YMap, YValue, get, isMapNode, isSeqNode, plain, str } from './yaml';

export interface SoftwareImageFacts {
  id: string; name: string; provider: string; version: string;
  checksum?: { algorithm: string; hash: string }; containerFormat?: string; diskFormat?: string;
  minDisk?: number /*bytes*/; minRam?: number /*bytes*/; size?: number /*bytes*/;
  imagePath?: string /* package-relative file path of the image, or URL */;
  file?: string; line?: number;
}
export interface VnfdFacts {
  vnfdId?: string; vnfProvider?: string; vnfProductName?: string; vnfSoftwareVersion?: string;
  vnfdVersion?: string; vnfmInfo?: string[]; flavourIds: string[]; softwareImages: SoftwareImageFacts[];
  /** every file the VNFD consists of (entry + imports inside the package) */
  descriptorFiles: string[];
}

const VNF = 'tosca.nodes.nfv.VNF';
const VDU_COMPUTE = 'tosca.nodes.nfv.Vdu.Compute';
const VDU_CP = 'tosca.nodes.nfv.VduCp';
const SW_IMAGE = 'tosca.artifacts.nfv.SwImage';
/** VNF properties that identify the VNFD (SOL001 6.8.1; VnfPkgInfo attributes). */
const IDENTITY = ['descriptor_id', 'descriptor_version', 'provider', 'product_name', 'software_version', 'vnfm_info'] as const;
const VNFM_INFO = /(^etsivnfm:v[0-9]?[0-9]\.[0-9]?[0-9]\.[0-9]?[0-9]$)|(^[0-9]+:[a-zA-Z0-9.-]+$)/;

interface VnfNode { topo: Topology; node: NodeTemplate }

/** Value of a property of a node template: the assignment, else the type default (Tacker does the same for get_input). */
export function propertyValue(model: Model, nt: NodeTemplate, name: string): { value?: YValue; explicit: boolean } {
  const assigned = get(get(nt.def, 'properties'), name);
  if (assigned && !(assigned.kind === 'scalar' && assigned.value === null) && !functionCall(assigned)) return { value: assigned, explicit: true };
  const d = model.types.properties(nt.type).get(name);
  return { value: d?.default, explicit: assigned !== undefined && !!functionCall(assigned) };
}

export function checkSol001(model: Model): VnfdFacts {
  const { findings, types } = model;
  const facts: VnfdFacts = { flavourIds: [], softwareImages: [], descriptorFiles: model.packageTemplates.map((t) => t.path) };
  const entry = model.packageTemplates[0];
  if (!entry) return facts;

  const vnfs: VnfNode[] = [];
  for (const topo of model.topologies) {
    let inThis: NodeTemplate | undefined;
    for (const nt of topo.nodes.values()) {
      if (!types.lookup(nt.type) || !types.derivesFrom(nt.type, VNF)) continue;
      if (inThis) findings.add('SOL001-VNF-MULTIPLE', nt.keyNode, `a second VNF node ${nt.name} in this template (first: ${inThis.name}); SOL001 allows one per deployment flavour`, nt.path);
      else { inThis = nt; vnfs.push({ topo, node: nt }); }
    }
    checkVdus(model, topo);
    checkUnreferenced(model, topo);
    checkPolicies(model, topo);
  }
  const unsure = model.topologies.some((t) => [...t.nodes.values()].some((n) => !types.lookup(n.type) || !types.isComplete(n.type)));
  if (!vnfs.length && !unsure) {
    findings.add('SOL001-VNF-MISSING', { file: entry.path, line: entry.root.line, column: entry.root.column }, `no node template of a type derived from ${VNF} in the VNFD`);
  }

  // The VNFD identity comes from the top-level VNF node (the entry file's), else the first flavour's.
  const identity = vnfs.find((v) => v.topo.template === entry) ?? vnfs[0];
  if (identity) {
    const nt = identity.node;
    for (const name of IDENTITY) {
      const { value, explicit } = propertyValue(model, nt, name);
      // The top-level VNF node must state the identity: leaving it to type defaults is what Tacker rejects
      // with "VNF properties are mandatory". A flavour-only VNFD may rely on its type's defaults.
      if (identity.topo.template === entry ? !explicit : !value) {
        const props = get(nt.def, 'properties');
        findings.add('SOL001-VNF-PROPERTY', props && isMapNode(props) ? props : nt.keyNode, `VNF node ${nt.name} does not give the mandatory property ${name}${value ? ' (its type only has a default)' : ''}`, `${nt.path}/properties/${name}`);
      }
      if (!value) continue;
      if (name === 'vnfm_info') {
        const list = isSeqNode(value) ? value.items : [value];
        facts.vnfmInfo = list.map((v) => String(plain(v)));
        for (const v of list) if (!VNFM_INFO.test(String(plain(v)))) findings.add('SOL001-VNFM-INFO', v, `vnfm_info entry ${JSON.stringify(plain(v))} does not match etsivnfm:vX.Y.Z or <number>:<name>`, `${nt.path}/properties/vnfm_info`);
        continue;
      }
      const s = value.kind === 'scalar' && value.value !== null ? String(value.value) : undefined;
      if (name === 'descriptor_id') facts.vnfdId = s;
      else if (name === 'descriptor_version') facts.vnfdVersion = s;
      else if (name === 'provider') facts.vnfProvider = s;
      else if (name === 'product_name') facts.vnfProductName = s;
      else facts.vnfSoftwareVersion = s;
    }
  }

  // Deployment flavours: templates whose substitution_mappings substitute a VNF type.
  const flavourAt = new Map<string, YValue>();
  for (const topo of model.topologies) {
    const sm = topo.substitution;
    if (!sm) continue;
    const typeNode = get(sm, 'node_type');
    const type = str(typeNode);
    if (!type || !types.lookup(type) || !types.isComplete(type)) continue;
    if (!types.derivesFrom(type, VNF)) {
      findings.add('SOL001-SUBSTITUTION-TYPE', typeNode, `substitution_mappings node_type ${type} is not derived from ${VNF}`, 'topology_template/substitution_mappings/node_type');
      continue;
    }
    const mapped = get(get(sm, 'properties'), 'flavour_id');
    let fid = mapped?.kind === 'scalar' ? str(mapped) : undefined;
    let at: YValue | undefined = mapped;
    if (!fid) {
      const own = vnfs.find((v) => v.topo === topo);
      const v = own ? propertyValue(model, own.node, 'flavour_id').value : types.properties(type).get('flavour_id')?.default;
      fid = str(v);
      at = at ?? typeNode;
    }
    if (!fid) {
      findings.add('SOL001-VNF-PROPERTY', typeNode, `deployment flavour in ${topo.template.path} has no flavour_id`, 'topology_template/substitution_mappings/properties/flavour_id');
      continue;
    }
    const prev = flavourAt.get(fid);
    if (prev) findings.add('SOL001-FLAVOUR-DUPLICATE', at, `flavour_id ${fid} is also declared at ${prev.file}:${prev.line}`, 'topology_template/substitution_mappings/properties/flavour_id');
    else { flavourAt.set(fid, at!); facts.flavourIds.push(fid); }
  }
  if (!facts.flavourIds.length && identity) {
    const fid = str(propertyValue(model, identity.node, 'flavour_id').value);
    if (fid) facts.flavourIds.push(fid);
  }
  if (!facts.flavourIds.length && vnfs.length) findings.add('SOL001-FLAVOUR-MISSING', identity?.node.keyNode, 'no deployment flavour: neither substitution_mappings nor the VNF node give a flavour_id');

  facts.softwareImages = extractImages(model, facts.vnfProvider);
  return facts;
}

function checkVdus(model: Model, topo: Topology): void {
  const { findings, types } = model;
  for (const nt of topo.nodes.values()) {
    if (!types.lookup(nt.type)) continue;
    if (types.derivesFrom(nt.type, VDU_COMPUTE)) {
      const prof = get(get(nt.def, 'properties'), 'vdu_profile');
      const min = Number(plain(get(prof, 'min_number_of_instances')));
      const max = Number(plain(get(prof, 'max_number_of_instances')));
      if (Number.isFinite(min) && Number.isFinite(max) && min > max) findings.add('SOL001-VDU-PROFILE', prof, `vdu_profile of ${nt.name}: min_number_of_instances ${min} > max_number_of_instances ${max}`, `${nt.path}/properties/vdu_profile`);
    }
    // SOL001 v3+ types say virtual_binding occurs [1, 1] (checked generically); v2.x types do not
    if (types.derivesFrom(nt.type, VDU_CP) && !(types.requirements(nt.type).get('virtual_binding')?.occurrences?.[0] ?? 0)) {
      const reqs = get(nt.def, 'requirements');
      const bound = isSeqNode(reqs) && reqs.items.some((r) => isMapNode(r) && r.byKey.has('virtual_binding'));
      if (!bound) findings.add('SOL001-CP-BINDING', nt.keyNode, `VduCp ${nt.name} has no virtual_binding requirement to a Vdu.Compute`, `${nt.path}/requirements`);
    }
    const swData = get(get(nt.def, 'properties'), 'sw_image_data');
    if (swData) checkChecksum(model, get(swData, 'checksum'), `${nt.path}/properties/sw_image_data/checksum`);
    const arts = get(nt.def, 'artifacts');
    if (!isMapNode(arts)) continue;
    for (const a of arts.pairs) {
      const cs = get(get(a.value, 'properties'), 'checksum');
      if (cs) checkChecksum(model, cs, `${nt.path}/artifacts/${a.key}/properties/checksum`);
    }
    const images = arts.pairs.filter((a) => isMapNode(a.value) && types.lookup(str(get(a.value, 'type')) ?? '') && types.derivesFrom(str(get(a.value, 'type'))!, SW_IMAGE));
    if (images.length > 1) findings.add('SOL001-SW-IMAGE', images[1].keyNode, `${nt.name} has ${images.length} ${SW_IMAGE} artifacts; SOL001 allows one per VDU or storage`, `${nt.path}/artifacts/${images[1].key}`);
    if (images.length === 1 && !get(get(nt.def, 'properties'), 'sw_image_data') && !get(images[0].value, 'properties')) {
      findings.add('SOL001-SW-IMAGE', images[0].keyNode, `${nt.name} has a ${SW_IMAGE} artifact but neither sw_image_data nor artifact properties describe the image`, `${nt.path}/artifacts/${images[0].key}`);
    }
  }
}

const HASH_HEX_LENGTH: Record<string, number> = { 'sha-224': 56, 'sha-256': 64, 'sha-384': 96, 'sha-512': 128 };

/** A checksum that cannot be a digest of its algorithm can never match the image: say so at the VNFD. */
function checkChecksum(model: Model, cs: YValue | undefined, path: string): void {
  const algorithm = str(get(cs, 'algorithm'))?.toLowerCase();
  const hashNode = get(cs, 'hash');
  const hash = str(hashNode);
  const want = algorithm && HASH_HEX_LENGTH[algorithm];
  if (!want || hash === undefined || !hashNode) return;
  if (!new RegExp(`^[0-9a-fA-F]{${want}}$`).test(hash)) {
    model.findings.add('SOL001-CHECKSUM', hashNode, `${algorithm} hash must be ${want} hexadecimal digits, got ${hash.length} characters`, `${path}/hash`);
  }
}

/** Virtual links and storage that nothing refers to are probably a mistake (a typo in a requirement). */
function checkUnreferenced(model: Model, topo: Topology): void {
  const { types, findings } = model;
  const referenced = new Set<string>();
  for (const nt of topo.nodes.values()) {
    const reqs = get(nt.def, 'requirements');
    if (!isSeqNode(reqs)) continue;
    for (const r of reqs.items) if (isMapNode(r)) for (const p of r.pairs) referenced.add(str(p.value) ?? str(get(p.value, 'node')) ?? '');
  }
  const sm = get(topo.substitution, 'requirements');
  if (isMapNode(sm)) for (const p of sm.pairs) if (isSeqNode(p.value)) referenced.add(str(p.value.items[0]) ?? '');
  for (const nt of topo.nodes.values()) {
    if (referenced.has(nt.name) || !types.lookup(nt.type)) continue;
    const what = types.derivesFrom(nt.type, 'tosca.nodes.nfv.VnfVirtualLink') ? 'virtual link' : STORAGE.some((s) => types.derivesFrom(nt.type, s)) ? 'virtual storage' : undefined;
    if (what) findings.add('SOL001-UNREFERENCED', nt.keyNode, `${what} ${nt.name} is not referred to by any requirement`, nt.path);
  }
}
const STORAGE = ['tosca.nodes.nfv.Vdu.VirtualBlockStorage', 'tosca.nodes.nfv.Vdu.VirtualObjectStorage', 'tosca.nodes.nfv.Vdu.VirtualFileStorage'];

interface Policy { name: string; type: string; def: YMap; path: string }

function policiesOf(topo: Topology): Policy[] {
  return policyEntries(topo).flatMap((p) => (isMapNode(p.def) ? [{ name: p.name, type: str(get(p.def, 'type')) ?? '', def: p.def, path: p.path }] : []));
}

/** Scaling aspects, instantiation levels and the per-VDU/VL policies must agree with each other. */
function checkPolicies(model: Model, topo: Topology): void {
  const { findings, types } = model;
  const is = (p: Policy, t: string): boolean => !!types.lookup(p.type) && types.derivesFrom(p.type, t);
  const policies = policiesOf(topo);
  const aspects = new Map<string, { max?: number; deltas: Set<string> }>();
  for (const p of policies.filter((x) => is(x, 'tosca.policies.nfv.ScalingAspects'))) {
    const a = get(get(p.def, 'properties'), 'aspects');
    if (isMapNode(a)) for (const e of a.pairs) {
      const sd = get(e.value, 'step_deltas');
      aspects.set(e.key, { max: Number(plain(get(e.value, 'max_scale_level'))), deltas: new Set(isSeqNode(sd) ? sd.items.map((x) => str(x) ?? '') : []) });
    }
  }
  let levels: Set<string> | undefined;
  for (const p of policies.filter((x) => is(x, 'tosca.policies.nfv.InstantiationLevels'))) {
    const props = get(p.def, 'properties');
    const lv = get(props, 'levels');
    if (!isMapNode(lv)) continue;
    levels = new Set(lv.pairs.map((x) => x.key));
    const dl = get(props, 'default_level');
    if (dl && !levels.has(str(dl) ?? '')) findings.add('SOL001-SCALING-ASPECT', dl, `default_level ${str(dl)} is not one of the levels (${[...levels].join(', ')})`, `${p.path}/properties/default_level`);
    if (!dl && levels.size > 1) findings.add('SOL001-SCALING-ASPECT', lv, 'several instantiation levels but no default_level', `${p.path}/properties`);
    for (const l of lv.pairs) {
      const si = get(l.value, 'scale_info');
      if (!isMapNode(si)) continue;
      for (const s of si.pairs) {
        const asp = aspects.get(s.key);
        if (!asp) { findings.add('SOL001-SCALING-ASPECT', s.keyNode, `scale_info of level ${l.key} names aspect ${s.key}, which no ScalingAspects policy declares`, `${p.path}/properties/levels/${l.key}/scale_info/${s.key}`); continue; }
        const sl = Number(plain(get(s.value, 'scale_level')));
        if (Number.isFinite(asp.max) && sl > asp.max!) findings.add('SOL001-SCALING-CONSISTENCY', get(s.value, 'scale_level'), `scale_level ${sl} of aspect ${s.key} exceeds its max_scale_level ${asp.max}`, `${p.path}/properties/levels/${l.key}/scale_info/${s.key}`);
      }
    }
  }
  const profileOf = (target: string): { min: number; max: number } | undefined => {
    const nt = topo.nodes.get(target);
    const prof = nt && get(get(nt.def, 'properties'), 'vdu_profile');
    if (!prof) return undefined;
    return { min: Number(plain(get(prof, 'min_number_of_instances'))), max: Number(plain(get(prof, 'max_number_of_instances'))) };
  };
  const targetsOf = (p: Policy): string[] => { const t = get(p.def, 'targets'); return isSeqNode(t) ? t.items.map((x) => str(x) ?? '') : []; };
  const checkInstances = (p: Policy, n: YValue | undefined, path: string, what: string): void => {
    const k = Number(plain(n));
    if (!Number.isFinite(k)) return;
    for (const t of targetsOf(p)) {
      const prof = profileOf(t);
      if (prof && (k < prof.min || k > prof.max)) findings.add('SOL001-SCALING-CONSISTENCY', n, `${what}: ${k} instances of ${t} is outside its vdu_profile [${prof.min}, ${prof.max}]`, path);
    }
  };
  for (const p of policies) {
    const props = get(p.def, 'properties');
    if (is(p, 'tosca.policies.nfv.VduScalingAspectDeltas') || is(p, 'tosca.policies.nfv.VirtualLinkBitrateScalingAspectDeltas')) {
      const an = get(props, 'aspect');
      const asp = aspects.get(str(an) ?? '');
      if (an && !asp) { findings.add('SOL001-SCALING-ASPECT', an, `aspect ${str(an)} is not declared by a ScalingAspects policy`, `${p.path}/properties/aspect`); continue; }
      const deltas = get(props, 'deltas');
      if (asp && isMapNode(deltas)) for (const d of deltas.pairs) {
        if (!asp.deltas.has(d.key)) findings.add('SOL001-SCALING-CONSISTENCY', d.keyNode, `delta ${d.key} is not among the step_deltas of aspect ${str(an)} (${[...asp.deltas].join(', ')})`, `${p.path}/properties/deltas/${d.key}`);
      }
    } else if (is(p, 'tosca.policies.nfv.VduInstantiationLevels') || is(p, 'tosca.policies.nfv.VirtualLinkInstantiationLevels')) {
      const lv = get(props, 'levels');
      if (!isMapNode(lv)) continue;
      for (const l of lv.pairs) {
        if (levels && !levels.has(l.key)) findings.add('SOL001-SCALING-ASPECT', l.keyNode, `level ${l.key} is not declared by the InstantiationLevels policy`, `${p.path}/properties/levels/${l.key}`);
        if (is(p, 'tosca.policies.nfv.VduInstantiationLevels')) checkInstances(p, get(l.value, 'number_of_instances'), `${p.path}/properties/levels/${l.key}`, `level ${l.key}`);
      }
    } else if (is(p, 'tosca.policies.nfv.VduInitialDelta')) {
      checkInstances(p, get(get(props, 'initial_delta'), 'number_of_instances'), `${p.path}/properties/initial_delta`, 'initial_delta');
    }
  }
}

function sizeOf(v: YValue | undefined): number | undefined {
  const n = parseScalarUnit('scalar-unit.size', plain(v));
  return n === undefined ? undefined : Math.round(n);
}

/** Software images from sw_image_data (SOL001 2.x/3.x) and from SwImage artifact properties (3.x+). */
function extractImages(model: Model, vnfProvider: string | undefined): SoftwareImageFacts[] {
  const { types } = model;
  const out: SoftwareImageFacts[] = [];
  const seen = new Set<string>();
  for (const topo of model.topologies) {
    for (const nt of topo.nodes.values()) {
      if (!types.lookup(nt.type)) continue;
      const arts = get(nt.def, 'artifacts');
      const imageArt = isMapNode(arts) ? arts.pairs.find((a) => isMapNode(a.value) && types.lookup(str(get(a.value, 'type')) ?? '') && types.derivesFrom(str(get(a.value, 'type'))!, SW_IMAGE)) : undefined;
      const data = get(get(nt.def, 'properties'), 'sw_image_data') ?? (imageArt ? get(imageArt.value, 'properties') : undefined);
      if (!isMapNode(data)) continue;
      const file = str(get(imageArt?.value, 'file'));
      const loc = file ? artifactPath(model, topo.template.path, file) : undefined;
      const cs = get(data, 'checksum');
      const algorithm = str(get(cs, 'algorithm'));
      const hash = str(get(cs, 'hash'));
      const img: SoftwareImageFacts = {
        id: nt.name,
        name: str(get(data, 'name')) ?? '',
        provider: str(get(data, 'provider')) ?? vnfProvider ?? '',
        version: str(get(data, 'version')) ?? '',
        ...(algorithm && hash ? { checksum: { algorithm: algorithm.toUpperCase(), hash } } : {}),
        ...(str(get(data, 'container_format')) ? { containerFormat: str(get(data, 'container_format'))!.toUpperCase() } : {}),
        ...(str(get(data, 'disk_format')) ? { diskFormat: str(get(data, 'disk_format'))!.toUpperCase() } : {}),
        minDisk: sizeOf(get(data, 'min_disk')),
        minRam: sizeOf(get(data, 'min_ram')) ?? 0,
        size: sizeOf(get(data, 'size')),
        ...(loc ? { imagePath: loc.url ?? loc.path } : {}),
        file: data.file,
        line: data.line,
      };
      const key = JSON.stringify([img.id, img.name, img.version, img.imagePath, img.checksum]);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(img);
    }
  }
  return out;
}

