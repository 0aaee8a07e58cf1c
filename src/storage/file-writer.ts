import * as fs from 'node:fs';
import { Writable } from 'node:stream';
import { giveBack, POOL_BUFFER_SIZE as CHUNK, takeBuffer } from '../common/buffer-pool';

const BUFFERS = 4;
/**
 * Write-back while the bytes arrive, so the fsync before publishing does not write a whole GiB after
 * the last byte (0.6 s per GiB on this VM's disk, 2–4 s on an earlier one). Not too often: on ext4
 * each fdatasync commits the journal, and writes that extend the file wait for it; syncing every
 * 32 MiB made a GiB of writes take ~2 s instead of ~0.3 s here.
 */
const FLUSH_BYTES = 256 * 2 ** 20;

/**
 * A file writer that copies incoming chunks into a few pooled 1 MiB buffers and writes those.
 *
 * Why not `fs.createWriteStream`: it issues one write per incoming 64 KiB chunk and keeps each chunk
 * alive until that write is done, so the memory it holds depends on the disk's speed. Here a chunk
 * is copied (~0.1 s per GiB) and released at once; writes are 1 MiB and positioned (pwrite), up to
 * BUFFERS - 1 of them on the thread pool while the next buffer fills, and the buffers come from the
 * process-wide pool, so an upload holds at most BUFFERS MiB whatever the disk does.
 */
export class FileWriter extends Writable {
  private fd: number | undefined;
  private readonly free: Buffer[] = [];
  private current: Buffer | undefined;
  private filled = 0;
  private position = 0;
  private inFlight = 0;
  /** Pool buffers held: free, current, or being written. */
  private owned = 0;
  private failure: Error | undefined;
  /** Work waiting for a buffer or for the writes in flight (a pending _write or _final). */
  private waiting: (() => void) | undefined;
  private synced = 0;
  private syncing = false;
  /** Bytes handed to the kernel. */
  bytesWritten = 0;

  constructor(private readonly path: string) {
    super({ highWaterMark: CHUNK });
  }

  override _construct(cb: (err?: Error | null) => void): void {
    fs.open(this.path, 'wx', (err, fd) => {
      this.fd = fd;
      cb(err);
    });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    let offset = 0;
    const copy = (): void => {
      while (offset < chunk.length) {
        if (this.failure) return cb(this.failure);
        if (!this.current) {
          this.current = this.free.pop() ?? (this.owned < BUFFERS ? this.take() : undefined);
          if (!this.current) {
            this.waiting = copy;
            return;
          }
        }
        const n = chunk.copy(this.current, this.filled, offset);
        offset += n;
        this.filled += n;
        if (this.filled === CHUNK) this.flush();
      }
      cb();
    };
    copy();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.filled) this.flush();
    const drained = (): void => {
      if (this.failure) return cb(this.failure);
      if (this.inFlight) {
        this.waiting = drained;
        return;
      }
      cb();
    };
    drained();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const close = () => {
      for (const b of this.free.splice(0)) giveBack(b);
      if (this.current) giveBack(this.current);
      this.current = undefined;
      if (this.fd === undefined) return cb(err);
      fs.close(this.fd, (closeErr) => cb(err ?? closeErr));
    };
    // A positioned write may still be on the thread pool: its fd must stay open until it is done.
    const whenIdle = (): void => {
      if (this.inFlight) {
        this.waiting = whenIdle;
        return;
      }
      close();
    };
    whenIdle();
  }

  private take(): Buffer {
    this.owned++;
    return takeBuffer();
  }

  private flush(): void {
    const buf = this.current!;
    const length = this.filled;
    const at = this.position;
    this.current = undefined;
    this.filled = 0;
    this.position += length;
    this.inFlight++;
    this.writeAll(buf, 0, length, at, (err) => {
      this.inFlight--;
      if (err) this.failure ??= err;
      else this.bytesWritten += length;
      this.free.push(buf);
      this.maybeSync();
      const w = this.waiting;
      this.waiting = undefined;
      w?.();
    });
  }

  /** pwrite may write less than asked (e.g. on a full disk, before the ENOSPC): finish or fail. */
  private writeAll(buf: Buffer, offset: number, length: number, at: number, cb: (err: Error | null) => void): void {
    fs.write(this.fd!, buf, offset, length, at, (err, n) => {
      if (err) return cb(err);
      if (n === length) return cb(null);
      if (n === 0) return cb(new Error(`short write to ${this.path}`));
      this.writeAll(buf, offset + n, length - n, at + n, cb);
    });
  }

  private maybeSync(): void {
    if (this.syncing || this.fd === undefined || this.bytesWritten - this.synced < FLUSH_BYTES) return;
    this.syncing = true;
    const upTo = this.bytesWritten;
    this.inFlight++; // keeps the fd open (see _destroy) until the sync is done
    fs.fdatasync(this.fd, () => {
      this.inFlight--;
      this.syncing = false;
      this.synced = upTo;
      const w = this.waiting;
      this.waiting = undefined;
      w?.();
    });
  }
}
