import { createHash } from 'node:crypto';
import { finished } from 'node:stream/promises';
import type { Transaction } from 'sequelize';
import type { Logger } from 'pino';
import type { ArtifactEngine } from '../../artifacts/engine';
import type { ArtifactRecord } from '../../artifacts/types';
import { Finding, formatFinding } from '../../common/findings';
import { checkSoftwareImages, crossCheckManifest, CsarError, csarFiles, normaliseAlgorithm, TOSCA_META_PATH } from '../../csar';
import type { CsarArchive, CsarInspection, HashAlgorithm } from '../../csar';
import { contentTypeOf } from '../../packages/content-type';
import type { PackageIdentity, PackageProfile } from '../../packages/profile';
import type { VnfdFacts } from '../../tosca';
import { IMAGE_DIGESTS, IMAGES, localImagePath, packageImages } from './images';
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
  const semverish = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.-]+)?$/.exec(String(software).trim());
  const base = semverish
    ? `${semverish[1]}.${semverish[2] ?? 0}.${semverish[3] ?? 0}${semverish[4] ?? ''}`
    : (String(software).match(/\d+/g) ?? ['0']).slice(0, 3).concat(['0', '0']).slice(0, 3).map(Number).join('.');
  return `${base}+vnfd.${buildIdentifiers(descriptor)}`;
}

/** Any string as dot-separated SemVer build identifiers ([0-9A-Za-z-], none empty). */
function buildIdentifiers(s: string, max?: number): string {
  return String(s).slice(0, max).replace(/[^0-9A-Za-z.-]/g, '-').replace(/\.{2,}/g, '.').replace(/^\.|\.$/g, '') || '0';
}

/**
 * The versions a package may take, preferred first: `<sw>+vnfd.<vnfdVersion>`; when another vnfdId
 * holds it (vendors ship operator-specific VNFDs of one product version), that version with the
 * vnfdId appended as further build identifiers, which for this type count and sort after the plain
 * one (versionBuildSignificant); and, should two vnfdIds read alike as identifiers (`a_b`, `a-b`),
 * the same with a short hash of the exact vnfdId.
 */
export function packageVersions(software: string, descriptor: string, vnfdId: string): string[] {
  const plain = packageVersion(software, descriptor);
  const told = `${plain}.${buildIdentifiers(vnfdId, 64)}`;
  return [plain, told, `${told}.h${createHash('sha256').update(vnfdId).digest('hex').slice(0, 12)}`];
}

export class VnfPackageProfile implements PackageProfile<VnfdFacts> {
  readonly typeName = VNF_PACKAGES;
  readonly label = 'VNF package';
  readonly rulePrefix = 'VNFPKG';
  readonly jobs = { onboard: 'vnf_package.onboard', fetch: 'vnf_package.fetch' };
  readonly derivedFields = ['softwareImages', 'additionalArtifacts', 'checksum', 'descriptor'];
  /** The images a package brings (src/modules/vnf-packages/images.ts) are served with MD5 and SHA-512: computed on the upload's pass. */
  readonly splitDigests?: readonly HashAlgorithm[];
  private warming?: Promise<void>;

  constructor(
    private readonly engine: ArtifactEngine,
    private readonly log: Logger,
  ) {
    if (engine.types.get(IMAGES)) this.splitDigests = IMAGE_DIGESTS;
  }

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

  async examine({ artifact, inspection, archive, dir, signature }: Parameters<PackageProfile<VnfdFacts>['examine']>[0]): Promise<{ findings: Finding[]; facts?: VnfdFacts }> {
    const findings: Finding[] = [];
    const results: Record<string, unknown> = signature ? { signature } : {};
    findings.push(...(await this.engine.hooks(this.engine.type(VNF_PACKAGES)).run({ event: 'post_upload', artifact, field: 'package', files: csarFiles(archive), entry: inspection.entryDefinitions, results, dir })));
    const facts = results.vnfd as VnfdFacts | undefined;
    if (!facts) return { findings };
    findings.push(...(await this.imageDigests(facts, inspection, archive)));
    if (inspection.manifest) findings.push(...crossCheckManifest(inspection.manifest, facts));
    findings.push(...checkSoftwareImages(facts.softwareImages, inspection.digests, inspection.entries));
    for (const [k, v] of [['descriptor_id', facts.vnfdId], ['provider', facts.vnfProvider], ['product_name', facts.vnfProductName], ['software_version', facts.vnfSoftwareVersion], ['descriptor_version', facts.vnfdVersion]] as const) {
      if (!v && !findings.some((f) => f.rule.startsWith('SOL001-VNF'))) findings.push({ rule: 'VNFPKG-VNFD-IDENTITY', severity: 'error', message: `the VNF node has no ${k}`, file: inspection.entryDefinitions });
    }
    return { findings, facts };
  }

  fields({ facts: f, inspection, pkg, findings }: Parameters<PackageProfile<VnfdFacts>['fields']>[0]): Record<string, unknown> {
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
      return {
        vnfdId: f.vnfdId, vnfProvider: f.vnfProvider, vnfProductName: f.vnfProductName, vnfSoftwareVersion: f.vnfSoftwareVersion, vnfdVersion: f.vnfdVersion,
        vnfmInfo: f.vnfmInfo ?? [],
        compatibleSpecificationVersions: csv(md?.compatible_specification_versions?.value),
        packageSecurityOption: inspection.packageSecurityOption,
        checksum: { algorithm: 'SHA-256', hash: pkg.digests.sha256 },
        softwareImages,
        additionalArtifacts,
        usageState: 'NOT_IN_USE',
        onboardingFindings: findings,
        descriptor: { files: descriptorFiles, meta: entryNames.has(TOSCA_META_PATH) ? TOSCA_META_PATH : undefined, manifest: manifestPath, entry: inspection.entryDefinitions },
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
   * following the package: src/modules/vnf-packages/images.ts), and the SOL005
   * VnfPackageOnboardingNotification goes to the outbox.
   */
  async onboarded(t: Transaction, after: ArtifactRecord, { facts, inspection }: { facts: VnfdFacts; inspection: CsarInspection }): Promise<void> {
    await this.engine.derive(t, after, await packageImages(this.engine, t, after, facts, inspection));
    await recordPackageEvent(this.engine.sequelize, t, packageEvent(after, 'VnfPackageOnboardingNotification'));
  }

  /**
   * Digests of an image file the upload did not compute: its sw_image_data checksum's algorithm
   * (when neither SHA-256 nor one the manifest asked for), and MD5 and SHA-512 when the image is
   * served as an image (computed while streaming for split entries; a small or deflated image, or
   * one after the stream lost sync, misses them). The image entry alone is read once more, for the
   * missing algorithms only. This is the one second read of image bytes a streamed onboarding can
   * need (docs/onboarding.md, "When bytes are read a second time").
   */
  private async imageDigests(facts: VnfdFacts, inspection: CsarInspection, archive: CsarArchive): Promise<Finding[]> {
    const findings: Finding[] = [];
    const served = this.engine.types.get(IMAGES) !== undefined;
    for (const img of facts.softwareImages) {
      const name = localImagePath(img.imagePath);
      const have = name ? inspection.digests.get(name) : undefined;
      if (!name || !have || !archive.getEntry(name)) continue;
      const checksum = img.checksum && normaliseAlgorithm(img.checksum.algorithm);
      const wanted: HashAlgorithm[] = [...(checksum ? [checksum] : []), ...(served ? IMAGE_DIGESTS : [])];
      const missing = [...new Set(wanted)].filter((a) => !have[a]);
      if (!missing.length) continue;
      try {
        const { stream, digests } = await archive.openDigestingEntry(name, missing);
        await finished(stream.resume());
        Object.assign(have, digests);
      } catch (err) {
        if (!(err instanceof CsarError)) throw err;
        findings.push({ rule: err.rule, severity: 'error', message: err.message, file: name });
      }
    }
    return findings;
  }
}
