import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { QueryTypes, Transaction } from 'sequelize';
import type { Logger } from 'pino';
import type { ArtifactEngine, BlobRow } from '../../artifacts/engine';
import type { ArtifactRecord } from '../../artifacts/types';
import { Finding, formatFinding, hasErrors } from '../../common/findings';
import type { DepotConfig } from '../../config';
import type { CsarInspection } from '../../csar';
import type { CsarLimits } from '../../csar';
import { csarIngest, type StreamIndex } from '../../packages/ingest';
import { openStoredCsar, type StoredCsar } from '../../packages/stored-csar';
import { VnfPackageProfile } from './profile';
import { inTransaction } from '../../db/database';
import type { JobQueue, JobRow } from '../../jobs/queue';
import { fetchUriToWritable, FetchUriError, redactUri } from '../../net/fetch-uri';
import { DomainError, isDomainError, lifecycleConflict, notFound } from '../../common/errors';
import type { Principal } from '../../common/principal';
import type { VnfdFacts } from '../../tosca';
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
  ) {
    this.profile = new VnfPackageProfile(engine);
  }

  /** What is VNF-specific in processing: the VNFD and VnfPkgInfo's fields (src/packages/profile.ts). */
  private readonly profile: VnfPackageProfile;

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
      stall: { stallMs: this.config.stalls.fetchSeconds * 1000, minBytesPerSecond: this.config.stalls.minBytesPerSecond },
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
      // Operator command hooks read the package unpacked in {dir}: every file is materialised.
      temp = await fs.promises.mkdtemp(nodePath.join(os.tmpdir(), 'depot-onboard-'));
      dir = nodePath.join(temp, 'package');
    }
    try {
      const stored = await openStoredCsar({
        engine: this.engine, artifactId: id, pkg, folder: 'content', contentTypeOf, dir,
        index: (job.payload as { stream?: StreamIndex }).stream, limits: this.limits(), strict: this.config.onboarding.policy === 'strict',
      });
      try {
        const result = await this.examine(artifact, stored, dir);
        if (hasErrors(result.findings)) return await this.fail(id, result.findings);
        if (!result.inspection.signedPackage && stored.singleFile) await this.decompose(pkg, stored.singleFile, result.inspection);
        await this.complete(id, artifact, pkg, result);
      } finally {
        await stored.close();
      }
    } finally {
      if (temp) await fs.promises.rm(temp, { recursive: true, force: true });
    }
  }

  /** The archive's findings, what the stream saw, and the VNF profile's (the VNFD, validated once). */
  private async examine(artifact: ArtifactRecord, stored: StoredCsar, dir?: string): Promise<{ findings: Finding[]; inspection: CsarInspection; facts?: VnfdFacts }> {
    const { inspection, archive } = stored;
    const findings = [...inspection.findings, ...stored.streamFindings];
    let facts: VnfdFacts | undefined;
    if (inspection.signedPackage) {
      findings.push({ rule: 'VNFPKG-OPTION2-UNSUPPORTED', severity: 'error', message: `security option 2 package (${inspection.signedPackage.csar} + ${inspection.signedPackage.signature}): signature verification is not available yet` });
    } else if (archive && !archive.fatal && inspection.entryDefinitions) {
      const r = await this.profile.examine({ artifact, inspection, archive, dir });
      findings.push(...r.findings);
      facts = r.facts;
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

  /** Fills VnfPkgInfo and flips to ONBOARDED in one transaction (or ERROR on a clash). */
  private async complete(id: string, artifact: ArtifactRecord, pkg: BlobRow, r: Awaited<ReturnType<OnboardingService['examine']>>): Promise<void> {
    const { inspection, facts } = r;
    const f = facts!;
    const fields: Record<string, unknown> = { onboardingState: 'ONBOARDED', usageState: 'NOT_IN_USE', ...this.profile.fields({ facts: f, inspection, pkg, findings: r.findings }) };
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
