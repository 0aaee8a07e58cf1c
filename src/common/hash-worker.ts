import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * Hashing off the main thread, for an upload's whole-package SHA-256 while the main thread hashes
 * the entries and moves the bytes (opt-in: see hashFeed for when it pays). Bytes travel through a
 * small ring of shared buffers (no allocation per chunk, at most SLOTS × SLOT_BYTES in flight), and
 * a hash can be forked (Hash.copy) to continue two ways. The worker is plain JavaScript evaluated
 * from a string: it runs the same under tsx and compiled.
 */
const SLOTS = 4;
const SLOT_BYTES = 1 << 20;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const slots = workerData.slots.map((s) => new Uint8Array(s));
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    const data = slots[m.slot].subarray(0, m.length);
    for (const id of m.ids) hashes.get(id).update(data);
    parentPort.postMessage({ slot: m.slot });
  } else if (m.op === 'new') {
    hashes.set(m.id, crypto.createHash(m.algorithm));
  } else if (m.op === 'copy') {
    hashes.set(m.to, hashes.get(m.id).copy());
  } else if (m.op === 'digest') {
    const h = hashes.get(m.id);
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, digest: h ? h.digest('hex') : undefined });
  } else if (m.op === 'drop') {
    hashes.delete(m.id);
  }
});
`;

export class HashWorker {
  private readonly worker: Worker;
  private readonly slots: Uint8Array[];
  private readonly free: number[] = [];
  private readonly waiting: (() => void)[] = [];
  private readonly digests = new Map<number, (hex: string | undefined) => void>();
  private nextId = 1;
  failed?: Error;

  constructor() {
    const shared = Array.from({ length: SLOTS }, () => new SharedArrayBuffer(SLOT_BYTES));
    this.slots = shared.map((s) => new Uint8Array(s));
    for (let i = 0; i < SLOTS; i++) this.free.push(i);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { slots: shared }, resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8 } });
    this.worker.unref();
    this.worker.on('message', (m: { slot?: number; id?: number; digest?: string }) => {
      if (m.slot !== undefined) {
        this.free.push(m.slot);
        this.waiting.shift()?.();
      } else if (m.id !== undefined) {
        this.digests.get(m.id)?.(m.digest);
        this.digests.delete(m.id);
      }
    });
    const fail = (err: Error) => {
      this.failed ??= err;
      for (const resolve of this.digests.values()) resolve(undefined);
      this.digests.clear();
      for (const wake of this.waiting.splice(0)) wake();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the hash worker exited (${code})`)));
  }

  /** Bytes of one upload: its own partly filled slot, its hashes. */
  feed(): HashFeed {
    return new HashFeed(this);
  }

  /** @internal */
  post(message: Record<string, unknown>): void {
    this.worker.postMessage(message);
  }

  /** @internal */
  newId(): number {
    return this.nextId++;
  }

  /** @internal */
  write(slot: number, at: number, bytes: Buffer): void {
    this.slots[slot].set(bytes, at);
  }

  /** @internal */
  result(id: number): Promise<string> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.digests.set(id, (hex) => (hex ? resolve(hex) : reject(new Error(`internal: no hash ${id} in the hash worker`))));
      this.worker.postMessage({ op: 'digest', id });
    });
  }

  /** @internal */
  async slot(): Promise<number> {
    while (!this.free.length && !this.failed) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.failed) throw this.failed;
    return this.free.shift()!;
  }
}

export class HashFeed {
  private current?: { slot: number; length: number; ids: number[] };
  private readonly owned = new Set<number>();

  constructor(private readonly w: HashWorker) {}

  create(algorithm: string): number {
    const id = this.w.newId();
    this.owned.add(id);
    this.w.post({ op: 'new', id, algorithm });
    return id;
  }

  /** A new hash continuing from `id`'s state (Hash.copy), after the bytes fed so far. */
  fork(id: number): number {
    this.flush();
    const to = this.w.newId();
    this.owned.add(to);
    this.w.post({ op: 'copy', id, to });
    return to;
  }

  /** Feeds `chunk` to the hashes `ids`; resolves when the bytes are copied into a slot. */
  async update(ids: number[], chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      if (this.current && !sameIds(this.current.ids, ids)) this.flush();
      if (!this.current) this.current = { slot: await this.w.slot(), length: 0, ids };
      const c = this.current;
      const n = Math.min(chunk.length - off, SLOT_BYTES - c.length);
      this.w.write(c.slot, c.length, chunk.subarray(off, off + n));
      c.length += n;
      off += n;
      if (c.length === SLOT_BYTES) this.flush();
    }
  }

  digest(id: number): Promise<string> {
    this.flush();
    this.owned.delete(id);
    return this.w.result(id);
  }

  /** Forgets every hash of this feed that was not digested (a failed upload). */
  close(): void {
    this.flush();
    for (const id of this.owned) this.w.post({ op: 'drop', id });
    this.owned.clear();
  }

  private flush(): void {
    const c = this.current;
    if (!c) return;
    this.current = undefined;
    this.w.post({ op: 'update', slot: c.slot, length: c.length, ids: c.ids });
  }
}

function sameIds(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

let shared: HashWorker | undefined;

/** The same interface, hashing on the calling thread: the default (see hashFeed). */
export class InlineFeed {
  private readonly hashes = new Map<number, Hash>();
  private next = 1;

  create(algorithm: string): number {
    this.hashes.set(this.next, createHash(algorithm));
    return this.next++;
  }

  fork(id: number): number {
    this.hashes.set(this.next, this.hashes.get(id)!.copy());
    return this.next++;
  }

  async update(ids: number[], chunk: Buffer): Promise<void> {
    for (const id of ids) this.hashes.get(id)!.update(chunk);
  }

  async digest(id: number): Promise<string> {
    const hex = this.hashes.get(id)!.digest('hex');
    this.hashes.delete(id);
    return hex;
  }

  close(): void {
    this.hashes.clear();
  }
}

/**
 * Where an upload's whole-package hash runs (configuration `onboarding.hashWorker`, on unless false).
 * A CSAR upload hashes each byte twice (the package, the entry): on the main thread alone that made
 * the 1 GiB onboarding bench 1.28× sha256sum on a quiet 2-CPU machine; with the package hash in the
 * worker, 0.95× (4 GiB: 1.09× → 0.80×), for ~0.3 s more CPU per GiB and ~15 MB of resident memory
 * (its isolate and 4 MiB of slots; npm start's MALLOC_ARENA_MAX=1 keeps the extra threads from
 * holding malloc arenas of their own). Where a second core is not there to take it, `false`.
 */
export function hashFeed(worker = false): HashFeed | InlineFeed {
  return worker ? hashWorker().feed() : new InlineFeed();
}

/** The process's hash worker, started on first use (again, if the last one died). */
export function hashWorker(): HashWorker {
  if (!shared || shared.failed) shared = new HashWorker();
  return shared;
}
