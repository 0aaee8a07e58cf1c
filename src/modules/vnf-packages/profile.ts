import type { Transaction } from 'sequelize';
import type { Logger } from 'pino';
import type { ArtifactEngine } from '../../artifacts/engine';
import type { ArtifactRecord } from '../../artifacts/types';
import { Finding, formatFinding } from '../../common/findings';
import { TOSCA_META_PATH, type CsarInspection } from '../../csar';
import type { JobQueue } from '../../jobs/queue';
import { contentTypeOf } from '../../packages/content-type';
import type { PackageIdentity, PackageProfile } from '../../packages/profile';
import { securityFiles } from '../../packages/signatures';
import { buildIdentifiers, candidateVersions, semverBase } from '../../packages/versions';
import type { VnfdFacts } from '../../tosca';
import { examineVnfPackage } from './examine';
import { derivePackageImages } from './images';
import { packageEvent, recordPackageEvent } from './notifications';
import { VNF_PACKAGES } from './type';

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
 * Generic version of a package: the software version read as SemVer (non-SemVer strings keep their
 * numeric parts), the descriptor version as build metadata. See type.ts.
 */
export function packageVersion(software: string, descriptor: string): string {
  return `${semverBase(software)}+vnfd.${buildIdentifiers(descriptor)}`;
}

/**
 * The versions a package may take, preferred first: `<sw>+vnfd.<vnfdVersion>`; when another vnfdId
 * holds it (vendors ship operator-specific VNFDs of one product version), that version told apart
 * by the vnfdId (src/packages/versions.ts).
 */
export function packageVersions(software: string, descriptor: string, vnfdId: string): string[] {
  return candidateVersions(packageVersion(software, descriptor), vnfdId);
}

export class VnfPackageProfile implements PackageProfile<VnfdFacts> {
  readonly typeName = VNF_PACKAGES;
  readonly label = 'VNF package';
  readonly rulePrefix = 'VNFPKG';
  readonly jobs = { onboard: 'vnf_package.onboard', fetch: 'vnf_package.fetch' };
  readonly derivedFields = ['softwareImages', 'additionalArtifacts', 'checksum', 'descriptor', 'signingCertificate'];
  private warming?: Promise<void>;

  constructor(
    private readonly engine: ArtifactEngine,
    private readonly log: Logger,
    /** Where the images' checksum job goes; without one (a profile tested alone) no images are derived. */
    private readonly queue?: JobQueue,
  ) {}

  initial(id: string) {
    return { name: `vnf-package-${id}`, fields: { usageState: 'NOT_IN_USE' } };
  }

  /**
   * Loads the TOSCA validator and parses its catalog (~250 ms, 8–10 MB resident) when the first
   * upload starts rather than at start: an idle server stays small, and the first processing,
   * after the last byte, does not pay for it (docs/onboarding.md).
   */
  prepare(): void {
    this.warming ??= (require('../../tosca') as typeof import('../../tosca')).warmUp().catch((err) => this.log.warn({ err }, 'TOSCA validator warm-up failed'));
  }

  examine({ artifact, inspection, archive, dir, signature }: Parameters<PackageProfile<VnfdFacts>['examine']>[0]): Promise<{ findings: Finding[]; facts?: VnfdFacts }> {
    const hooks = this.engine.hooks(this.engine.type(VNF_PACKAGES));
    return examineVnfPackage({
      inspection, archive, signature,
      postUpload: (files, entry, results) => hooks.run({ event: 'post_upload', artifact, field: 'package', files, entry, results, dir }),
    });
  }

  fields({ facts: f, inspection, pkg, findings, signature }: Parameters<PackageProfile<VnfdFacts>['fields']>[0]): Record<string, unknown> {
      const digests = inspection.digests;
      const entryNames = new Set(inspection.entries.map((e) => e.name));
      const imagePaths = new Set(f.softwareImages.map((i) => i.imagePath?.replace(/^\.\//, '')).filter(Boolean) as string[]);
      const descriptorFiles = f.descriptorFiles;
      const manifestPath = inspection.manifest?.path;
      const security = securityFiles(inspection);
      // SOL005 §6.2: signature and certificate files are not additional artifacts, whatever their names.
      const excluded = new Set<string>([...descriptorFiles, ...imagePaths, TOSCA_META_PATH, ...(manifestPath ? [manifestPath] : []), ...security.certificates, ...Object.values(security.artifacts).flat()]);
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
      return {
        vnfdId: f.vnfdId, vnfProvider: f.vnfProvider, vnfProductName: f.vnfProductName, vnfSoftwareVersion: f.vnfSoftwareVersion, vnfdVersion: f.vnfdVersion,
        vnfmInfo: f.vnfmInfo ?? [],
        compatibleSpecificationVersions: csv(md?.compatible_specification_versions?.value),
        packageSecurityOption: inspection.packageSecurityOption,
        ...(signature?.certificate && { signingCertificate: signature.certificate.pem }),
        checksum: { algorithm: 'SHA-256', hash: pkg.digests.sha256 },
        softwareImages,
        additionalArtifacts,
        usageState: 'NOT_IN_USE',
        onboardingFindings: findings,
        descriptor: { files: descriptorFiles, meta: entryNames.has(TOSCA_META_PATH) ? TOSCA_META_PATH : undefined, manifest: manifestPath, entry: inspection.entryDefinitions, security },
      };
  }

  /**
   * SOL005 identifies a package by its vnfdId: one onboarded package per vnfdId in a project. Its
   * generic name is "<provider>/<product>", its version packageVersions()' first free one.
   */
  identity(f: VnfdFacts): PackageIdentity {
    return {
      field: 'vnfdId', value: f.vnfdId!, duplicateRule: 'VNFPKG-DUPLICATE-VNFD-ID',
      name: `${f.vnfProvider}/${f.vnfProductName}`,
      versions: packageVersions(f.vnfSoftwareVersion!, f.vnfdVersion!, f.vnfdId!),
      describe: `software version ${f.vnfSoftwareVersion}, descriptor version ${f.vnfdVersion}`,
    };
  }

  failureDetails(id: string, findings: Finding[]): Record<string, unknown> {
    return failureDetails(findings, `/vnfpkgm/v2/vnf_packages/${id}`);
  }

  /**
   * In the onboarding's own transaction: the package's software images become images (read-only,
   * following the package, `saving` until their checksum job ends: src/modules/vnf-packages/images.ts),
   * and the SOL005 VnfPackageOnboardingNotification goes to the outbox.
   */
  async onboarded(t: Transaction, after: ArtifactRecord, { facts, inspection }: { facts: VnfdFacts; inspection: CsarInspection }): Promise<void> {
    if (this.queue) await derivePackageImages(this.engine, this.queue, t, after, facts, inspection);
    await recordPackageEvent(this.engine.sequelize, t, packageEvent(after, 'VnfPackageOnboardingNotification'));
  }
}
