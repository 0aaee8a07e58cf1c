import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { QueryTypes, Transaction } from 'sequelize';
import type { Logger } from 'pino';
import type { ArtifactEngine, BlobRow } from '../../artifacts/engine';
import type { ArtifactRecord } from '../../artifacts/types';
import { Finding, formatFinding, hasErrors } from '../../common/findings';
import type { DepotConfig } from '../../config';
import { checkSoftwareImages, crossCheckManifest, CsarError, csarFiles, CsarInspection, inspectCsar, parseToscaMeta, spanSource, TOSCA_META_PATH, normaliseAlgorithm } from '../../csar';
import type { CsarArchive, CsarDigests, CsarEntry, CsarLimits, CsarSource, HashAlgorithm } from '../../csar';
import { csarIngest, streamedRecord, type StreamedFile, type StreamIndex } from '../../packages/ingest';
import { inTransaction } from '../../db/database';
import type { JobQueue, JobRow } from '../../jobs/queue';
import { fetchUriToWritable, FetchUriError, redactUri } from '../../net/fetch-uri';
import { DomainError, isDomainError, lifecycleConflict, notFound } from '../../common/errors';
import type { Principal } from '../../common/principal';
import { validateVnfd, VnfdFacts } from '../../tosca';
import { packageEvent, recordPackageEvent } from '../../modules/vnf-packages/notifications';
import { VNF_PACKAGES } from '../../modules/vnf-packages/type';

/** Stored entries at least this large are kept once, as objects of their own (see decompose). */
const DECOMPOSE_MIN_BYTES = 1 << 20;

const SYSTEM: Principal = { user: 'depot', project: '*', role: 'admin', isAdmin: true };

export type OnboardingState = 'CREATED' | 'UPLOADING' | 'PROCESSING' | 'ONBOARDED' | 'ERROR';

export interface UploadFromUriRequest {
  addressInformation: string;
  userName?: string;
  password?: string;
}

const TEXT_TYPES: Record<string, string> = {
  '.yaml': 'application/yaml', '.yml': 'application/yaml', '.mf': 'text/plain', '.meta': 'text/plain', '.txt': 'text/plain',
  '.sh': 'text/x-shellscript', '.json': 'application/json', '.xml': 'application/xml', '.cert': 'application/x-pem-file',
  '.pem': 'application/x-pem-file', '.cms': 'application/cms', '.zip': 'application/zip', '.csar': 'application/zip',
  '.tar': 'application/x-tar', '.gz': 'application/gzip', '.py': 'text/x-python', '.md': 'text/markdown', '.log': 'text/plain',
};
export const contentTypeOf = (path: string) => TEXT_TYPES[nodePath.extname(path).toLowerCase()] ?? 'application/octet-stream';

/** An onboarding failure as SOL005 wants it: a ProblemDetails listing every finding. */
export function failureDetails(findings: Finding[], instance: string): Record<string, unknown> {
  const errors = findings.filter((f) => f.severity === 'error');
  return {
    type: 'https://depot.invalid/problems/vnf-package-onboarding',
    title: 'VNF package onboarding failed',
    status: 422,
    detail: `${errors.length} error(s)${errors.length ? `; first: ${formatFinding(errors[0])}` : ''}`,
    instance,
    findings,
  };
}

/**
 * Onboarding of VNF packages (ARCHITECTURE §5): CREATED → UPLOADING → PROCESSING → ONBOARDED | ERROR.
 * The upload streams into the store; processing is a durable job that reads the CSAR once (hashing,
 * storing every file, checking the manifest), validates the VNFD through the post_upload hook chain
 * and fills VnfPkgInfo in one transaction. State lives in the database row, never in memory.
 */
export class OnboardingService {
  constructor(
    readonly engine: ArtifactEngine,
    private readonly queue: JobQueue,
    private readonly config: DepotConfig,
    private readonly log: Logger,
  ) {}

  private get sequelize() {
    return this.engine.sequelize;
  }

  private limits(): Partial<CsarLimits> {
    const o = this.config.onboarding;
    return { maxEntries: o.maxEntries, maxTotalUncompressedBytes: o.maxUncompressedBytes, maxCompressionRatio: o.maxCompressionRatio };
  }

  async create(p: Principal, userDefinedData: Record<string, unknown> | undefined): Promise<ArtifactRecord> {
    const id = crypto.randomUUID();
    return this.engine.create(p, VNF_PACKAGES, { name: `vnf-package-${id}`, ...(userDefinedData !== undefined && { userDefinedData }) }, {
      id,
      system: { onboardingState: 'CREATED', usageState: 'NOT_IN_USE' },
    });
  }

  /**
   * Moves a package from one of `from` to `to` atomically (row lock), or answers 409: this is what
   * makes two concurrent uploads of one package impossible.
   */
  private async transition(p: Principal, id: string, from: OnboardingState[], to: OnboardingState, extra: (t: Transaction, a: ArtifactRecord) => Promise<void> = async () => undefined): Promise<ArtifactRecord> {
    return inTransaction(this.sequelize, async (t) => {
      const a = await this.engine.getWritable(p, VNF_PACKAGES, id, t);
      const state = a.fields.onboardingState as OnboardingState;
      if (!from.includes(state)) throw lifecycleConflict(`onboardingState is ${state}; this needs ${from.join(' or ')}`);
      await this.setFields(t, id, { onboardingState: to });
      await extra(t, a);
      return a;
    });
  }

  private async setFields(t: Transaction | undefined, id: string, fields: Record<string, unknown>): Promise<void> {
    await this.sequelize.query(`UPDATE artifacts SET fields = fields || :f::jsonb, revision = revision + 1, updated_at = now() WHERE id = :id`, {
      replacements: { id, f: JSON.stringify(fields) }, transaction: t,
    });
  }

  /** Forgets what an earlier (failed) onboarding extracted, so a retry starts clean. */
  private async resetContent(t: Transaction, id: string): Promise<void> {
    await this.sequelize.query(`DELETE FROM blobs WHERE artifact_id = :id AND field = 'content'`, { replacements: { id }, transaction: t });
    await this.sequelize.query(
      `UPDATE artifacts SET fields = fields - 'onboardingFailureDetails' - 'onboardingFindings' - 'softwareImages' - 'additionalArtifacts' - 'checksum' - 'descriptor' WHERE id = :id`,
      { replacements: { id }, transaction: t },
    );
  }

  private async fail(id: string, findings: Finding[]): Promise<void> {
    await inTransaction(this.sequelize, async (t) => {
      await this.sequelize.query(`DELETE FROM blobs WHERE artifact_id = :id AND field = 'content'`, { replacements: { id }, transaction: t });
      await this.setFields(t, id, { onboardingState: 'ERROR', onboardingFailureDetails: failureDetails(findings, `/vnfpkgm/v2/vnf_packages/${id}`) });
    });
  }

  /** PUT package_content: stream the CSAR into the store, then queue processing. */
  async upload(p: Principal, id: string, body: Readable, contentLength?: number): Promise<void> {
    await this.transition(p, id, ['CREATED', 'ERROR'], 'UPLOADING', (t) => this.resetContent(t, id));
    let index: StreamIndex | undefined;
    try {
      index = await this.uploadPackage(p, id, body, contentLength);
    } catch (err: any) {
      const message = err instanceof DomainError ? err.detail : `upload failed: ${err?.message ?? err}`;
      await this.fail(id, [{ rule: 'VNFPKG-UPLOAD-FAILED', severity: 'error', message }]);
      throw err;
    }
    await this.startProcessing(id, index);
  }

  /** Streams the CSAR into the store, split on the fly (src/packages/ingest.ts); returns what streamed by. */
  private async uploadPackage(p: Principal, id: string, body: Readable, contentLength?: number): Promise<StreamIndex | undefined> {
    let index: StreamIndex | undefined;
    const ingest = csarIngest(this.engine.storeOf(this.engine.type(VNF_PACKAGES)), { limits: this.limits(), onIndex: (i) => (index = i) });
    await this.engine.upload(p, VNF_PACKAGES, id, 'package', undefined, body, { contentType: 'application/zip', contentLength, system: true, hooks: false, ingest });
    return index;
  }

  private async startProcessing(id: string, index?: StreamIndex): Promise<void> {
    await inTransaction(this.sequelize, async (t) => {
      await this.setFields(t, id, { onboardingState: 'PROCESSING' });
      await this.queue.enqueue(t, 'vnf_package.onboard', id, index ? { stream: index } : {});
    });
    this.queue.kick();
  }

  /** POST upload_from_uri: 202 at once; a durable job fetches (SSRF-safe) and then processes. */
  async uploadFromUri(p: Principal, id: string, req: UploadFromUriRequest): Promise<void> {
    await this.transition(p, id, ['CREATED', 'ERROR'], 'UPLOADING', async (t) => {
      await this.resetContent(t, id);
      await this.queue.enqueue(t, 'vnf_package.fetch', id, { uri: req.addressInformation, userName: req.userName, password: req.password, project: p.project, user: p.user });
    });
    this.queue.kick();
  }

  async runFetch(job: JobRow): Promise<void> {
    const id = job.artifact_id!;
    const { uri, userName, password } = job.payload as { uri: string; userName?: string; password?: string };
    const pass = new PassThrough({ highWaterMark: 1 << 20 });
    // A fetch that fails before the upload has attached its pipeline (an HTTP 404 answers at once)
    // destroys `pass` with no 'error' listener yet: EventEmitter threw it as an uncaught exception,
    // which kills the service (found by test/vnf-package/upload-from-uri.test.ts). The error is
    // reported through `fetching` below; this listener only keeps it from being unhandled.
    pass.on('error', () => undefined);
    const cfg = this.config.uploadFromUri;
    const fetching = fetchUriToWritable(uri, pass, {
      maxBytes: cfg.maxBytes,
      allow: cfg.allow,
      maxRedirects: cfg.maxRedirects,
      totalTimeoutMs: cfg.timeoutSeconds * 1000,
      auth: userName !== undefined ? { userName, password: password ?? '' } : undefined,
    });
    fetching.catch((err) => pass.destroy(err));
    let index: StreamIndex | undefined;
    try {
      // Both settle before the package can go to ERROR: a failed fetch first fails the upload,
      // whose rollback must be done before a new upload (from ERROR) is accepted.
      const [fetched, uploaded] = await Promise.allSettled([fetching, this.uploadPackage(SYSTEM, id, pass)]);
      if (fetched.status === 'rejected') throw fetched.reason;
      if (uploaded.status === 'rejected') throw uploaded.reason;
      index = uploaded.value;
    } catch (err: any) {
      const message = err instanceof FetchUriError ? `fetching ${redactUri(uri)} failed (${err.code}): ${err.message}` : err instanceof DomainError ? err.detail : `fetching ${redactUri(uri)} failed: ${err?.message ?? err}`;
      await this.fail(id, [{ rule: 'VNFPKG-FETCH-FAILED', severity: 'error', message }]);
      return;
    }
    await this.startProcessing(id, index);
  }

  /** A job that kept dying (or threw) ends the package in ERROR, never stuck in UPLOADING/PROCESSING. */
  async giveUp(job: JobRow, reason: string): Promise<void> {
    if (!job.artifact_id) return;
    await this.fail(job.artifact_id, [{ rule: 'VNFPKG-PROCESSING-FAILED', severity: 'error', message: reason }]);
  }

  /**
   * Packages left UPLOADING by a process that died mid-upload (no live upload blob any more) go to
   * ERROR, so the vendor can upload again.
   */
  async recoverInterruptedUploads(staleSeconds: number): Promise<void> {
    const rows = await this.sequelize.query<{ id: string }>(
      `SELECT a.id FROM artifacts a WHERE a.type_name = :type AND a.fields->>'onboardingState' = 'UPLOADING'
         AND a.updated_at < now() - (:s * interval '1 second')
         AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.artifact_id = a.id AND b.status = 'saving')
         AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.artifact_id = a.id AND j.state IN ('queued', 'running'))`,
      { replacements: { type: VNF_PACKAGES, s: staleSeconds }, type: QueryTypes.SELECT },
    );
    for (const r of rows) {
      this.log.warn({ id: r.id }, 'package upload was interrupted; marking it ERROR');
      await this.fail(r.id, [{ rule: 'VNFPKG-UPLOAD-INTERRUPTED', severity: 'error', message: 'the upload was interrupted (connection lost or service restarted); upload the package again' }]);
    }
  }

  // ── processing ───────────────────────────────────────────────────────────────────────────────

  async process(job: JobRow): Promise<void> {
    const id = job.artifact_id!;
    const [row] = await this.sequelize.query<any>(`SELECT * FROM artifacts WHERE id = :id`, { replacements: { id }, type: QueryTypes.SELECT });
    if (!row || row.fields.onboardingState !== 'PROCESSING') return; // deleted, or a stale duplicate job
    const artifact = { ...row, shared_with: [] } as ArtifactRecord;
    const [pkg] = await this.sequelize.query<BlobRow>(`SELECT * FROM blobs WHERE artifact_id = :id AND field = 'package' AND status = 'active'`, { replacements: { id }, type: QueryTypes.SELECT });
    if (!pkg?.content_key) return this.fail(id, [{ rule: 'VNFPKG-NO-CONTENT', severity: 'error', message: 'the package has no uploaded content' }]);
    // Files unpacked by an earlier, interrupted attempt are replaced.
    await this.sequelize.query(`DELETE FROM blobs WHERE artifact_id = :id AND field = 'content'`, { replacements: { id } });

    const hookConfigs = this.config.types[VNF_PACKAGES]?.hooks ?? [];
    let temp: string | undefined;
    let dir: string | undefined;
    if (hookConfigs.some((h) => h.event === 'post_upload' && h.command)) {
      temp = await fs.promises.mkdtemp(nodePath.join(os.tmpdir(), 'depot-onboard-'));
      dir = nodePath.join(temp, 'package');
    }
    // The stored package is read in place (composite: skeleton ranges and entry objects as one
    // archive); only stores without local files need a temporary copy (which reads every byte).
    const content = this.engine.contentOf(pkg);
    const spans = content.files();
    let source: CsarSource;
    if (spans) {
      source = await spanSource(spans);
    } else {
      temp ??= await fs.promises.mkdtemp(nodePath.join(os.tmpdir(), 'depot-onboard-'));
      const local = nodePath.join(temp, 'package.csar');
      await pipeline(await content.open(), fs.createWriteStream(local));
      source = await spanSource([{ path: local, start: 0, end: Number(pkg.size) - 1 }]);
    }
    const index = (job.payload as { stream?: StreamIndex }).stream;
    try {
      const result = await this.examine(id, artifact, source, pkg.store, index, dir);
      if (hasErrors(result.findings)) return await this.fail(id, result.findings);
      if (!result.inspection.signedPackage && !pkg.segments && spans?.length === 1) await this.decompose(pkg, spans[0].path, result.inspection);
      await this.complete(id, artifact, pkg, result);
    } finally {
      await source.close();
      if (temp) await fs.promises.rm(temp, { recursive: true, force: true });
    }
  }

  /**
   * Checks the stored CSAR: its central directory, structure and manifest, reading only the small
   * files; an entry whose digests streamed by during the upload (same local header, sizes and CRC-32
   * as the central directory records) is not read again, its content object is attached as it is.
   * Then the VNFD, validated once (post_upload hooks), and its image checksums against those digests.
   */
  private async examine(id: string, artifact: ArtifactRecord, source: CsarSource, storeName: string, index: StreamIndex | undefined, dir?: string) {
    const strict = this.config.onboarding.policy === 'strict';
    const limits = this.limits();
    const store = this.engine.stores.get(storeName);
    // Operator command hooks read the package unpacked in {dir}: every file is then materialised.
    const streamed = new Map<string, StreamedFile>();
    if (index && !dir) {
      const present = await Promise.all(index.files.map(async (f) => !!f.key && !!(await store.driver.stat(f.key).catch(() => null))));
      index.files.forEach((f, i) => present[i] && streamed.set(f.name, f));
    }
    const matching = (entry: CsarEntry) => streamedRecord(streamed, entry);
    const reused: StreamedFile[] = [];
    const inspection: CsarInspection = await inspectCsar(source, {
      limits,
      strict,
      keepOpen: true,
      reuse: (entry, algorithms) => {
        const f = matching(entry);
        if (!f || ![...algorithms].every((a) => f.digests[a])) return undefined;
        reused.push(f);
        return f.digests as CsarDigests;
      },
      onEntry: async (entry: CsarEntry, stream: Readable, digests: Partial<Record<HashAlgorithm, string>>) => {
        const f = matching(entry);
        if (f?.split && f.key && !dir) {
          // Fallback for a digest the upload did not compute (e.g. a SHA-512 the manifest asks for,
          // listed after the image): this entry alone is read again; its object is already stored.
          await finished(stream.resume());
          reused.push(f);
          return;
        }
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
        if (dir) {
          const file = nodePath.join(dir, ...entry.name.split('/'));
          await fs.promises.mkdir(nodePath.dirname(file), { recursive: true });
          const copy = feed(new PassThrough());
          sinks.push(pipeline(copy, fs.createWriteStream(file, { mode: 0o644 })));
        }
        // Every file becomes a content-addressed object: the same image in two package versions
        // is stored once (and decompose() then drops it from the CSAR copy).
        const body = feed(new PassThrough({ highWaterMark: 1 << 20 }));
        sinks.push(
          // `stream` already computes the entry's SHA-256 (for the manifest check) over exactly these
          // bytes; the store takes it as the content key instead of hashing the image once more.
          store.stage(body, { sha256: () => digests.sha256 }).then(async (staged) => {
            await this.engine.locks.with(store.name, staged.key, async (t) => {
              await staged.commit();
              const attach = (tx: Transaction) =>
                this.engine.attachContent(tx, id, 'content', entry.name, { store: store.name, key: staged.key, size: staged.size, digests: { sha256: staged.key }, contentType: contentTypeOf(entry.name) });
              if (t) await attach(t);
              else await inTransaction(this.sequelize, attach);
            });
          }),
        );
        await Promise.all(sinks);
      },
    });
    const archive = inspection.archive!;
    try {
      return await this.examineDescriptor(id, artifact, inspection, archive, reused, store.name, index, dir);
    } finally {
      await archive.close();
    }
  }

  private async examineDescriptor(id: string, artifact: ArtifactRecord, inspection: CsarInspection, archive: CsarArchive, reused: StreamedFile[], storeName: string, index: StreamIndex | undefined, dir?: string) {
    if (reused.length) {
      await inTransaction(this.sequelize, async (t) => {
        for (const f of reused) {
          await this.engine.attachContent(t, id, 'content', f.name, { store: storeName, key: f.key!, size: f.size, digests: { sha256: f.key! }, contentType: contentTypeOf(f.name) });
        }
      });
    }
    const findings = [...inspection.findings, ...(index && !inspection.signedPackage ? index.findings : [])];
    const results: Record<string, unknown> = {};
    let facts: VnfdFacts | undefined;
    if (inspection.entryDefinitions && !inspection.signedPackage && !archive.fatal) {
      findings.push(...(await this.engine.hooks(this.engine.type(VNF_PACKAGES)).run({ event: 'post_upload', artifact, field: 'package', files: csarFiles(archive), entry: inspection.entryDefinitions, results, dir })));
      facts = results.vnfd as VnfdFacts | undefined;
      if (facts) await this.imageDigests(facts, inspection, archive);
    } else if (inspection.signedPackage) {
      findings.push({ rule: 'VNFPKG-OPTION2-UNSUPPORTED', severity: 'error', message: `security option 2 package (${inspection.signedPackage.csar} + ${inspection.signedPackage.signature}): signature verification is not available yet` });
    }
    if (facts) {
      if (inspection.manifest) findings.push(...crossCheckManifest(inspection.manifest, facts));
      findings.push(...checkSoftwareImages(facts.softwareImages, inspection.digests, inspection.entries));
      for (const [k, v] of [['descriptor_id', facts.vnfdId], ['provider', facts.vnfProvider], ['product_name', facts.vnfProductName], ['software_version', facts.vnfSoftwareVersion], ['descriptor_version', facts.vnfdVersion]] as const) {
        if (!v && !findings.some((f) => f.rule.startsWith('SOL001-VNF'))) findings.push({ rule: 'VNFPKG-VNFD-IDENTITY', severity: 'error', message: `the VNF node has no ${k}`, file: inspection.entryDefinitions });
      }
    }
    return { findings, inspection, facts };
  }

  /**
   * Keeps the uploaded CSAR as a composite: its large stored entries (VM images) are now objects of
   * their own, so the package blob becomes [skeleton range, image object, skeleton range, ...] and
   * the full CSAR copy is left to the garbage collector. Served bytes are identical (same SHA-256).
   */
  private async decompose(pkg: BlobRow, local: string, inspection: CsarInspection): Promise<void> {
    const big = inspection.entries
      .filter((e) => e.dataOffset !== undefined && e.size >= DECOMPOSE_MIN_BYTES && inspection.digests.get(e.name))
      .sort((a, b) => a.dataOffset! - b.dataOffset!);
    if (!big.length) return;
    const total = Number(pkg.size);
    const gaps: { start: number; length: number }[] = [];
    let pos = 0;
    for (const e of big) {
      gaps.push({ start: pos, length: e.dataOffset! - pos });
      pos = e.dataOffset! + e.size;
    }
    gaps.push({ start: pos, length: total - pos });
    async function* skeleton() {
      for (const g of gaps) if (g.length > 0) yield* fs.createReadStream(local, { start: g.start, end: g.start + g.length - 1, highWaterMark: 1 << 20 });
    }
    const store = this.engine.stores.get(pkg.store);
    const staged = await store.stage(Readable.from(skeleton()));
    const segments: { key: string; offset: number; length: number }[] = [];
    let skelPos = 0;
    big.forEach((e, i) => {
      if (gaps[i].length) segments.push({ key: staged.key, offset: skelPos, length: gaps[i].length });
      skelPos += gaps[i].length;
      segments.push({ key: inspection.digests.get(e.name)!.sha256, offset: 0, length: e.size });
    });
    const last = gaps[gaps.length - 1];
    if (last.length) segments.push({ key: staged.key, offset: skelPos, length: last.length });
    if (segments.reduce((n, s) => n + s.length, 0) !== total) throw new Error('internal: composite package does not add up to its size');
    await this.engine.locks.with(store.name, staged.key, async (t) => {
      await staged.commit();
      const update = (tx: Transaction) =>
        this.sequelize.query(`UPDATE blobs SET content_key = :key, segments = :segments::jsonb, updated_at = now() WHERE id = :id`, {
          replacements: { key: staged.key, segments: JSON.stringify(segments), id: pkg.id }, transaction: tx,
        });
      if (t) await update(t);
      else await inTransaction(this.sequelize, update);
    });
  }

  /**
   * sw_image_data checksums in another algorithm than the digests at hand (SHA-256, and what the
   * manifest asked for): the image entry alone is read once more to compute it. This is the one
   * second read of image bytes a streamed onboarding can need (docs/benchmarks.md, Onboarding).
   */
  private async imageDigests(facts: VnfdFacts, inspection: CsarInspection, archive: CsarArchive): Promise<void> {
    for (const img of facts.softwareImages) {
      const algorithm = img.checksum && normaliseAlgorithm(img.checksum.algorithm);
      const name = img.imagePath?.replace(/^\.\//, '');
      const have = name ? inspection.digests.get(name) : undefined;
      if (!algorithm || !name || !have || have[algorithm] || !archive.getEntry(name)) continue;
      try {
        const { stream, digests } = await archive.openDigestingEntry(name, [algorithm]);
        await finished(stream.resume());
        Object.assign(have, digests);
      } catch (err) {
        if (!(err instanceof CsarError)) throw err;
        inspection.findings.push({ rule: err.rule, severity: 'error', message: err.message, file: name });
      }
    }
  }

  /** Fills VnfPkgInfo and flips to ONBOARDED in one transaction (or ERROR on a clash). */
  private async complete(id: string, artifact: ArtifactRecord, pkg: BlobRow, r: Awaited<ReturnType<OnboardingService['examine']>>): Promise<void> {
    const { inspection, facts } = r;
    const f = facts!;
    const digests = inspection.digests;
    const entryNames = new Set(inspection.entries.map((e) => e.name));
    const imagePaths = new Set(f.softwareImages.map((i) => i.imagePath?.replace(/^\.\//, '')).filter(Boolean) as string[]);
    const descriptorFiles = f.descriptorFiles;
    const manifestPath = inspection.manifest?.path;
    const excluded = new Set<string>([...descriptorFiles, ...imagePaths, TOSCA_META_PATH, ...(manifestPath ? [manifestPath] : [])]);
    const setOf = new Map<string, string>();
    for (const [set, sources] of Object.entries(inspection.manifest?.nonManoArtifactSets ?? {})) for (const s of sources) setOf.set(s.source, set);
    const declared = inspection.manifest?.entries ?? inspection.meta?.artifacts ?? [];
    const changeLog = inspection.meta?.keys['ETSI-Entry-Change-Log']?.value;
    const classify = (p: string) => (p === changeLog || /^ChangeLog/i.test(p) ? 'HISTORY' : /^Tests\//i.test(p) ? 'TESTING' : /^Licenses\//i.test(p) ? 'LICENSE' : undefined);
    const additionalArtifacts: Record<string, unknown>[] = [];
    const sources = declared.length ? declared.map((d) => d.source) : [...entryNames];
    for (const source of sources) {
      const path = source.replace(/^\.\//, '');
      if (excluded.has(path) || /\.(cms|cert|sig)$/i.test(path) || additionalArtifacts.some((a) => a.artifactPath === path || a.artifactURI === path)) continue;
      const entry = declared.find((d) => d.source === source);
      const external = /^[a-z][a-z0-9+.-]*:\/\//i.test(source);
      if (!external && !entryNames.has(path)) continue;
      const algorithm = entry?.algorithm ? entry.algorithm.toUpperCase().replace(/^SHA(\d)/, 'SHA-$1') : 'SHA-256';
      const hash = entry?.hash ?? digests.get(path)?.sha256;
      additionalArtifacts.push({
        ...(external ? { artifactURI: source } : { artifactPath: path }),
        checksum: { algorithm, hash },
        isEncrypted: false,
        ...(setOf.has(source) && { nonManoArtifactSetId: setOf.get(source) }),
        ...(classify(path) && { artifactClassification: classify(path) }),
        metadata: { contentType: contentTypeOf(path), ...(entryNames.has(path) && { size: inspection.entries.find((e) => e.name === path)!.size }) },
      });
    }
    const now = new Date().toISOString();
    const softwareImages = f.softwareImages.map((img) => {
      const path = img.imagePath?.replace(/^\.\//, '');
      const external = !!path && /^[a-z][a-z0-9+.-]*:\/\//i.test(path);
      const fileEntry = path && !external ? inspection.entries.find((e) => e.name === path) : undefined;
      return {
        id: img.id, name: img.name, provider: img.provider, version: img.version,
        checksum: img.checksum ? { algorithm: img.checksum.algorithm.toUpperCase().replace(/^SHA(\d)/, 'SHA-$1'), hash: img.checksum.hash } : { algorithm: 'SHA-256', hash: path ? digests.get(path)?.sha256 : undefined },
        isEncrypted: false,
        containerFormat: img.containerFormat?.toUpperCase(), diskFormat: img.diskFormat?.toUpperCase(),
        createdAt: now, minDisk: img.minDisk ?? 0, minRam: img.minRam ?? 0, size: fileEntry?.size ?? img.size ?? 0,
        ...(external ? { imageUri: path } : path ? { imagePath: path } : {}),
      };
    });
    const md = inspection.manifest?.metadata;
    const csv = (v?: string) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);
    const fields: Record<string, unknown> = {
      onboardingState: 'ONBOARDED',
      usageState: 'NOT_IN_USE',
      vnfdId: f.vnfdId, vnfProvider: f.vnfProvider, vnfProductName: f.vnfProductName, vnfSoftwareVersion: f.vnfSoftwareVersion, vnfdVersion: f.vnfdVersion,
      vnfmInfo: f.vnfmInfo ?? [],
      compatibleSpecificationVersions: csv(md?.compatible_specification_versions?.value),
      packageSecurityOption: inspection.packageSecurityOption,
      checksum: { algorithm: 'SHA-256', hash: pkg.digests.sha256 },
      softwareImages,
      additionalArtifacts,
      onboardingFindings: r.findings,
      descriptor: { files: descriptorFiles, meta: entryNames.has(TOSCA_META_PATH) ? TOSCA_META_PATH : undefined, manifest: manifestPath, entry: inspection.entryDefinitions },
    };
    const name = `${f.vnfProvider}/${f.vnfProductName}`.slice(0, 255);
    const version = packageVersion(f.vnfSoftwareVersion!, f.vnfdVersion!);
    const parsed = this.engine.version(version, this.engine.type(VNF_PACKAGES));
    try {
      await inTransaction(this.sequelize, async (t) => {
        // vnfdId is unique among a project's onboarded packages; serialise onboardings of one vnfdId.
        await this.sequelize.query(`SELECT pg_advisory_xact_lock(hashtextextended('vnfd:' || :owner || ':' || :vnfd, 0))`, { replacements: { owner: artifact.owner, vnfd: f.vnfdId }, transaction: t });
        const [dup] = await this.sequelize.query<{ id: string }>(
          `SELECT id FROM artifacts WHERE type_name = :type AND owner = :owner AND id <> :id AND fields->>'vnfdId' = :vnfd AND fields->>'onboardingState' = 'ONBOARDED'`,
          { replacements: { type: VNF_PACKAGES, owner: artifact.owner, id, vnfd: f.vnfdId }, type: QueryTypes.SELECT, transaction: t },
        );
        if (dup) throw new OnboardingClash({ rule: 'VNFPKG-DUPLICATE-VNFD-ID', severity: 'error', message: `vnfdId ${f.vnfdId} is already onboarded as package ${dup.id}`, file: inspection.entryDefinitions });
        await this.sequelize.query(
          `UPDATE artifacts SET name = :name, version = :version, version_key = :key, status = 'active', activated_at = now(),
             fields = fields || :fields::jsonb, revision = revision + 1, updated_at = now() WHERE id = :id`,
          { replacements: { id, name, version: parsed.normalized, key: parsed.key, fields: JSON.stringify(fields) }, transaction: t },
        );
        // SOL005 VnfPackageOnboardingNotification, in the outbox of this very transaction.
        await recordPackageEvent(this.sequelize, t, packageEvent({ ...artifact, status: 'active', fields: { ...artifact.fields, ...fields } }, 'VnfPackageOnboardingNotification'));
      });
    } catch (err: any) {
      if (err instanceof OnboardingClash) return this.fail(id, [...r.findings, err.finding]);
      if ((err?.original?.code ?? err?.parent?.code) === '23505') {
        return this.fail(id, [...r.findings, { rule: 'VNFPKG-DUPLICATE-VERSION', severity: 'error', message: `${name} version ${parsed.normalized} (software version ${f.vnfSoftwareVersion}, descriptor version ${f.vnfdVersion}) is already onboarded in this project` }]);
      }
      throw err;
    }
    this.log.info({ id, vnfdId: f.vnfdId, name, version: parsed.normalized }, 'VNF package onboarded');
  }

  async packageOf(p: Principal, id: string): Promise<ArtifactRecord> {
    const a = await this.engine.get(p, VNF_PACKAGES, id).catch((e) => {
      if (isDomainError(e, 'NOT_FOUND')) throw notFound(`no VNF package with id ${id}`);
      throw e;
    });
    return a;
  }
}

class OnboardingClash extends Error {
  constructor(readonly finding: Finding) {
    super(finding.message);
  }
}

/**
 * Generic version of a package: the software version read as SemVer (non-SemVer strings keep their
 * numeric parts), the descriptor version as build metadata. See type.ts.
 */
export function packageVersion(software: string, descriptor: string): string {
  const semverish = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.-]+)?$/.exec(String(software).trim());
  const base = semverish
    ? `${semverish[1]}.${semverish[2] ?? 0}.${semverish[3] ?? 0}${semverish[4] ?? ''}`
    : (String(software).match(/\d+/g) ?? ['0']).slice(0, 3).concat(['0', '0']).slice(0, 3).map(Number).join('.');
  const build = String(descriptor).replace(/[^0-9A-Za-z.-]/g, '-').replace(/\.{2,}/g, '.').replace(/^\.|\.$/g, '') || '0';
  return `${base}+vnfd.${build}`;
}

/** Entry-Definitions from TOSCA.meta, or the single root YAML (SOL004 §4.1 option 2). */
export async function findEntryDefinitions(archive: CsarArchive): Promise<string | undefined> {
  if (archive.getEntry(TOSCA_META_PATH)) {
    const { meta } = parseToscaMeta((await archive.readEntry(TOSCA_META_PATH, 1 << 20)).toString('utf8'), 'warning');
    return meta.keys['Entry-Definitions']?.value;
  }
  const roots = archive.entries.filter((e) => !e.name.includes('/') && /\.ya?ml$/i.test(e.name));
  return roots.length === 1 ? roots[0].name : undefined;
}
