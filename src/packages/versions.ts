import { createHash } from 'node:crypto';

/**
 * Generic versions of onboarded packages (the artifact's name/version in the generic API). A
 * descriptor's version string is read as SemVer (non-SemVer strings keep their numeric parts);
 * what tells descriptors apart goes into build metadata, which package types count
 * (versionBuildSignificant).
 */
export function semverBase(version: string): string {
  const semverish = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.-]+)?$/.exec(String(version).trim());
  return semverish
    ? `${semverish[1]}.${semverish[2] ?? 0}.${semverish[3] ?? 0}${semverish[4] ?? ''}`
    : (String(version).match(/\d+/g) ?? ['0']).slice(0, 3).concat(['0', '0']).slice(0, 3).map(Number).join('.');
}

/** Any string as dot-separated SemVer build identifiers ([0-9A-Za-z-], none empty). */
export function buildIdentifiers(s: string, max?: number): string {
  return String(s).slice(0, max).replace(/[^0-9A-Za-z.-]/g, '-').replace(/\.{2,}/g, '.').replace(/^\.|\.$/g, '') || '0';
}

/**
 * The versions a package may take, preferred first (the pipeline takes the first free one):
 * `plain`; that version with the descriptor id appended as further build identifiers (packages that
 * differ only in their descriptor id); and, should two ids read alike as identifiers (`a_b`,
 * `a-b`), the same with a short hash of the exact id.
 */
export function candidateVersions(plain: string, descriptorId: string): string[] {
  const told = `${plain}.${buildIdentifiers(descriptorId, 64)}`;
  return [plain, told, `${told}.h${createHash('sha256').update(descriptorId).digest('hex').slice(0, 12)}`];
}
