/**
 * Artifact versions: SemVer 2.0, read leniently (`1` and `1.0` mean 1.0.0, as Glare did), and stored
 * with a sort key whose byte order (COLLATE "C") is SemVer precedence, so ordering, ranges and
 * `latest` are plain indexed SQL. Build metadata is kept for display but, per SemVer §10, plays no
 * part in precedence or uniqueness.
 */
export interface ParsedVersion {
  normalized: string;
  key: string;
}

const RE = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;
const MAX = 9_999_999_999;

export class VersionError extends Error {}

const pad = (n: string) => n.padStart(10, '0');

/**
 * `buildSignificant`: for types whose build metadata is a real discriminator (a VNF package's
 * descriptor version), it becomes a secondary sort key and part of uniqueness.
 */
export function parseVersion(input: unknown, buildSignificant = false): ParsedVersion {
  const text = typeof input === 'number' ? String(input) : input;
  if (typeof text !== 'string' || text.length > 255) throw new VersionError(`invalid version ${JSON.stringify(input)}: expected a semantic version such as 1.2.3`);
  const m = RE.exec(text.trim());
  if (!m) throw new VersionError(`invalid version ${JSON.stringify(input)}: expected a semantic version such as 1.2.3`);
  const nums = [m[1], m[2] ?? '0', m[3] ?? '0'].map((n) => {
    if (Number(n) > MAX) throw new VersionError(`invalid version ${JSON.stringify(input)}: component ${n} is larger than ${MAX}`);
    return String(Number(n));
  });
  const pre = m[4];
  const build = m[5];
  const preIds = pre ? pre.split('.') : [];
  for (const id of preIds) {
    if (/^\d+$/.test(id) && id.length > 1 && id.startsWith('0')) throw new VersionError(`invalid version ${JSON.stringify(input)}: numeric pre-release identifier ${id} has a leading zero`);
    if (/^\d+$/.test(id) && Number(id) > MAX) throw new VersionError(`invalid version ${JSON.stringify(input)}: pre-release identifier ${id} is too large`);
  }
  const normalized = `${nums.join('.')}${pre ? `-${pre}` : ''}${build ? `+${build}` : ''}`;
  // Numeric identifiers sort below alphanumeric ones: digits (0x30..) come before the "~" prefix.
  const preKey = preIds.map((id) => (/^\d+$/.test(id) ? pad(id) : `~${id}`)).join('.');
  const buildKey = buildSignificant && build ? `+${build.split('.').map((id) => (/^\d+$/.test(id) ? pad(String(Number(id))) : `~${id}`)).join('.')}` : '';
  const key = `${nums.map(pad).join('.')}${pre ? `-${preKey}` : '~'}${buildKey}`;
  return { normalized, key };
}
