import type { Transaction } from 'sequelize';
import type { BlobRow } from '../artifacts/engine';
import type { ArtifactRecord } from '../artifacts/types';
import type { Finding } from '../common/findings';
import type { CsarArchive, CsarInspection } from '../csar';
import type { PackageSignature } from './signatures';

/**
 * Who an onboarded package is: its descriptor id (unique among a project's onboarded packages of
 * the type; SOL005 identifies a package by it) and its generic name and version.
 */
export interface PackageIdentity {
  /** The type field holding the descriptor id (e.g. `vnfdId`). */
  field: string;
  value: string;
  /** The rule of the finding when that descriptor id is already onboarded. */
  duplicateRule: string;
  name: string;
  /**
   * Versions the package may take, preferred first: the pipeline takes the first one that no
   * package of the same name holds (in the project, or publicly), under a lock per name. A profile
   * lists its plain version, then ones told apart by the descriptor id, so that packages that
   * differ only in their descriptor id all onboard with unique, sorted versions.
   */
  versions: string[];
  /** What the version stands for, in a finding's words (e.g. "software version 1.0, descriptor version 2"). */
  describe: string;
}

/**
 * What a CSAR-based package type adds to the generic pipeline (src/packages/onboarding.ts): its
 * descriptor, validated once per onboarding, how the descriptor's facts become the artifact's
 * fields and identity, and what the type's API says about a package. VNF packages
 * (src/modules/vnf-packages/profile.ts), NSD and PNFD archives (src/modules/ns-descriptors/profile.ts).
 *
 * The type itself must have the fields the pipeline drives: `onboardingState` (CREATED, UPLOADING,
 * PROCESSING, ONBOARDED, ERROR), `onboardingFailureDetails`, `onboardingFindings`, a `package` blob
 * (required on activation) and a `content` folder; its activation is `system`.
 */
export interface PackageProfile<Facts> {
  /** The artifact type name (e.g. `vnf_packages`). */
  readonly typeName: string;
  /** What a client calls one, in messages ("VNF package"). */
  readonly label: string;
  /** Prefix of the pipeline's rule ids (VNFPKG: VNFPKG-UPLOAD-FAILED, VNFPKG-FETCH-FAILED, ...). */
  readonly rulePrefix: string;
  /** The durable job kinds of processing and of upload_from_uri (kept in job rows: stable). */
  readonly jobs: { onboard: string; fetch: string };
  /** Type fields an onboarding derives from the package: forgotten when a new upload starts. */
  readonly derivedFields: readonly string[];
  /** A new package's placeholder name and its system fields besides onboardingState. */
  initial(id: string): { name: string; fields: Record<string, unknown> };
  /** An upload starts: the time to load what processing will need (e.g. the descriptor validator). */
  prepare?(): void;
  /**
   * Validates the descriptor (post_upload hooks included) and checks it against the package (the
   * manifest, image checksums against the digests at hand); `archive` reads the small files.
   * `signature`: the package's verified signature (its findings are the pipeline's), for the hooks.
   */
  examine(ctx: { artifact: ArtifactRecord; inspection: CsarInspection; archive: CsarArchive; dir?: string; signature?: PackageSignature }): Promise<{ findings: Finding[]; facts?: Facts }>;
  /** The artifact's type fields once onboarded (`signature`: as examine() had it). */
  fields(ctx: { facts: Facts; inspection: CsarInspection; pkg: BlobRow; findings: Finding[]; signature?: PackageSignature }): Record<string, unknown>;
  identity(facts: Facts): PackageIdentity;
  /** `onboardingFailureDetails` of a package whose onboarding failed (SOL005: a ProblemDetails). */
  failureDetails(id: string, findings: Finding[]): Record<string, unknown>;
  /**
   * What must still hold when the package is activated, checked in that transaction before it (e.g.
   * that the descriptors it refers to are still onboarded, locked against deletion until the
   * commit). Error findings end the package in ERROR instead.
   */
  settle?(t: Transaction, artifact: ArtifactRecord, facts: Facts): Promise<Finding[]>;
  /**
   * Runs in the transaction that onboards the package (SOL005: the onboarding notification; the
   * artifacts the package brings with it, e.g. its software images as images, ArtifactEngine.derive).
   */
  onboarded?(t: Transaction, after: ArtifactRecord, ctx: { facts: Facts; inspection: CsarInspection }): Promise<void>;
  /** Runs in the transaction that ends the package in ERROR (SOL005 NSD management: the failure notification). */
  failed?(t: Transaction, after: ArtifactRecord): Promise<void>;
}
