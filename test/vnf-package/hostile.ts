import { buildZip, patchField, renameEntry, sha256, truncate } from '../helpers/csar-builder';
import { buildPackage, imageBytes, packageFiles } from './helpers';

/**
 * The hostile archives onboarding must reject, each with the rule ids it must end with: shared by the
 * onboarding test (through the service) and `depot validate`'s (the same checks on the command line).
 * `evil` is the file name a `..` entry would write outside the unpack folder. The entry-count case
 * assumes `onboarding.maxEntries` at most 200 (the onboarding test's configuration).
 */
export function hostileCases(evil: string): [string, () => Promise<Buffer>, string[]][] {
  const base = () => packageFiles({});
  /** A valid package plus one placeholder entry renamed to the hostile name after zipping. */
  async function withRenamed(placeholder: string, hostile: string): Promise<Buffer> {
    const { files } = base();
    return buildZip({ ...files, [placeholder]: 'boom\n', 'manifest.mf': manifestOf(zipFilesManifest(files)) }, { patch: [renameEntry(placeholder, hostile)] });
  }
  const cases: [string, () => Promise<Buffer>, string[]][] = [
    ['`..` segments (escaping the unpack folder)', () => withRenamed(`xx/xx/xx/xx/xx/xx/xx/xx/${evil}`, `../../../../../../../../${evil}`), ['CSAR-ZIP-SLIP']],
    ['absolute path', () => withRenamed(`x${tmpPad(evil)}`, `/${tmpPad(evil)}`), ['CSAR-ZIP-SLIP']],
    ['backslash', () => withRenamed('Files/a/evil.txt', 'Files\\a\\evil.txt'), ['CSAR-ZIP-SLIP']],
    ['NUL in a name', () => withRenamed('Files/aXb.txt', 'Files/a\u0000b.txt'), ['CSAR-ZIP-BAD-NAME']],
    ['symlink entry', async () => {
      const { files } = base();
      return buildZip({ ...files, 'Files/link': '/etc/passwd' }, { entries: { 'Files/link': { mode: 0o120777 } }, manifest: { metadata: META_BLOCK } });
    }, ['CSAR-ZIP-SYMLINK']],
    ['duplicate name', async () => {
      const { files } = base();
      return buildZip({ ...files, 'Files/a.txt': 'one', 'Files/b.txt': 'two' }, { manifest: { metadata: META_BLOCK, files: [...Object.keys(files).filter((f) => f !== 'TOSCA-Metadata/TOSCA.meta'), 'Files/a.txt'] }, patch: [renameEntry('Files/b.txt', 'Files/a.txt')] });
    }, ['CSAR-ZIP-DUPLICATE']],
    ['case collision', async () => {
      const { files } = base();
      return buildZip({ ...files, 'Files/Readme.txt': 'one', 'Files/README.txt': 'two' }, { manifest: { metadata: META_BLOCK } });
    }, ['CSAR-ZIP-CASE-COLLISION']],
    ['truncated archive', async () => {
      const { files } = base();
      const zip = await buildZip({ ...files, 'Files/a.bin': imageBytes(20_000) }, { manifest: { metadata: META_BLOCK } });
      return truncate(Math.floor(zip.length * 0.6))(zip);
    }, ['CSAR-ZIP-CORRUPT']],
    ['zip bomb (extreme ratio)', async () => {
      const { files } = base();
      return buildZip({ ...files, 'Files/zeros.bin': Buffer.alloc(16 * 1024 * 1024) }, { manifest: { metadata: META_BLOCK } });
    }, ['CSAR-ZIP-BOMB']],
    ['zip bomb (entry inflates past its declared size)', async () => {
      const { files } = base();
      return buildZip({ ...files, 'Files/liar.bin': Buffer.alloc(200_000, 1) }, { manifest: { metadata: META_BLOCK }, patch: [patchField('Files/liar.bin', 'uncompressedSize', 1000, 'central')] });
    }, ['CSAR-ZIP-BOMB']],
    ['too many entries (limit 200)', async () => {
      const { files } = base();
      const many: Record<string, string | Buffer> = { ...files };
      for (let i = 0; i < 250; i++) many[`Files/f${i}.txt`] = String(i);
      return buildZip(many, { manifest: { metadata: META_BLOCK } });
    }, ['CSAR-ZIP-TOO-MANY-ENTRIES']],
    ['security option 2 (a deflated inner CSAR) whose CMS and certificate are garbage', async () => {
      const inner = await buildPackage({});
      return buildZip({ 'pkg.csar': inner, 'pkg.cms': '-----BEGIN CMS-----\nAAAA\n-----END CMS-----\n', 'pkg.cert': 'x' });
    }, ['SIG-CMS-MALFORMED']],
    ['not a zip at all', async () => Buffer.from('this is not a zip archive, just text\n'.repeat(10)), ['CSAR-ZIP-CORRUPT']],
    ['empty body', async () => Buffer.alloc(0), ['CSAR-ZIP-CORRUPT']],
  ];
  return cases;
}

export const META_BLOCK = { vnf_provider_id: 'Acme', vnf_product_name: 'Test VNF', vnf_release_date_time: '2026-11-24T10:00:00+01:00', vnf_package_version: '1.0' };

/** The manifest body (Source/Algorithm/Hash blocks) for every file but TOSCA.meta. */
export function zipFilesManifest(files: Record<string, string | Buffer>): string {
  return Object.keys(files)
    .filter((f) => f !== 'TOSCA-Metadata/TOSCA.meta' && f !== 'manifest.mf')
    .map((f) => `Source: ${f}\nAlgorithm: SHA-256\nHash: ${sha256(files[f])}`)
    .join('\n\n');
}

export function manifestOf(blocks: string): string {
  return ['metadata:', ...Object.entries(META_BLOCK).map(([k, v]) => `  ${k}: ${v}`)].join('\n') + '\n\n' + blocks + '\n';
}

/** `tmp/<name>` padded so that `x` + it and `/` + it have equal length. */
export function tmpPad(name: string): string {
  return `tmp/${name}`;
}

