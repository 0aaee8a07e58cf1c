import * as fs from 'node:fs';
import { Writable } from 'node:stream';
import { giveBack, POOL_BUFFER_SIZE as CHUNK, takeBuffer } from '../common/buffer-pool';

const BUFFERS = 4;
/** O_DIRECT needs file offsets, lengths and memory aligned to the device's block (512 or 4096). */
const ALIGN = 4096;
/**
 * Write-back while the bytes arrive, when they go through the page cache, so the fsync before
 * publishing does not write a whole GiB after the last byte (0.6 s per GiB on this VM's disk, 2–4 s
 * on an earlier one). Not too often: on ext4 each fdatasync commits the journal, and writes that
 * extend the file wait for it; syncing every 32 MiB made a GiB of writes take ~2 s instead of ~0.3 s.
 */
const FLUSH_BYTES = 256 * 2 ** 20;

/**
 * A file writer that copies incoming chunks into a few pooled 1 MiB buffers and writes those.
 *
 * Why not `fs.createWriteStream`: it issues one write per incoming 64 KiB chunk and keeps each chunk
 * alive until that write is done, so the memory it holds depends on the disk's speed. Here a chunk
 * is copied (~0.1 s per GiB) and released at once, and the buffers come from the process-wide pool,
 * so an upload holds at most BUFFERS MiB whatever the disk does.
 *
 * Full buffers are written with O_DIRECT, from the (page-aligned) pool buffers straight to the disk:
 * copying a GiB into the page cache cost 0.25–2.8 s of CPU on the development VM, more than
 * everything else an upload does (hash, socket, HTTP: ~1.1 s), because the page cache takes fresh
 * memory that the VM's host has to fault in (docs/benchmarks.md, "Upload CPU per GiB"). The price: the
 * first read of the new object comes from the disk, not from memory. The last, partial buffer goes
 * through the page cache (O_DIRECT needs aligned lengths); so does everything on file systems that
 * refuse O_DIRECT or a buffer they find misaligned. Durability is unchanged: the store still
 * fsyncs the file before publishing it (O_DIRECT data may sit in the disk's volatile cache).
 *
 * One write at a time, of every buffer filled meanwhile (one positioned `pwritev`): buffered writes
 * to one file are serialised by the kernel anyway (ext4 holds the inode lock for the whole copy into
 * the page cache), and concurrent writes from the thread pool only spun on that lock: ~0.35 s of CPU
 * per GiB, measured with `perf`, for no gain in throughput.
 */
export class FileWriter extends Writable {
  private fd: number | undefined;
  private readonly free: Buffer[] = [];
  private current: Buffer | undefined;
  private filled = 0;
  private position = 0;
  /** Filled buffers waiting for the write in progress (`view` is the part of `buf` holding bytes). */
  private readonly ready: { buf: Buffer; view: Buffer }[] = [];
  private writing = false;
  /** The write or sync in progress, if any: the fd stays open until none is left (see _destroy). */
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

  /** The same file opened with O_DIRECT, while full buffers can be written that way. */
  private directFd: number | undefined;
  private bypassing = false;

  constructor(private readonly path: string) {
    super({ highWaterMark: CHUNK });
  }

  /** Whether full buffers bypass the page cache: from the open until a write is refused (EINVAL). */
  get direct(): boolean {
    return this.bypassing;
  }

  override _construct(cb: (err?: Error | null) => void): void {
    fs.open(this.path, 'wx', (err, fd) => {
      this.fd = fd;
      if (err) return cb(err);
      // Refused where the file system has no O_DIRECT (tmpfs before Linux 6.6, some FUSE and network
      // file systems): the page cache it is.
      fs.open(this.path, fs.constants.O_WRONLY | fs.constants.O_DIRECT, (directErr, directFd) => {
        if (!directErr) {
          this.directFd = directFd;
          this.bypassing = true;
        }
        cb();
      });
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
      for (const b of this.ready.splice(0)) giveBack(b.buf);
      if (this.current) giveBack(this.current);
      this.current = undefined;
      this.closeDirect(() => {
        if (this.fd === undefined) return cb(err);
        fs.close(this.fd, (closeErr) => cb(err ?? closeErr));
      });
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

  /** Queues the current buffer for writing. */
  private flush(): void {
    const buf = this.current!;
    this.ready.push({ buf, view: this.filled === CHUNK ? buf : buf.subarray(0, this.filled) });
    this.current = undefined;
    this.filled = 0;
    this.writeReady();
  }

  private writeReady(): void {
    // Destroyed: the fd is about to close; what is queued is dropped (see _destroy).
    if (this.writing || !this.ready.length || this.failure || this.destroyed) return;
    const batch = this.ready.splice(0);
    const at = this.position;
    const length = batch.reduce((n, b) => n + b.view.length, 0);
    this.position += length;
    this.writing = true;
    this.inFlight++;
    this.writeAll(batch.map((b) => b.view), at, (err) => {
      this.writing = false;
      this.inFlight--;
      if (err) this.failure ??= err;
      else this.bytesWritten += length;
      for (const b of batch) this.free.push(b.buf);
      this.maybeSync();
      this.writeReady();
      const w = this.waiting;
      this.waiting = undefined;
      w?.();
    });
  }

  /** pwritev may write less than asked (e.g. on a full disk, before the ENOSPC): finish or fail. */
  private writeAll(views: Buffer[], at: number, cb: (err: Error | null) => void): void {
    const direct = this.directFd !== undefined && at % ALIGN === 0 && views.every((v) => v.length % ALIGN === 0);
    fs.writev(direct ? this.directFd! : this.fd!, views, at, (err, n) => {
      if (err && direct && (err as NodeJS.ErrnoException).code === 'EINVAL') {
        // Memory or offsets this file system finds misaligned: the page cache from here on.
        this.bypassing = false;
        this.closeDirect();
        return this.writeAll(views, at, cb);
      }
      if (err) return cb(err);
      if (n === 0) return cb(new Error(`short write to ${this.path}`));
      let rest = n;
      while (views.length && rest >= views[0].length) rest -= views.shift()!.length;
      if (!views.length) return cb(null);
      views[0] = views[0].subarray(rest);
      this.writeAll(views, at + n, cb);
    });
  }

  private closeDirect(then?: () => void): void {
    const fd = this.directFd;
    this.directFd = undefined;
    if (fd === undefined) return then?.();
    fs.close(fd, () => then?.());
  }

  private maybeSync(): void {
    // Nothing waits in the page cache while the writes bypass it.
    if (this.directFd !== undefined || this.syncing || this.fd === undefined || this.bytesWritten - this.synced < FLUSH_BYTES) return;
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
