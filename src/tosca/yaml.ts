import { createHash } from 'node:crypto';
import type { Alias, Document, LineCounter, Node as YamlNode, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';

// The YAML parser (~70 modules) is loaded at the first parse: a `depot validate` whose files are all
// in the parse cache (ParseStore below) never loads it.
let yamlLib: typeof import('yaml') | undefined;
const Y = (): typeof import('yaml') => (yamlLib ??= require('yaml') as typeof import('yaml'));
import type { Finding } from '../common/findings';

/**
 * Our own immutable YAML tree. Every node carries its position so that any later check can point at
 * file:line:column. Aliases are shared (not copied) subtrees, so an alias bomb costs no memory here;
 * the expanded size is bounded separately (see `Limits.maxNodes`).
 */
export interface Located { file: string; line: number; column: number }
export interface YScalar extends Located { kind: 'scalar'; value: string | number | boolean | null; quoted: boolean }
export interface YSeq extends Located { kind: 'seq'; items: YValue[] }
export interface YPair { key: string; keyNode: YScalar; value: YValue }
export interface YMap extends Located { kind: 'map'; pairs: YPair[]; byKey: Map<string, YPair> }
export type YValue = YScalar | YSeq | YMap;

export interface Limits { maxFileBytes: number; maxDepth: number; maxAliases: number; maxNodes: number }
// The yaml parser reads about 1 MB/s of dense YAML: 2 MiB per file (ETSI type files are ~100 KB) keeps
// the worst case to seconds; the descriptor as a whole may be four times that.
export const DEFAULT_LIMITS: Limits = { maxFileBytes: 2 * 1024 * 1024, maxDepth: 64, maxAliases: 256, maxNodes: 500_000 };
export const TOTAL_BYTES_FACTOR = 4;

export interface LoadedYaml {
  root?: YValue;
  /** findings with positions; `file` is filled in by `loadYaml` */
  findings: Finding[];
}

export function isMapNode(v: YValue | undefined): v is YMap { return v?.kind === 'map'; }
export function isSeqNode(v: YValue | undefined): v is YSeq { return v?.kind === 'seq'; }
export function isScalarNode(v: YValue | undefined): v is YScalar { return v?.kind === 'scalar'; }
export function get(v: YValue | undefined, key: string): YValue | undefined {
  return v?.kind === 'map' ? v.byKey.get(key)?.value : undefined;
}
export function str(v: YValue | undefined): string | undefined {
  return v?.kind === 'scalar' && v.value !== null ? String(v.value) : undefined;
}
export function isNull(v: YValue | undefined): boolean { return v === undefined || (v.kind === 'scalar' && v.value === null); }

/** Plain JS value of a subtree (for messages, facts and comparisons). */
export function plain(v: YValue | undefined): unknown {
  if (!v) return undefined;
  if (v.kind === 'scalar') return v.value;
  if (v.kind === 'seq') return v.items.map(plain);
  const o: Record<string, unknown> = {};
  for (const p of v.pairs) o[p.key] = plain(p.value);
  return o;
}

// Parsed files are immutable, so identical bytes (the ETSI type files every package ships, or the same
// package validated twice) are parsed once. Keyed by content digest and limits, bounded LRU.
const CACHE_MAX_FILES = 128;
const CACHE_MAX_BYTES = 32 * 1024 * 1024;
let cachedBytes = 0;
const cache = new Map<string, { root?: YValue; findings: Finding[]; file: string; bytes: number }>();

/**
 * A second cache level below the in-process one, across processes: `depot validate` keeps parsed
 * files on disk (src/cli/parse-cache.ts), so the type files a vendor's packages ship are parsed once,
 * not at every run. `key` names the bytes (SHA-256) and the limits; values carry no file name.
 */
export interface ParseStore {
  get(key: string): LoadedYaml | undefined;
  set(key: string, parsed: LoadedYaml): void;
}
let parseStore: ParseStore | undefined;

export function useParseStore(store: ParseStore | undefined): void {
  parseStore = store;
}

function parseStored(bytes: Buffer, limits: Limits): LoadedYaml {
  if (!parseStore) return parseBytes(bytes, limits);
  const key = `${createHash('sha256').update(bytes).digest('hex')}-${limits.maxFileBytes}-${limits.maxDepth}-${limits.maxAliases}-${limits.maxNodes}`;
  const stored = parseStore.get(key);
  if (stored) return stored;
  const parsed = parseBytes(bytes, limits);
  parseStore.set(key, parsed);
  return parsed;
}

export function loadYaml(file: string, bytes: Buffer, limits: Limits): LoadedYaml {
  const digest = createHash('sha1').update(bytes).digest('hex') + `/${limits.maxFileBytes}/${limits.maxDepth}/${limits.maxAliases}/${limits.maxNodes}`;
  let hit = cache.get(digest);
  if (hit) {
    cache.delete(digest);
    cache.set(digest, hit);
  } else {
    const parsed = parseStored(bytes, limits);
    if (parsed.root) stampFile(parsed.root, file);
    hit = { root: parsed.root, findings: parsed.findings.map((f) => ({ ...f, file })), file, bytes: bytes.length };
    // bounded by count and by source size, so that uploads of large YAML cannot pin memory
    if (bytes.length <= CACHE_MAX_BYTES / 8) {
      cache.set(digest, hit);
      cachedBytes += bytes.length;
      for (const [k, v] of cache) {
        if (cache.size <= CACHE_MAX_FILES && cachedBytes <= CACHE_MAX_BYTES) break;
        cache.delete(k);
        cachedBytes -= v.bytes;
      }
    }
  }
  if (hit.file === file) return hit;
  // Same content under another name: positions are the same, only the file name differs.
  return { root: hit.root && relocate(hit.root, file, new Map()), findings: hit.findings.map((f) => ({ ...f, file })) };
}

function relocate(v: YValue, file: string, seen: Map<YValue, YValue>): YValue {
  const done = seen.get(v);
  if (done) return done;
  let out: YValue;
  if (v.kind === 'scalar') out = { ...v, file };
  else if (v.kind === 'seq') {
    const s: YSeq = { ...v, file, items: [] };
    seen.set(v, s);
    s.items = v.items.map((i) => relocate(i, file, seen));
    out = s;
  } else {
    const m: YMap = { ...v, file, pairs: [], byKey: new Map() };
    seen.set(v, m);
    for (const p of v.pairs) {
      const np: YPair = { key: p.key, keyNode: { ...p.keyNode, file }, value: relocate(p.value, file, seen) };
      m.pairs.push(np);
      m.byKey.set(np.key, np);
    }
    out = m;
  }
  seen.set(v, out);
  return out;
}

function parseBytes(bytes: Buffer, limits: Limits): LoadedYaml {
  const findings: Finding[] = [];
  if (bytes.length > limits.maxFileBytes) {
    findings.push({ rule: 'TOSCA-FILE-TOO-LARGE', severity: 'error', message: `file is ${bytes.length} bytes, more than the limit of ${limits.maxFileBytes}`, line: 1, column: 1 });
    return { findings };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    findings.push({ rule: 'TOSCA-YAML-SYNTAX', severity: 'error', message: 'file is not valid UTF-8', line: 1, column: 1 });
    return { findings };
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  // The YAML parser recurses per nesting level; refuse absurd nesting before it can exhaust the stack.
  const deep = nestingBeyond(text, limits.maxDepth * 2 + 8);
  if (deep) {
    findings.push({ rule: 'TOSCA-DEPTH-LIMIT', severity: 'error', message: `nesting deeper than ${limits.maxDepth} levels`, line: deep.line, column: deep.column });
    return { findings };
  }
  let parsed = parseText(text);
  if ('crash' in parsed) {
    findings.push({ rule: 'TOSCA-DEPTH-LIMIT', severity: 'error', message: `YAML nesting too deep to parse (${parsed.crash})`, line: 1, column: 1 });
    return { findings };
  }
  if (parsed.doc.errors.length) {
    // PyYAML (Tacker, tosca-parser) accepts flow collections continued at a lower indentation, and
    // the ETSI SOL001 v2.6.1 type files shipped by Tacker depend on that. Re-indent such lines and keep
    // the result only if it then parses cleanly, reporting each repaired line as a warning.
    const repair = repairFlowIndent(text);
    const retry = repair.lines.length ? parseText(repair.text) : undefined;
    if (retry && !('crash' in retry) && retry.doc.errors.length === 0) {
      for (const line of repair.lines) {
        findings.push({ rule: 'TOSCA-YAML-FLOW-INDENT', severity: 'warning', message: 'flow collection continues at a lower indentation than its key; YAML 1.2 forbids this (accepted as PyYAML does)', line, column: 1 });
      }
      parsed = retry;
    } else {
      const lines = new Set<number>();
      for (const e of parsed.doc.errors) {
        const at = parsed.lc.linePos(e.pos[0]);
        // one error per line: the parser's follow-up complaints about the same spot add nothing
        if (lines.has(at.line)) continue;
        lines.add(at.line);
        findings.push({ rule: 'TOSCA-YAML-SYNTAX', severity: 'error', message: e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''), line: at.line, column: at.col });
      }
      return { findings };
    }
  }
  const conv = new Converter(parsed.doc, parsed.lc, limits, findings);
  const root = parsed.doc.contents ? conv.convert(parsed.doc.contents as YamlNode, 0) : undefined;
  if (conv.aliasCount > 0 && root && conv.expandedSize(root) > limits.maxNodes) {
    findings.push({ rule: 'TOSCA-ALIAS-LIMIT', severity: 'error', message: `aliases expand the document to more than ${limits.maxNodes} nodes (alias bomb?)`, line: conv.firstAlias?.line ?? 1, column: conv.firstAlias?.column ?? 1 });
    return { findings };
  }
  if (conv.nodeCount > limits.maxNodes) {
    findings.push({ rule: 'TOSCA-NODE-LIMIT', severity: 'error', message: `document has more than ${limits.maxNodes} nodes`, line: 1, column: 1 });
    return { findings };
  }
  return { root, findings };
}

/**
 * Cheap upper bound of the nesting depth (flow brackets plus block indentation levels); returns the first
 * place where it exceeds `bound`. Quotes and comments are skipped roughly: it only guards the parser.
 */
function nestingBeyond(text: string, bound: number): { line: number; column: number } | undefined {
  const indents: number[] = [];
  let flow = 0;
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    let col = 0;
    while (i < n && (text[i] === ' ' || text[i] === '-' && (text[i + 1] === ' ' || text[i + 1] === '\n'))) { i++; col++; }
    if (flow === 0 && i < n && text[i] !== '\n' && text[i] !== '#') {
      while (indents.length && indents[indents.length - 1] >= col) indents.pop();
      indents.push(col);
    }
    let quote = '';
    for (; i < n && text[i] !== '\n'; i++, col++) {
      const ch = text[i];
      if (quote) { if (ch === quote) quote = ''; continue; }
      if (ch === '#' && (col === 0 || text[i - 1] === ' ')) { while (i < n && text[i] !== '\n') i++; break; }
      if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '[' || ch === '{') {
        if (++flow + indents.length > bound) return { line, column: col + 1 };
      } else if ((ch === ']' || ch === '}') && flow > 0) flow--;
    }
    if (flow + indents.length > bound) return { line, column: 1 };
    i++;
    line++;
  }
  return undefined;
}

function parseText(text: string): { doc: Document.Parsed; lc: LineCounter } | { crash: string } {
  const lc = new (Y().LineCounter)();
  try {
    // uniqueKeys:false: duplicates are reported by the converter with both positions instead of aborting.
    const doc = Y().parseDocument(text, { lineCounter: lc, uniqueKeys: false, prettyErrors: false, merge: false, strict: true });
    return { doc, lc };
  } catch (e) {
    return { crash: e instanceof RangeError ? 'stack exhausted' : String(e) };
  }
}

/** Indent lines that continue a flow collection at or left of the indentation of the line that opened it. */
export function repairFlowIndent(text: string): { text: string; lines: number[] } {
  const src = text.split('\n');
  const fixed: number[] = [];
  let depth = 0;
  // column of the bracket that opened the outermost flow collection: continuation lines must go right of it
  let openColumn = 0;
  for (let i = 0; i < src.length; i++) {
    let line = src[i];
    const indent = line.length - line.trimStart().length;
    if (depth > 0 && line.trim() !== '' && indent <= openColumn) {
      line = ' '.repeat(openColumn + 1) + line.trimStart();
      src[i] = line;
      fixed.push(i + 1);
    }
    let quote = '';
    for (let c = 0; c < line.length; c++) {
      const ch = line[c];
      if (quote) {
        if (ch === quote) quote = '';
        continue;
      }
      if (ch === '#' && (c === 0 || line[c - 1] === ' ')) break;
      if ((ch === '"' || ch === "'") && (c === 0 || /[\s[{,:]/.test(line[c - 1]))) quote = ch;
      else if (ch === '[' || ch === '{') {
        if (depth === 0) openColumn = c;
        depth++;
      } else if ((ch === ']' || ch === '}') && depth > 0) depth--;
    }
  }
  return { text: src.join('\n'), lines: fixed };
}

class Converter {
  aliasCount = 0;
  nodeCount = 0;
  firstAlias?: { line: number; column: number };
  private readonly memo = new Map<YamlNode, YValue>();
  private readonly sizes = new Map<YValue, number>();

  constructor(private readonly doc: Document.Parsed, private readonly lc: LineCounter, private readonly limits: Limits, private readonly findings: Finding[]) {}

  private pos(offset: number | undefined): { line: number; column: number } {
    const p = this.lc.linePos(offset ?? 0);
    return { line: p.line, column: p.col };
  }

  private nullAt(offset: number | undefined): YScalar {
    return { kind: 'scalar', value: null, quoted: false, file: '', ...this.pos(offset) };
  }

  convert(n: YamlNode, depth: number): YValue {
    if (Y().isAlias(n)) return this.alias(n);
    const done = this.memo.get(n);
    if (done) return done;
    this.nodeCount++;
    if (depth > this.limits.maxDepth) {
      const at = this.pos(n.range?.[0]);
      this.findings.push({ rule: 'TOSCA-DEPTH-LIMIT', severity: 'error', message: `nesting deeper than ${this.limits.maxDepth} levels`, ...at });
      return this.nullAt(n.range?.[0]);
    }
    let out: YValue;
    if (Y().isScalar(n)) {
      const s = n as Scalar;
      const v = s.value;
      out = {
        kind: 'scalar',
        value: v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : String(v),
        quoted: s.type === 'QUOTE_DOUBLE' || s.type === 'QUOTE_SINGLE' || s.type === 'BLOCK_LITERAL' || s.type === 'BLOCK_FOLDED',
        file: '',
        ...this.pos(s.range?.[0]),
      };
    } else if (Y().isSeq(n)) {
      const seq: YSeq = { kind: 'seq', items: [], file: '', ...this.pos(n.range?.[0]) };
      this.memo.set(n, seq);
      for (const it of (n as YAMLSeq<YamlNode | null>).items) seq.items.push(it ? this.convert(it, depth + 1) : this.nullAt(n.range?.[0]));
      out = seq;
    } else if (Y().isMap(n)) {
      const map: YMap = { kind: 'map', pairs: [], byKey: new Map(), file: '', ...this.pos(n.range?.[0]) };
      this.memo.set(n, map);
      for (const pair of (n as YAMLMap<YamlNode | null, YamlNode | null>).items) this.pair(map, pair, depth);
      out = map;
    } else {
      out = this.nullAt((n as { range?: [number] }).range?.[0]);
    }
    this.memo.set(n, out);
    return out;
  }

  private pair(map: YMap, pair: Pair<YamlNode | null, YamlNode | null>, depth: number): void {
    const keyNode = pair.key;
    const keyOffset = keyNode && 'range' in keyNode ? keyNode.range?.[0] : undefined;
    const kpos = this.pos(keyOffset);
    let key: string;
    if (keyNode && Y().isScalar(keyNode)) key = String((keyNode as Scalar).value);
    else if (keyNode && Y().isAlias(keyNode)) key = String((this.alias(keyNode) as YScalar).value ?? '');
    else key = keyNode ? String(keyNode) : '';
    const value = pair.value ? this.convert(pair.value, depth + 1) : this.nullAt(keyOffset);
    const keyScalar: YScalar = { kind: 'scalar', value: key, quoted: false, file: '', ...kpos };
    const prev = map.byKey.get(key);
    if (prev) {
      this.findings.push({ rule: 'TOSCA-DUPLICATE-KEY', severity: 'error', message: `duplicate key "${key}" (first at line ${prev.keyNode.line}); the last one is used`, ...kpos });
      map.pairs.splice(map.pairs.indexOf(prev), 1);
    }
    const p: YPair = { key, keyNode: keyScalar, value };
    map.pairs.push(p);
    map.byKey.set(key, p);
  }

  private alias(a: Alias): YValue {
    this.aliasCount++;
    if (!this.firstAlias) this.firstAlias = this.pos(a.range?.[0]);
    if (this.aliasCount > this.limits.maxAliases) {
      if (this.aliasCount === this.limits.maxAliases + 1) {
        this.findings.push({ rule: 'TOSCA-ALIAS-LIMIT', severity: 'error', message: `more than ${this.limits.maxAliases} aliases`, ...this.pos(a.range?.[0]) });
      }
      return this.nullAt(a.range?.[0]);
    }
    const target = a.resolve(this.doc);
    const done = target ? this.memo.get(target as YamlNode) : undefined;
    // An alias to an anchor still being converted is a recursive structure: cut it.
    return done ?? this.nullAt(a.range?.[0]);
  }

  /** Size of the tree with every alias expanded, saturating just above maxNodes. */
  expandedSize(v: YValue): number {
    const cap = this.limits.maxNodes + 1;
    const known = this.sizes.get(v);
    if (known !== undefined) return known;
    this.sizes.set(v, 1); // breaks cycles
    let n = 1;
    if (v.kind === 'seq') for (const i of v.items) { n += this.expandedSize(i); if (n >= cap) break; }
    else if (v.kind === 'map') for (const p of v.pairs) { n += this.expandedSize(p.value); if (n >= cap) break; }
    n = Math.min(n, cap);
    this.sizes.set(v, n);
    return n;
  }
}

/** Fill in the file name of a freshly parsed tree (the converter builds it without one). */
export function stampFile(v: YValue, file: string, seen = new Set<YValue>()): void {
  if (seen.has(v)) return;
  seen.add(v);
  v.file = file;
  if (v.kind === 'seq') for (const i of v.items) stampFile(i, file, seen);
  else if (v.kind === 'map') for (const p of v.pairs) { p.keyNode.file = file; stampFile(p.value, file, seen); }
}
