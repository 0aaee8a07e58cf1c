import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { Transaction } from 'sequelize';
import type { ArtifactEngine, BlobRow } from '../artifacts/engine';
import type { Finding } from '../common/findings';
import { inTransaction } from '../db/database';
import { inspectCsar, spanSource } from '../csar';
import type { CsarArchive, CsarDigests, CsarEntry, CsarInspection, CsarLimits, CsarSource, HashAlgorithm, InspectOptions } from '../csar';
import { streamedRecord, type StreamedFile, type StreamIndex } from './stream-index';

/** A stored CSAR opened for processing: the inspection, and the archive to read small files from. */
export interface StoredCsar {
  inspection: CsarInspection;
  /** Undefined only when not even the inner CSAR of an option 2 package could be opened. */
  archive?: CsarArchive;
  /** What only the stream could see (hidden entries, lying local headers), of the outer and the inner ZIP. */
  streamFindings: Finding[];
  /**
   * The digests computed while the upload streamed for an entry of the uploaded ZIP (for option 2:
   * of the outer ZIP, e.g. the inner CSAR for its `.cms`), when its central directory record is the
   * one that streamed by; undefined otherwise (the caller reads the entry).
   */
  streamedDigests(entry: CsarEntry): Partial<Record<HashAlgorithm, string>> | undefined;
  /** The local file holding the whole package, when it is one (decompose() needs it). */
  singleFile?: string;
  close(): Promise<void>;
}

export interface StoredCsarOptions {
  engine: ArtifactEngine;
  artifactId: string;
  /** The package blob (one object, or a composite). */
  pkg: BlobRow;
  /** The folder field that receives every file of the package (e.g. `content`). */
  folder: string;
  contentTypeOf(path: string): string;
  /** What streamed by during the upload (the job's payload); absent: every entry is read. */
  index?: StreamIndex;
  limits?: Partial<CsarLimits>;
  strict?: boolean;
  /** Digests some files need beyond the manifest's (InspectOptions.neededDigests). */
  neededDigests?: InspectOptions['neededDigests'];
  /** Unpack every file here too (operator command hooks read `{dir}`): streamed digests are then not used. */
  dir?: string;
}

/**
 * The generic part of processing a CSAR-based package (docs/onboarding.md): the stored package is
 * opened in place over its segments' files, every archive and SOL004 check runs on its central
 * directory, and each file becomes an entry of the package's folder. An entry whose record matches
 * what streamed by during the upload is not read again: its streamed digests are used and its
 * object (stored during the upload) is attached as it is. The caller closes the result.
 */
export async function openStoredCsar(o: StoredCsarOptions): Promise<StoredCsar> {
  const { engine, pkg } = o;
  const store = engine.stores.get(pkg.store);
  const content = engine.contentOf(pkg);
  const spans = content.files();
  let temp: string | undefined;
  let source: CsarSource;
  if (spans) {
    source = await spanSource(spans);
  } else {
    // Stores without local files: one temporary copy (this reads every byte once more).
    temp = await fs.promises.mkdtemp(nodePath.join(os.tmpdir(), 'depot-onboard-'));
    const local = nodePath.join(temp, 'package.csar');
    await pipeline(await content.open(), fs.createWriteStream(local));
    source = await spanSource([{ path: local, start: 0, end: Number(pkg.size) - 1 }]);
  }
  const cleanup = async () => {
    await source.close();
    if (temp) await fs.promises.rm(temp, { recursive: true, force: true });
  };
  try {
    // Files of the upload and of an inner CSAR (option 2) are told apart by their header offsets,
    // all absolute in the package: a record matches only the entry that streamed at its offset.
    const levels = o.index ? [o.index.files, o.index.inner?.index.files ?? []] : [];
    const streamedMaps = levels.map(() => new Map<string, StreamedFile>());
    if (!o.dir) {
      // The small files' objects are referenced only from now on: the collector's grace period
      // kept them; one that is gone all the same is read from the package again.
      for (const [i, files] of levels.entries()) {
        const present = await Promise.all(files.map(async (f) => !!f.key && !!(await store.driver.stat(f.key).catch(() => null))));
        files.forEach((f, j) => present[j] && streamedMaps[i].set(f.name, f));
      }
    }
    const streamed = (entry: CsarEntry) => streamedMaps.reduce<StreamedFile | undefined>((found, m) => found ?? streamedRecord(m, entry), undefined);
    const uploaded = new Map((o.index?.files ?? []).map((f) => [f.name, f]));
    const reused: StreamedFile[] = [];
    const attach = (t: Transaction | undefined, name: string, c: { key: string; size: number }) => {
      const run = (tx: Transaction) => engine.attachContent(tx, o.artifactId, o.folder, name, { store: store.name, key: c.key, size: c.size, digests: { sha256: c.key }, contentType: o.contentTypeOf(name) });
      return t ? run(t) : inTransaction(engine.sequelize, run);
    };
    const inspection = await inspectCsar(source, {
      limits: o.limits,
      strict: o.strict,
      neededDigests: o.neededDigests,
      keepOpen: true,
      reuse: (entry, algorithms) => {
        const f = streamed(entry);
        if (!f) return undefined;
        // Fully covered: not read at all. Otherwise onEntry below sees it, read for the rest.
        if ([...algorithms].every((a) => f.digests[a])) reused.push(f);
        return f.digests as CsarDigests;
      },
      onEntry: async (entry: CsarEntry, stream: Readable, digests: Partial<Record<HashAlgorithm, string>>) => {
        const f = streamed(entry);
        if (f?.split && f.key) {
          // A digest the upload did not compute (e.g. a SHA-512 the manifest asks for, listed
          // after the image): this entry alone is read again; its object is already stored.
          await finished(stream.resume());
          reused.push(f);
          return;
        }
        await storeEntry(entry, stream, digests);
      },
    });
    if (reused.length) {
      await inTransaction(engine.sequelize, async (t) => {
        for (const f of reused) await attach(t, f.name, { key: f.key!, size: f.size });
      });
    }
    const archive = inspection.archive;
    return {
      inspection,
      archive,
      streamFindings: o.index ? [...o.index.findings, ...(inspection.signedPackage ? o.index.inner?.index.findings ?? [] : [])] : [],
      streamedDigests: (entry) => streamedRecord(uploaded, entry)?.digests,
      singleFile: spans?.length === 1 && !pkg.segments ? spans[0].path : undefined,
      async close() {
        await archive?.close();
        await cleanup();
      },
    };

    /** An entry read from the package: a content object of its own (and a file in `dir`). */
    async function storeEntry(entry: CsarEntry, stream: Readable, digests: Partial<Record<HashAlgorithm, string>>): Promise<void> {
      const sinks: Promise<unknown>[] = [];
      const copies: PassThrough[] = [];
      // pipe() does not forward errors: when the archive lies about an entry (a bomb that inflates
      // past its declared size, a bad CRC) the copies waited for an end that never came and the
      // single onboarding worker hung forever, every later package stuck in PROCESSING (found by
      // test/vnf-package/onboarding.test.ts). Fail the copies with the entry's error — also one
      // raised before they exist (during the mkdir below); inspectCsar turns a CsarError into the
      // entry's finding.
      let failed: Error | undefined;
      stream.on('error', (err) => {
        failed = err;
        stream.unpipe();
        for (const s of copies) s.destroy(err);
      });
      const feed = <T extends PassThrough>(copy: T): T => {
        copies.push(copy);
        if (failed) copy.destroy(failed);
        else stream.pipe(copy);
        return copy;
      };
      if (o.dir) {
        const file = nodePath.join(o.dir, ...entry.name.split('/'));
        await fs.promises.mkdir(nodePath.dirname(file), { recursive: true });
        const copy = feed(new PassThrough());
        sinks.push(pipeline(copy, fs.createWriteStream(file, { mode: 0o644 })));
      }
      // Every file becomes a content-addressed object: the same image in two package versions
      // is stored once.
      const body = feed(new PassThrough({ highWaterMark: 1 << 20 }));
      sinks.push(
        // `stream` already computes the entry's SHA-256 (for the manifest check) over exactly these
        // bytes; the store takes it as the content key instead of hashing the image once more.
        store.stage(body, { sha256: () => digests.sha256 }).then(async (staged) => {
          await engine.locks.with(store.name, staged.key, async (t) => {
            await staged.commit();
            await attach(t, entry.name, staged);
          });
        }),
      );
      await Promise.all(sinks);
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
}
