import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { Transaction } from 'sequelize';
import type { Logger } from 'pino';
import type { ArtifactEngine, BlobRow } from '../artifacts/engine';
import type { ArtifactRecord } from '../artifacts/types';
import { Finding, hasErrors } from '../common/findings';
import type { DepotConfig } from '../config';
import type { CsarInspection, CsarLimits } from '../csar';
import { PackagesRepository } from '../db/repositories/packages';
import type { JobQueue, JobRow } from '../jobs/queue';
import { fetchUriToWritable, FetchUriError, redactUri } from '../net/fetch-uri';
import { DomainError, isDomainError, lifecycleConflict, notFound } from '../common/errors';
import type { Principal } from '../common/principal';
import { contentTypeOf } from './content-type';
import { csarIngest } from './ingest';
import type { StreamIndex } from './stream-index';
import type { PackageIdentity, PackageProfile } from './profile';
import { artifactSignatureDigests, type PackageSignature } from './signatures';
import { examinePackage } from './examine';
import { csarLimits } from './local-csar';
import { openStoredCsar, type StoredCsar } from './stored-csar';

/** Stored entries at least this large are kept once, as objects of their own (see decompose). */
const DECOMPOSE_MIN_BYTES = 1 << 20;

const SYSTEM: Principal = { user: 'depot', project: '*', role: 'admin', isAdmin: true };

export type OnboardingState = 'CREATED' | 'UPLOADING' | 'PROCESSING' | 'ONBOARDED' | 'ERROR';

export interface UploadFromUriRequest {
  addressInformation: string;
  userName?: string;
  password?: string;
}

/** The package blob (the CSAR as uploaded) and the folder its files are unpacked into. */
const PACKAGE = 'package';
const CONTENT = 'content';

/**
 * The package pipeline of every CSAR-based type (docs/architecture.md, "The package pipeline"):
 * CREATED → UPLOADING → PROCESSING → ONBOARDED | ERROR. The upload is split while it streams
 * (src/packages/ingest.ts); processing is a durable job that opens the stored package in place
 * (src/packages/stored-csar.ts), lets the type's profile validate its descriptor once, and
 * activates the artifact with the profile's fields and identity in one transaction. State lives in
 * the database row, never in memory; every change goes through the engine's operations.
 */
export class PackageOnboarding<Facts> {
  private readonly packages: PackagesRepository;

  constructor(
    readonly engine: ArtifactEngine,
    private readonly queue: JobQueue,
    private readonly config: DepotConfig,
    private readonly log: Logger,
    readonly profile: PackageProfile<Facts>,
  ) {
    this.packages = new PackagesRepository(engine.sequelize);
  }

  /** Registers the durable jobs (processing, and the fetch of upload_from_uri) on the queue. */
  registerJobs(): void {
    const onGiveUp = (job: JobRow, reason: string) => this.giveUp(job, reason);
    this.queue.register(this.profile.jobs.onboard, { run: (job) => this.process(job), onGiveUp });
    // Fetches wait on remote servers: their own lane, never an onboarding worker.
    this.queue.register(this.profile.jobs.fetch, { run: (job) => this.runFetch(job), onGiveUp }, 'fetch');
  }

  private get typeName(): string {
    return this.profile.typeName;
  }

  private rule(name: string): string {
    return `${this.profile.rulePrefix}-${name}`;
  }

  private limits(): Partial<CsarLimits> {
    return csarLimits(this.config.onboarding);
  }

  async create(p: Principal, userDefinedData: Record<string, unknown> | undefined): Promise<ArtifactRecord> {
    const id = crypto.randomUUID();
    const initial = this.profile.initial(id);
    return this.engine.create(p, this.typeName, { name: initial.name, ...(userDefinedData !== undefined && { userDefinedData }) }, {
      id,
      system: { onboardingState: 'CREATED', ...initial.fields },
    });
  }

  async packageOf(p: Principal, id: string): Promise<ArtifactRecord> {
    return this.engine.get(p, this.typeName, id).catch((e) => {
      if (isDomainError(e, 'NOT_FOUND')) throw notFound(`no ${this.profile.label} with id ${id}`);
      throw e;
    });
  }

  /**
   * The onboarded package whose descriptor id (`field`, e.g. vnfdId) is `value`, among those `p` sees:
   * its own project's first (one per project), else a public one. Unknown and invisible answer alike.
   */
  async onboardedBy(p: Principal, field: string, value: string): Promise<ArtifactRecord> {
    const q = new URLSearchParams({ [field]: `eq:${value}`, onboardingState: 'eq:ONBOARDED', sort: 'created_at:asc', limit: '100' });
    const { artifacts } = await this.engine.list(p, this.typeName, q);
    const a = artifacts.find((x) => x.owner === p.project) ?? artifacts[0];
    if (!a) throw notFound(`no onboarded ${this.profile.label} with ${field} ${value}`);
    return a;
  }

  /**
   * CREATED or ERROR → UPLOADING atomically (row lock), or 409: this is what makes two concurrent
   * uploads of one package impossible. What an earlier (failed) onboarding derived is forgotten,
   * so a retry starts clean.
   */
  private async startUpload(p: Principal, id: string, then?: (t: Transaction) => Promise<void>): Promise<void> {
    await this.engine.transaction(async (t) => {
      const a = await this.engine.getWritable(p, this.typeName, id, t);
      const state = a.fields.onboardingState as OnboardingState;
      if (state !== 'CREATED' && state !== 'ERROR') throw lifecycleConflict(`onboardingState is ${state}; this needs CREATED or ERROR`);
      await this.engine.resetFolder(t, id, CONTENT);
      await this.engine.setSystemFields(id, { onboardingState: 'UPLOADING' }, {
        remove: ['onboardingFailureDetails', 'onboardingFindings', ...this.profile.derivedFields], t,
      });
      await then?.(t);
    });
    // Processing follows the upload: what it needs loads while the bytes stream in.
    this.profile.prepare?.();
  }

  /** The package ends in ERROR with these findings; its unpacked files are forgotten. */
  private async fail(id: string, findings: Finding[]): Promise<void> {
    await this.engine.transaction(async (t) => {
      if (!(await this.engine.load(id, t))) return; // deleted meanwhile
      await this.engine.resetFolder(t, id, CONTENT);
      const after = await this.engine.setSystemFields(id, { onboardingState: 'ERROR', onboardingFailureDetails: this.profile.failureDetails(id, findings) }, { t });
      await this.profile.failed?.(t, after);
    });
  }

  /** PUT package_content: stream the CSAR into the store, then queue processing. */
  async upload(p: Principal, id: string, body: Readable, contentLength?: number): Promise<void> {
    await this.startUpload(p, id);
    let index: StreamIndex | undefined;
    try {
      index = await this.uploadPackage(p, id, body, contentLength);
    } catch (err: any) {
      const message = err instanceof DomainError ? err.detail : `upload failed: ${err?.message ?? err}`;
      await this.fail(id, [{ rule: this.rule('UPLOAD-FAILED'), severity: 'error', message }]);
      throw err;
    }
    await this.startProcessing(id, index);
  }

  /** Streams the CSAR into the store, split on the fly (src/packages/ingest.ts); returns what streamed by. */
  private async uploadPackage(p: Principal, id: string, body: Readable, contentLength?: number): Promise<StreamIndex | undefined> {
    let index: StreamIndex | undefined;
    const ingest = csarIngest(this.engine.storeOf(this.engine.type(this.typeName)), {
      limits: this.limits(), hashWorker: this.config.onboarding.hashWorker !== false, onIndex: (i) => (index = i),
    });
    await this.engine.upload(p, this.typeName, id, PACKAGE, undefined, body, { contentType: 'application/zip', contentLength, system: true, hooks: false, ingest });
    return index;
  }

  private async startProcessing(id: string, index?: StreamIndex): Promise<void> {
    await this.engine.transaction(async (t) => {
      await this.engine.setSystemFields(id, { onboardingState: 'PROCESSING' }, { t });
      // The files the upload stored are referenced by no blob until processing attaches them: the
      // job pins them against the garbage collector until it ends.
      const pins = index ? [...new Set([...index.files, ...(index.inner?.index.files ?? [])].flatMap((f) => (f.key ? [f.key] : [])))] : [];
      await this.queue.enqueue(t, this.profile.jobs.onboard, id, index ? { stream: index, pins } : {});
    });
    this.queue.kick();
  }

  /** POST upload_from_uri: 202 at once; a durable job fetches (SSRF-safe) and then processes. */
  async uploadFromUri(p: Principal, id: string, req: UploadFromUriRequest): Promise<void> {
    await this.startUpload(p, id, async (t) => {
      await this.queue.enqueue(t, this.profile.jobs.fetch, id, { uri: req.addressInformation, userName: req.userName, password: req.password, project: p.project, user: p.user });
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
      await this.fail(id, [{ rule: this.rule('FETCH-FAILED'), severity: 'error', message }]);
      return;
    }
    await this.startProcessing(id, index);
  }

  /** A job that kept dying (or threw) ends the package in ERROR, never stuck in UPLOADING/PROCESSING. */
  async giveUp(job: JobRow, reason: string): Promise<void> {
    if (!job.artifact_id) return;
    await this.fail(job.artifact_id, [{ rule: this.rule('PROCESSING-FAILED'), severity: 'error', message: reason }]);
  }

  private recoveryTimer?: NodeJS.Timeout;

  /**
   * Runs recoverInterruptedUploads now and then every `uploadStaleSeconds`. `ownDatabase`: the
   * database belongs to this process alone (embedded PGlite), so an UPLOADING package at start is
   * from a dead run, whatever its age.
   */
  startRecovery(ownDatabase: boolean): void {
    const stale = this.config.uploadStaleSeconds;
    const recover = (seconds: number) => this.recoverInterruptedUploads(seconds).catch((err) => this.log.error({ err }, 'upload recovery failed'));
    void recover(ownDatabase ? 0 : stale);
    this.recoveryTimer = setInterval(() => recover(stale), Math.max(stale * 1000, 1000));
    this.recoveryTimer.unref();
  }

  stopRecovery(): void {
    if (this.recoveryTimer) clearInterval(this.recoveryTimer);
    this.recoveryTimer = undefined;
  }

  /**
   * Packages left UPLOADING by a process that died mid-upload (no live upload blob any more) go to
   * ERROR, so the vendor can upload again.
   */
  async recoverInterruptedUploads(staleSeconds: number): Promise<void> {
    for (const id of await this.packages.interruptedUploads(this.typeName, staleSeconds)) {
      this.log.warn({ id }, 'package upload was interrupted; marking it ERROR');
      await this.fail(id, [{ rule: this.rule('UPLOAD-INTERRUPTED'), severity: 'error', message: 'the upload was interrupted (connection lost or service restarted); upload the package again' }]);
    }
  }

  // ── processing ───────────────────────────────────────────────────────────────────────────────

  async process(job: JobRow): Promise<void> {
    const id = job.artifact_id!;
    const artifact = await this.engine.load(id);
    if (!artifact || artifact.fields.onboardingState !== 'PROCESSING') return; // deleted, or a stale duplicate job
    const pkg = await this.engine.storedBlob(id, PACKAGE);
    if (!pkg?.content_key) return this.fail(id, [{ rule: this.rule('NO-CONTENT'), severity: 'error', message: 'the package has no uploaded content' }]);
    // Files unpacked by an earlier, interrupted attempt are replaced.
    await this.engine.resetFolder(undefined, id, CONTENT);

    const hookConfigs = this.config.types[this.typeName]?.hooks ?? [];
    let temp: string | undefined;
    let dir: string | undefined;
    if (hookConfigs.some((h) => h.event === 'post_upload' && h.command)) {
      // Operator command hooks read the package unpacked in {dir}: every file is materialised.
      temp = await fs.promises.mkdtemp(nodePath.join(os.tmpdir(), 'depot-onboard-'));
      dir = nodePath.join(temp, 'package');
    }
    try {
      const stored = await openStoredCsar({
        engine: this.engine, artifactId: id, pkg, folder: CONTENT, contentTypeOf, dir,
        index: (job.payload as { stream?: StreamIndex }).stream, limits: this.limits(), strict: this.config.onboarding.policy === 'strict',
        neededDigests: artifactSignatureDigests,
      });
      try {
        const result = await this.examine(artifact, stored, dir);
        if (hasErrors(result.findings) || !result.facts) return await this.fail(id, result.findings);
        if (!result.inspection.signedPackage && stored.singleFile) await this.decompose(pkg, stored.singleFile, result.inspection);
        await this.complete(id, pkg, { ...result, facts: result.facts });
      } finally {
        await stored.close();
      }
    } finally {
      if (temp) await fs.promises.rm(temp, { recursive: true, force: true });
    }
  }

  /** The archive's findings, what the stream saw, and the profile's (the descriptor, validated once). */
  private examine(artifact: ArtifactRecord, stored: StoredCsar, dir?: string): Promise<{ findings: Finding[]; inspection: CsarInspection; facts?: Facts; signature?: PackageSignature }> {
    return examinePackage(stored, {
      signatures: this.config.signatures,
      examine: (ctx) => this.profile.examine({ artifact, dir, ...ctx }),
    });
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
      await this.engine.attachSegments(t, pkg.id, staged.key, segments);
    });
  }

  /**
   * Fills the type's fields and activates the package (ONBOARDED) in one transaction, or ends it in
   * ERROR on a clash. Its descriptor id is unique among the project's onboarded packages (a lock per
   * descriptor id); its version is the first of the profile's candidates that no other package of
   * the name holds (a lock per name: two onboardings of one version cannot both take it).
   */
  private async complete(id: string, pkg: BlobRow, r: { findings: Finding[]; inspection: CsarInspection; facts: Facts; signature?: PackageSignature }): Promise<void> {
    const identity = this.profile.identity(r.facts);
    const fields: Record<string, unknown> = { ...this.profile.fields({ facts: r.facts, inspection: r.inspection, pkg, findings: r.findings, signature: r.signature }), onboardingState: 'ONBOARDED' };
    const name = identity.name.slice(0, 255);
    let version: string | undefined;
    try {
      const onboarded = await this.engine.transaction(async (t) => {
        const a = await this.engine.load(id, t);
        if (!a || a.fields.onboardingState !== 'PROCESSING') return false; // deleted meanwhile
        const late = (await this.profile.settle?.(t, a, r.facts)) ?? [];
        if (hasErrors(late)) throw new OnboardingClash(...late);
        await this.packages.lock(t, `${this.typeName}:${identity.field}:${a.owner}:${identity.value}`);
        const dup = await this.packages.onboardedWith(t, this.typeName, a.owner, identity.field, identity.value, id);
        if (dup) throw new OnboardingClash({ rule: identity.duplicateRule, severity: 'error', message: `${identity.field} ${identity.value} is already onboarded as package ${dup}`, file: r.inspection.entryDefinitions });
        await this.packages.lock(t, `${this.typeName}:name:${name}`);
        version = await this.freeVersion(t, a.owner, id, name, identity);
        if (!version) throw new OnboardingClash(this.duplicateVersion(name, identity));
        const after = await this.engine.activate(t, a, { fields, name, version });
        await this.profile.onboarded?.(t, after, { facts: r.facts, inspection: r.inspection });
        return true;
      });
      if (onboarded) this.log.info({ id, [identity.field]: identity.value, name, version }, `${this.profile.label} onboarded`);
    } catch (err: any) {
      if (err instanceof OnboardingClash) return this.fail(id, [...r.findings, ...err.findings]);
      // The locks above keep onboardings apart; this is another way to the same name and version.
      if (isDomainError(err, 'UNIQUE_VIOLATION') || (err?.original?.code ?? err?.parent?.code) === '23505') {
        return this.fail(id, [...r.findings, this.duplicateVersion(name, identity, version)]);
      }
      throw err;
    }
  }

  /** The first candidate version no other package of the name holds where it would clash. */
  private async freeVersion(t: Transaction, owner: string, id: string, name: string, identity: PackageIdentity): Promise<string | undefined> {
    const type = this.engine.type(this.typeName);
    for (const candidate of identity.versions) {
      const v = this.engine.version(candidate, type);
      if (!(await this.packages.versionTaken(t, this.typeName, owner, name, v.key, id))) return v.normalized;
    }
    return undefined;
  }

  private duplicateVersion(name: string, identity: PackageIdentity, version?: string): Finding {
    const v = version ?? this.engine.version(identity.versions[0], this.engine.type(this.typeName)).normalized;
    return { rule: this.rule('DUPLICATE-VERSION'), severity: 'error', message: `${name} version ${v} (${identity.describe}) is already onboarded in this project` };
  }
}

/** The package cannot be activated as it stands: it ends in ERROR with these findings. */
class OnboardingClash extends Error {
  readonly findings: Finding[];

  constructor(...findings: Finding[]) {
    super(findings[0]?.message);
    this.findings = findings;
  }
}
