/**
 * Process-wide pool of 1 MiB buffers for the byte paths (uploads to files, downloads from files).
 *
 * A buffer allocated per transfer, or per chunk, is freed only when V8 collects its owner; the
 * owner of a multi-GiB transfer lives long enough to reach the old generation, so its buffers stayed
 * resident until the next full collection (RSS crept up by the ring of every finished upload), and
 * per-chunk buffers made V8 run full collections every few tens of MiB instead. Pooled buffers are
 * allocated once and reused, so the resident set of the byte paths is bounded by the peak number of
 * concurrent transfers, not by garbage-collector timing.
 */
export const POOL_BUFFER_SIZE = 1 << 20;
/** Idle buffers kept for reuse; more than this (after a burst of concurrent transfers) go to the GC. */
const MAX_IDLE = 16;

const idle: Buffer[] = [];

export function takeBuffer(): Buffer {
  return idle.pop() ?? Buffer.allocUnsafeSlow(POOL_BUFFER_SIZE);
}

/** Returns a buffer to the pool. Only once nothing reads it any more (a write's callback has run). */
export function giveBack(buf: Buffer): void {
  if (idle.length < MAX_IDLE && buf.length === POOL_BUFFER_SIZE) idle.push(buf);
}
