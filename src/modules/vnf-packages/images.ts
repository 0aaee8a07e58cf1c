import { createHash } from 'node:crypto';
import type { Transaction } from 'sequelize';
import type { ArtifactEngine, DerivedArtifact } from '../../artifacts/engine';
import type { ArtifactRecord } from '../../artifacts/types';
import type { CsarInspection } from '../../csar';
import type { VnfdFacts } from '../../tosca';

/** The artifact type a VNF package's software images are served as (the Image API's, src/modules/images). */
export const IMAGES = 'images';
/** The digests an image is served with: SHA-256 (its content key), MD5 (`checksum`) and SHA-512 (`os_hash_value`). */
export const IMAGE_DIGESTS = ['md5', 'sha512'] as const;

const GIB = 2 ** 30;
const MIB = 2 ** 20;

/** A stable image id per (package, software image): the same package always shows the same image ids. */
export function packageImageId(packageId: string, swImageId: string): string {
  const h = createHash('sha1').update(`vnf-package-image\0${packageId}\0${swImageId}`).digest();
  h[6] = (h[6] & 0x0f) | 0x50; // name-based UUID (version 5)
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** The file of a software image inside the package, or undefined for an external image (a URL) or none. */
export function localImagePath(imagePath: string | undefined): string | undefined {
  const path = imagePath?.replace(/^\.\//, '');
  return path && !/^[a-z][a-z0-9+.-]*:\/\//i.test(path) ? path : undefined;
}

/**
 * The software images of an onboarded package as images (issue 12): one per SwImage artifact whose
 * file is in the package, its bytes the package's own object for that file (the `content` entry:
 * no copy), with the checksums computed while the package streamed in (or read once more, see
 * VnfPackageProfile.imageDigests), and properties that lead back to the package. External images
 * (a URL) are not in Depot's store and are not served. Without the images type, none.
 */
export async function packageImages(engine: ArtifactEngine, t: Transaction, pkg: ArtifactRecord, facts: VnfdFacts, inspection: CsarInspection): Promise<DerivedArtifact[]> {
  const type = engine.types.get(IMAGES);
  if (!type) return [];
  const out: DerivedArtifact[] = [];
  const seen = new Set<string>();
  const enumOr = (field: string, v: string | undefined) => {
    const lower = v?.toLowerCase();
    return lower && (type.fields[field].enum as string[] | undefined)?.includes(lower) ? lower : null;
  };
  for (const img of facts.softwareImages) {
    const path = localImagePath(img.imagePath);
    if (!path || seen.has(img.id)) continue;
    seen.add(img.id);
    const row = await engine.storedBlob(pkg.id, 'content', path, t);
    if (!row?.content_key) continue;
    const digests = { ...inspection.digests.get(path), ...row.digests, sha256: row.content_key };
    const id = packageImageId(pkg.id, img.id);
    out.push({
      id, type: IMAGES, name: (img.name || img.id).slice(0, 255), version: `0.0.0-${id}`,
      fields: {
        disk_format: enumOr('disk_format', img.diskFormat),
        container_format: enumOr('container_format', img.containerFormat),
        // Glance's units: GiB of disk, MiB of RAM (the VNFD's sizes are bytes).
        min_disk: Math.ceil((img.minDisk ?? 0) / GIB),
        min_ram: Math.ceil((img.minRam ?? 0) / MIB),
        protected: true,
        properties: { vnf_package_id: pkg.id, vnfd_id: String(pkg.fields.vnfdId ?? facts.vnfdId ?? ''), sw_image_id: img.id },
        size: Number(row.size),
        checksum: digests.md5 ?? null,
        os_hash_value: digests.sha512 ?? null,
      },
      blobs: {
        image: {
          store: row.store, key: row.content_key, offset: row.content_offset === null ? undefined : Number(row.content_offset), size: Number(row.size),
          digests: { sha256: digests.sha256, ...(digests.md5 && { md5: digests.md5 }), ...(digests.sha512 && { sha512: digests.sha512 }) },
          contentType: 'application/octet-stream',
        },
      },
    });
  }
  return out;
}
