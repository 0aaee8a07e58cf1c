/**
 * Process-wide pool of 1 MiB buffers for the byte paths (uploads to files, downloads from files).
 *
 * A buffer allocated per transfer, or per chunk, is freed only when V8 collects its owner; the
 * owner of a multi-GiB transfer lives long enough to reach the old generation, so its buffers stayed
 * resident until the next full collection (RSS crept up by the ring of every finished upload), and
 * per-chunk buffers made V8 run full collections every few tens of MiB instead. Pooled buffers are
 * allocated once and reused, so the resident set of the byte paths is bounded by the peak number of
 * concurrent transfers, not by garbage-collector timing.
 *
 * The buffers are page-aligned, so FileWriter can write them with O_DIRECT (which needs aligned
 * memory): they are carved from WebAssembly memories, which V8 maps page-aligned; Node offers no other
 * way to ask for aligned memory. Pages are committed when first touched, as with any buffer.
 */
export const POOL_BUFFER_SIZE = 1 << 20;
/**
 * Buffers per WebAssembly memory. V8 reserves ~10 GiB of address space per memory (guard regions)
 * and caps the total at ~1 TiB: one memory per 16 buffers keeps that far away.
 */
const SLAB_BUFFERS = 16;
const WASM_PAGE = 65_536;
const Wasm = (globalThis as unknown as { WebAssembly?: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly;
/** Not yet handed out, from the newest memory. */
let carved: Buffer[] = [];

function allocate(): Buffer {
  if (!carved.length) {
    try {
      const memory = new Wasm!.Memory({ initial: (SLAB_BUFFERS * POOL_BUFFER_SIZE) / WASM_PAGE });
      carved = Array.from({ length: SLAB_BUFFERS }, (_, i) => Buffer.from(memory.buffer, i * POOL_BUFFER_SIZE, POOL_BUFFER_SIZE));
    } catch {
      // No address space left for another memory: an ordinary buffer (FileWriter then writes it
      // through the page cache).
      return Buffer.allocUnsafeSlow(POOL_BUFFER_SIZE);
    }
  }
  return carved.pop()!;
}

/** Idle buffers kept for reuse; more than this (after a burst of concurrent transfers) go to the GC. */
const MAX_IDLE = 16;

const idle: Buffer[] = [];

export function takeBuffer(): Buffer {
  return idle.pop() ?? allocate();
}

/** Returns a buffer to the pool. Only once nothing reads it any more (a write's callback has run). */
export function giveBack(buf: Buffer): void {
  if (idle.length < MAX_IDLE && buf.length === POOL_BUFFER_SIZE) idle.push(buf);
}
