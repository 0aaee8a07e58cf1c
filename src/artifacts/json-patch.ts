/**
 * RFC 6902 JSON Patch over plain JSON documents. Small enough to own: it refuses prototype keys,
 * and reports the failing operation by index so a client knows which one to fix.
 */
export interface PatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

export class PatchError extends Error {
  constructor(readonly index: number, message: string, readonly status = 400) {
    super(`patch operation ${index}: ${message}`);
  }
}

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

export function parsePointer(pointer: string, index: number): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(index, `path ${JSON.stringify(pointer)} must start with /`);
  return pointer.slice(1).split('/').map((s) => {
    // RFC 6901: "~" is only ever "~0" or "~1"; anything else is not a pointer (it used to be kept verbatim).
    if (/~(?![01])/.test(s)) throw new PatchError(index, `path ${JSON.stringify(pointer)}: "~" must be followed by 0 or 1 (RFC 6901)`);
    const tok = s.replace(/~1/g, '/').replace(/~0/g, '~');
    if (FORBIDDEN.has(tok)) throw new PatchError(index, `path segment ${JSON.stringify(tok)} is not allowed`);
    return tok;
  });
}

/** Validates shape only (no document needed): array of objects with known ops and required members. */
export function validatePatch(body: unknown): PatchOp[] {
  if (!Array.isArray(body)) throw new PatchError(-1, 'a JSON Patch must be an array of operations');
  return body.map((op: any, i) => {
    if (!op || typeof op !== 'object' || Array.isArray(op)) throw new PatchError(i, 'must be an object');
    if (!['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(op.op)) throw new PatchError(i, `unknown op ${JSON.stringify(op.op)}`);
    if (typeof op.path !== 'string') throw new PatchError(i, 'missing path');
    const segs = parsePointer(op.path, i);
    if (!segs.length || segs.some((s) => s === '')) throw new PatchError(i, `path ${JSON.stringify(op.path)} does not name a field`);
    if (['add', 'replace', 'test'].includes(op.op) && !('value' in op)) throw new PatchError(i, 'missing value');
    if (['move', 'copy'].includes(op.op)) {
      if (typeof op.from !== 'string') throw new PatchError(i, 'missing from');
      parsePointer(op.from, i);
    }
    return op as PatchOp;
  });
}

const clone = <T>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

function parentOf(doc: any, segs: string[], index: number): { parent: any; key: string } {
  let cur = doc;
  for (const s of segs.slice(0, -1)) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, s)) {
      throw new PatchError(index, `path /${segs.join('/')} does not exist`);
    }
    cur = cur[s];
  }
  if (cur === null || typeof cur !== 'object') throw new PatchError(index, `path /${segs.join('/')} does not exist`);
  return { parent: cur, key: segs[segs.length - 1] };
}

function get(doc: any, segs: string[], index: number): unknown {
  const { parent, key } = parentOf(doc, segs, index);
  if (!Object.prototype.hasOwnProperty.call(parent, key)) throw new PatchError(index, `path /${segs.join('/')} does not exist`);
  return parent[key];
}

function arrayIndex(arr: unknown[], key: string, index: number, forAdd: boolean): number {
  if (forAdd && key === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(key)) throw new PatchError(index, `${JSON.stringify(key)} is not an array index`);
  const i = Number(key);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new PatchError(index, `array index ${i} out of range`);
  return i;
}

function add(doc: any, segs: string[], value: unknown, index: number): void {
  const { parent, key } = parentOf(doc, segs, index);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, index, true), 0, value);
  else parent[key] = value;
}

function remove(doc: any, segs: string[], index: number): unknown {
  const { parent, key } = parentOf(doc, segs, index);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, index, false), 1)[0];
  if (!Object.prototype.hasOwnProperty.call(parent, key)) throw new PatchError(index, `path /${segs.join('/')} does not exist`);
  const old = parent[key];
  delete parent[key];
  return old;
}

const equal = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Applies one operation in place. */
export function applyOp(doc: Record<string, unknown>, op: PatchOp, index: number): void {
  const segs = parsePointer(op.path, index);
  switch (op.op) {
    case 'add':
      return add(doc, segs, clone(op.value), index);
    case 'remove':
      remove(doc, segs, index);
      return;
    case 'replace':
      get(doc, segs, index);
      remove(doc, segs, index);
      return add(doc, segs, clone(op.value), index);
    case 'move': {
      const from = parsePointer(op.from!, index);
      if (segs.length > from.length && from.every((s, i) => segs[i] === s)) throw new PatchError(index, 'cannot move a value into itself');
      return add(doc, segs, remove(doc, from, index), index);
    }
    case 'copy':
      return add(doc, segs, clone(get(doc, parsePointer(op.from!, index), index)), index);
    case 'test':
      if (!equal(get(doc, segs, index), op.value)) throw new PatchError(index, `test failed at ${op.path}`, 409);
  }
}
