import * as fs from 'node:fs';
import { Writable } from 'node:stream';
import { inspectCsar, type CsarDigests } from '../csar/inspect';
import type { CsarLimits } from '../csar/zip';
import { splitZipStream } from '../csar/zip-stream';
import type { OpenedCsar } from './examine';
import { artifactSignatureDigests } from './signatures';
import { streamedRecord, streamIndex, type StreamedFile } from './stream-index';

/** Onboarding's archive limits (config `onboarding.*`) in the CSAR reader's terms. */
export function csarLimits(o: { maxEntries: number; maxUncompressedBytes: number; maxCompressionRatio: number }): Partial<CsarLimits> {
  return { maxEntries: o.maxEntries, maxTotalUncompressedBytes: o.maxUncompressedBytes, maxCompressionRatio: o.maxCompressionRatio };
}

const discard = () => new Writable({ write: (_c, _e, done) => done() });

/**
 * A CSAR file opened the way onboarding opens an upload (src/packages/stored-csar.ts), without a
 * store: the bytes stream once through the upload's reader (src/csar/zip-stream.ts: hidden entries,
 * lying local headers, bombs while inflating, each entry's digests), then the random-access
 * inspection runs every archive and SOL004 check, reusing the streamed digests instead of reading
 * the entries again. The caller closes the result.
 */
export async function openLocalCsar(file: string, o: { limits?: Partial<CsarLimits>; strict?: boolean }): Promise<OpenedCsar & { close(): Promise<void> }> {
  const split = await splitZipStream(fs.createReadStream(file, { highWaterMark: 1 << 20 }), { skeleton: discard(), split: discard }, { limits: o.limits, splitMinBytes: Infinity });
  const index = streamIndex(split);
  const streamed = new Map<string, StreamedFile>(index.files.map((f) => [f.name, f]));
  const inspection = await inspectCsar(file, {
    limits: o.limits,
    strict: o.strict,
    keepOpen: true,
    reuse: (entry) => streamedRecord(streamed, entry)?.digests as CsarDigests | undefined,
    // As onboarding: the digest algorithms per-artifact signatures name join the single pass.
    neededDigests: artifactSignatureDigests,
  });
  return {
    inspection,
    archive: inspection.archive,
    streamFindings: inspection.signedPackage ? [] : index.findings,
    streamedDigests: (entry) => streamedRecord(streamed, entry)?.digests,
    close: async () => inspection.archive?.close(),
  };
}
