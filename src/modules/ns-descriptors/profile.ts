import type { Transaction } from 'sequelize';
import type { Logger } from 'pino';
import type { ArtifactEngine } from '../../artifacts/engine';
import type { ArtifactRecord } from '../../artifacts/types';
import { Finding, formatFinding } from '../../common/findings';
import { csarFiles, TOSCA_META_PATH } from '../../csar';
import type { CsarInspection } from '../../csar';
import { PackagesRepository } from '../../db/repositories/packages';
import type { PackageIdentity, PackageProfile } from '../../packages/profile';
import { buildIdentifiers, candidateVersions, semverBase } from '../../packages/versions';
import type { DescriptorReference, NsdFacts, PnfdFacts } from '../../tosca';
import { VNF_PACKAGES } from '../vnf-packages/type';
import { recordNsdmEvent, type NsdmNotificationType } from './notifications';
import { NS_DESCRIPTORS, PNF_DESCRIPTORS } from './type';

type Examined<F> = { findings: Finding[]; facts?: F };
type ExamineContext = Parameters<PackageProfile<unknown>['examine']>[0];

/**
 * What NSD and PNFD archives share as package profiles (src/packages/profile.ts): the placeholder,
 * the descriptor validator run as the type's post_upload hook, the manifest metadata cross-check,
 * the SOL005 failure details and the NSD Management notifications.
 */
abstract class DescriptorProfile<F extends { descriptorFiles: string[] }> implements PackageProfile<F> {
  abstract readonly typeName: string;
  abstract readonly label: string;
  abstract readonly rulePrefix: string;
  abstract readonly jobs: { onboard: string; fetch: string };
  abstract readonly derivedFields: readonly string[];
  /** the key under which the validation hook leaves its facts, and the API's resource name */
  protected abstract readonly kind: 'nsd' | 'pnfd';
  protected abstract readonly notifications: { onboarded: NsdmNotificationType; failed: NsdmNotificationType };
  /** manifest metadata key → [fact, descriptor property] that must agree (SOL007 / SOL004 metadata) */
  protected abstract readonly manifestKeys: [string, keyof F & string, string][];
  private warming?: Promise<void>;

  constructor(
    protected readonly engine: ArtifactEngine,
    private readonly log: Logger,
  ) {}

  initial(id: string) {
    return { name: `${this.kind}-${id}`, fields: { usageState: 'NOT_IN_USE' } };
  }

  /** The TOSCA validator loads when the first upload starts (see the VNF profile). */
  prepare(): void {
    this.warming ??= (require('../../tosca') as typeof import('../../tosca')).warmUp().catch((err) => this.log.warn({ err }, 'TOSCA validator warm-up failed'));
  }

  async examine({ artifact, inspection, archive, dir, signature }: ExamineContext): Promise<Examined<F>> {
    const findings: Finding[] = [];
    const results: Record<string, unknown> = signature ? { signature } : {};
    findings.push(...(await this.engine.hooks(this.engine.type(this.typeName)).run({ event: 'post_upload', artifact, field: 'package', files: csarFiles(archive), entry: inspection.entryDefinitions, results, dir })));
    const facts = results[this.kind] as F | undefined;
    if (!facts) return { findings };
    findings.push(...this.crossCheckManifest(inspection, facts));
    findings.push(...(await this.examineFacts(artifact, facts, inspection)));
    return { findings, facts };
  }

  /** The type's own checks of the validated descriptor (identity, references). */
  protected abstract examineFacts(artifact: ArtifactRecord, facts: F, inspection: CsarInspection): Promise<Finding[]>;

  /** The manifest's metadata names the descriptor too: both must say the same. */
  private crossCheckManifest(inspection: CsarInspection, facts: F): Finding[] {
    const md = inspection.manifest?.metadata;
    if (!md) return [];
    const out: Finding[] = [];
    for (const [key, fact, property] of this.manifestKeys) {
      const m = md[key];
      const v = facts[fact];
      if (m && v !== undefined && String(v) !== m.value) {
        out.push({ rule: `${this.rulePrefix}-MANIFEST-MISMATCH`, severity: 'error', message: `manifest metadata ${key} "${m.value}" differs from the descriptor's ${property} "${String(v)}"`, file: inspection.manifest!.path, line: m.line });
      }
    }
    return out;
  }

  protected descriptor(facts: F, inspection: CsarInspection): Record<string, unknown> {
    const names = new Set(inspection.entries.map((e) => e.name));
    return { files: facts.descriptorFiles, meta: names.has(TOSCA_META_PATH) ? TOSCA_META_PATH : undefined, manifest: inspection.manifest?.path, entry: inspection.entryDefinitions };
  }

  abstract fields(ctx: Parameters<PackageProfile<F>['fields']>[0]): Record<string, unknown>;
  abstract identity(facts: F): PackageIdentity;

  failureDetails(id: string, findings: Finding[]): Record<string, unknown> {
    const errors = findings.filter((f) => f.severity === 'error');
    return {
      type: `https://depot.invalid/problems/${this.kind}-onboarding`,
      title: `${this.label} onboarding failed`,
      status: 422,
      detail: `${errors.length} error(s)${errors.length ? `; first: ${formatFinding(errors[0])}` : ''}`,
      instance: `/nsd/v1/${this.typeName}/${id}`,
      findings,
    };
  }

  async onboarded(t: Transaction, after: ArtifactRecord): Promise<void> {
    await recordNsdmEvent(this.engine.sequelize, t, after, this.notifications.onboarded);
  }

  async failed(t: Transaction, after: ArtifactRecord): Promise<void> {
    await recordNsdmEvent(this.engine.sequelize, t, after, this.notifications.failed);
  }
}

/** Where an onboarded NSD's references are looked up, and what they become in NsdInfo. */
const REFERENCES = {
  vnfd: { type: VNF_PACKAGES, field: 'vnfdId', ids: 'vnfPkgIds', links: 'vnfPackages', what: 'VNFD', holder: 'VNF package', rule: 'NSD-VNFD-NOT-ONBOARDED' },
  pnfd: { type: PNF_DESCRIPTORS, field: 'pnfdId', ids: 'pnfdInfoIds', links: 'pnfDescriptors', what: 'PNFD', holder: 'PNF descriptor', rule: 'NSD-PNFD-NOT-ONBOARDED' },
  nsd: { type: NS_DESCRIPTORS, field: 'nsdId', ids: 'nestedNsdInfoIds', links: 'nestedNsds', what: 'nested NSD', holder: 'NS descriptor', rule: 'NSD-NESTED-NSD-NOT-ONBOARDED' },
} as const;

/** NSD facts with the ids of the onboarded descriptors its references resolved to. */
export type ResolvedNsd = NsdFacts & { resolved?: Record<DescriptorReference['kind'], string[]> };

/**
 * SOL007 NSD archives. Every VNFD, PNFD and nested NSD the NSD refers to must be onboarded and
 * visible to the NSD's project (its own, public or shared with it), or the NSD ends in ERROR with a
 * finding at the reference's line; those found become NsdInfo's vnfPkgIds, pnfdInfoIds and
 * nestedNsdInfoIds, and links that keep them from being deleted while the NSD is onboarded.
 */
export class NsdProfile extends DescriptorProfile<ResolvedNsd> {
  readonly typeName = NS_DESCRIPTORS;
  readonly label = 'NSD';
  readonly rulePrefix = 'NSD';
  readonly jobs = { onboard: 'ns_descriptor.onboard', fetch: 'ns_descriptor.fetch' };
  readonly derivedFields = ['descriptor', 'vnfPkgIds', 'pnfdInfoIds', 'nestedNsdInfoIds', 'vnfPackages', 'pnfDescriptors', 'nestedNsds'];
  protected readonly kind = 'nsd';
  protected readonly notifications = { onboarded: 'NsdOnboardingNotification', failed: 'NsdOnboardingFailureNotification' } as const;
  protected readonly manifestKeys: [string, keyof ResolvedNsd & string, string][] = [
    ['nsd_designer', 'nsdDesigner', 'designer'], ['nsd_invariant_id', 'nsdInvariantId', 'invariant_id'], ['nsd_name', 'nsdName', 'name'],
  ];

  protected async examineFacts(artifact: ArtifactRecord, facts: ResolvedNsd, inspection: CsarInspection): Promise<Finding[]> {
    const findings: Finding[] = [];
    for (const [k, v] of [['descriptor_id', facts.nsdId], ['name', facts.nsdName], ['version', facts.nsdVersion], ['designer', facts.nsdDesigner], ['invariant_id', facts.nsdInvariantId]] as const) {
      if (!v) findings.push({ rule: 'NSD-IDENTITY', severity: 'error', message: `the NS node gives no ${k}`, file: inspection.entryDefinitions });
    }
    const packages = new PackagesRepository(this.engine.sequelize);
    const resolved: Record<DescriptorReference['kind'], string[]> = { vnfd: [], pnfd: [], nsd: [] };
    for (const ref of facts.references) {
      const r = REFERENCES[ref.kind];
      const id = await packages.onboardedVisibleTo(artifact.owner, r.type, r.field, ref.id);
      if (id) {
        if (!resolved[ref.kind].includes(id)) resolved[ref.kind].push(id);
        continue;
      }
      findings.push({
        rule: r.rule, severity: 'error', file: ref.file, line: ref.line, path: `topology_template/node_templates/${ref.node}/properties/descriptor_id`,
        message: `node ${ref.node} refers to ${r.what} ${ref.id}, which no onboarded ${r.holder} visible to this project holds; onboard it first`,
      });
    }
    facts.resolved = resolved;
    return findings;
  }

  /**
   * What the references resolved to must still be there when the NSD is activated: they are
   * locked until the commit (a delete of one waits, then meets the NSD's link: 409), and one deleted
   * since the check ends the NSD in ERROR like a reference never onboarded.
   */
  async settle(t: Transaction, artifact: ArtifactRecord, facts: ResolvedNsd): Promise<Finding[]> {
    const resolved = facts.resolved ?? { vnfd: [], pnfd: [], nsd: [] };
    const wanted = [...resolved.vnfd, ...resolved.pnfd, ...resolved.nsd];
    const present = new Set(await new PackagesRepository(this.engine.sequelize).lockOnboardedVisible(t, artifact.owner, wanted));
    const findings: Finding[] = [];
    for (const kind of ['vnfd', 'pnfd', 'nsd'] as const) {
      for (const id of resolved[kind].filter((x) => !present.has(x))) {
        const r = REFERENCES[kind];
        findings.push({ rule: r.rule, severity: 'error', message: `the ${r.holder} ${id} that held a ${r.what} the NSD refers to was deleted or changed while the NSD was processed; onboard it again` });
      }
    }
    return findings;
  }

  fields({ facts: f, inspection, findings }: Parameters<PackageProfile<ResolvedNsd>['fields']>[0]): Record<string, unknown> {
    const resolved = f.resolved ?? { vnfd: [], pnfd: [], nsd: [] };
    const links = (kind: DescriptorReference['kind']) => resolved[kind].map((id) => `/artifacts/${REFERENCES[kind].type}/${id}`);
    return {
      nsdId: f.nsdId, nsdName: f.nsdName, nsdVersion: f.nsdVersion, nsdDesigner: f.nsdDesigner, nsdInvariantId: f.nsdInvariantId,
      vnfPkgIds: resolved.vnfd, pnfdInfoIds: resolved.pnfd, nestedNsdInfoIds: resolved.nsd,
      vnfPackages: links('vnfd'), pnfDescriptors: links('pnfd'), nestedNsds: links('nsd'),
      usageState: 'NOT_IN_USE',
      onboardingFindings: findings,
      descriptor: this.descriptor(f, inspection),
    };
  }

  /** One onboarded NSD per nsdId in a project; named "<designer>/<name>". */
  identity(f: ResolvedNsd): PackageIdentity {
    return {
      field: 'nsdId', value: f.nsdId!, duplicateRule: 'NSD-DUPLICATE-NSD-ID',
      name: `${f.nsdDesigner}/${f.nsdName}`,
      versions: candidateVersions(`${semverBase(f.nsdVersion!)}+nsd.${buildIdentifiers(f.nsdVersion!)}`, f.nsdId!),
      describe: `NSD version ${f.nsdVersion}`,
    };
  }
}

/** PNFD archives: one PNF node gives PnfdInfo; nothing it refers to needs onboarding. */
export class PnfdProfile extends DescriptorProfile<PnfdFacts> {
  readonly typeName = PNF_DESCRIPTORS;
  readonly label = 'PNFD';
  readonly rulePrefix = 'PNFD';
  readonly jobs = { onboard: 'pnf_descriptor.onboard', fetch: 'pnf_descriptor.fetch' };
  readonly derivedFields = ['descriptor'];
  protected readonly kind = 'pnfd';
  protected readonly notifications = { onboarded: 'PnfdOnboardingNotification', failed: 'PnfdOnboardingFailureNotification' } as const;
  protected readonly manifestKeys: [string, keyof PnfdFacts & string, string][] = [
    ['pnfd_provider', 'pnfdProvider', 'provider'], ['pnfd_name', 'pnfdName', 'name'], ['pnfd_archive_version', 'pnfdVersion', 'version'],
  ];

  protected async examineFacts(_artifact: ArtifactRecord, facts: PnfdFacts, inspection: CsarInspection): Promise<Finding[]> {
    const findings: Finding[] = [];
    for (const [k, v] of [['descriptor_id', facts.pnfdId], ['name', facts.pnfdName], ['version', facts.pnfdVersion], ['provider', facts.pnfdProvider], ['descriptor_invariant_id', facts.pnfdInvariantId]] as const) {
      if (!v) findings.push({ rule: 'PNFD-IDENTITY', severity: 'error', message: `the PNF node gives no ${k}`, file: inspection.entryDefinitions });
    }
    return findings;
  }

  fields({ facts: f, inspection, findings }: Parameters<PackageProfile<PnfdFacts>['fields']>[0]): Record<string, unknown> {
    return {
      pnfdId: f.pnfdId, pnfdName: f.pnfdName, pnfdVersion: f.pnfdVersion, pnfdProvider: f.pnfdProvider, pnfdInvariantId: f.pnfdInvariantId,
      usageState: 'NOT_IN_USE',
      onboardingFindings: findings,
      descriptor: this.descriptor(f, inspection),
    };
  }

  /** One onboarded PNFD per pnfdId in a project; named "<provider>/<name>". */
  identity(f: PnfdFacts): PackageIdentity {
    return {
      field: 'pnfdId', value: f.pnfdId!, duplicateRule: 'PNFD-DUPLICATE-PNFD-ID',
      name: `${f.pnfdProvider}/${f.pnfdName}`,
      versions: candidateVersions(`${semverBase(f.pnfdVersion!)}+pnfd.${buildIdentifiers(f.pnfdVersion!)}`, f.pnfdId!),
      describe: `PNFD version ${f.pnfdVersion}`,
    };
  }
}
