import { Transform, type Readable, type TransformCallback } from 'node:stream';

/** How much progress a peer owes while Depot waits for its bytes (a request body, a fetched file). */
export interface StallPolicy {
  /** the window: a peer that owes progress this long without making it has stalled */
  stallMs: number;
  /** fewer bytes per second than this, over the window, is no progress (0: any byte is progress) */
  minBytesPerSecond: number;
}

/** What the guard saw when it gave up: `bytes` arrived in the last `ms` while `required` were owed. */
export interface Stall {
  bytes: number;
  ms: number;
  required: number;
}

/** `n` bytes in `ms`, then the rule, for a message: "3 bytes in 30 s (at least 30720 needed)". */
export const describeStall = (s: Stall) => `${s.bytes} byte(s) in ${Math.round(s.ms / 100) / 10} s (at least ${s.required} needed)`;

/**
 * A pass-through placed right after a peer's stream (`source`) that fails with `onStall`'s error
 * when the peer stalls: while Depot is waiting for it, fewer than minBytesPerSecond × window bytes
 * (at least one) arrive within the window. A peer trickling a byte every few seconds stalls as
 * surely as a silent one. Time during which Depot's own reader is behind (bytes buffered here or
 * in `source`: backpressure from a slow store) never counts against the peer.
 */
export class StallGuard extends Transform {
  private bytes = 0;
  /** bytes and time at the start of the current window */
  private base = 0;
  private since = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly source: Readable, policy: StallPolicy, onStall: (s: Stall) => Error) {
    super({ highWaterMark: 64 * 1024 }); // a socket read: one chunk in hand, no extra pause per chunk
    const required = Math.max(1, Math.ceil((policy.minBytesPerSecond * policy.stallMs) / 1000));
    this.timer = setInterval(() => {
      const now = Date.now();
      if (!this.waiting() || this.bytes - this.base >= required) {
        this.base = this.bytes;
        this.since = now;
      } else if (now - this.since >= policy.stallMs) {
        clearInterval(this.timer);
        this.destroy(onStall({ bytes: this.bytes - this.base, ms: now - this.since, required }));
      }
    }, Math.max(10, Math.min(1000, policy.stallMs / 4)));
    this.timer.unref();
  }

  /** Depot is waiting for the peer: everything it sent has been taken by Depot's reader. */
  private waiting(): boolean {
    return this.source.readableLength === 0 && this.readableLength === 0 && this.writableLength === 0;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    clearInterval(this.timer);
    done();
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    clearInterval(this.timer);
    done(err);
  }
}
