import type { Readable, Writable } from 'node:stream';

/**
 * The storage driver contract (ARCHITECTURE §4): a flat namespace of opaque keys holding immutable
 * bytes. Drivers know nothing of artifacts or hashing; content addressing, quotas and references
 * live above them (ContentStore, engine). Every driver passes test/storage/conformance.test.ts.
 */
export interface ObjectInfo {
  key: string;
  size: number;
  /** Last commit or touch; the garbage collector spares objects younger than its grace period. */
  mtime: Date;
}

export interface ByteRange {
  /** Inclusive start and inclusive end, as in HTTP Range. */
  start: number;
  end: number;
}

export interface StagedWrite {
  /** Bytes go here; the stream ends when the caller calls end(). */
  stream: Writable;
  /**
   * Publishes the staged bytes under `key` atomically. If the key already exists (same content),
   * the staged copy is dropped and the existing object touched, so content stays stored once.
   */
  commit(key: string): Promise<void>;
  /** Drops the staged bytes. Safe to call after a failed or partial write, and twice. */
  abort(): Promise<void>;
}

export interface BlobStore {
  readonly driver: string;
  stage(): Promise<StagedWrite>;
  stat(key: string): Promise<ObjectInfo | null>;
  read(key: string, range?: ByteRange): Promise<Readable>;
  delete(key: string): Promise<void>;
  list(): AsyncIterable<ObjectInfo>;
  /**
   * Removes staged writes older than `olderThanMs` (left behind by a crash); returns how many. Staged
   * writes this instance has open (neither committed nor aborted) are never removed, however old.
   */
  sweepStaging(olderThanMs: number): Promise<number>;
  /**
   * A local file holding the object's bytes, when the driver has one: readers that need random
   * access (the zip index of a CSAR) then work in place instead of on a temporary copy.
   */
  localPath?(key: string): string | undefined;
  /** Cheap reachability probe for /readyz. */
  ping(): Promise<void>;
}

/** Bytes [start, end] (inclusive) of a local file: what a driver with `localPath` can serve without a stream. */
export interface FileSpan {
  path: string;
  start: number;
  end: number;
}

export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`object ${key} not found`);
  }
}
