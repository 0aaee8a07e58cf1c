import { createHash } from 'node:crypto';
import type { Transaction } from 'sequelize';
import type { Logger } from 'pino';
import type { ArtifactEngine, DerivedArtifact } from '../../artifacts/engine';
import type { ArtifactRecord } from '../../artifacts/types';
import type { CsarInspection } from '../../csar';
import type { JobQueue, JobRow } from '../../jobs/queue';
import type { VnfdFacts } from '../../tosca';

/** The artifact type a VNF package's software images are served as (the Image API's, src/modules/images). */
export const IMAGES = 'images';
/** The durable job that computes the Image API checksums of a package's images (kept in job rows: stable). */
export const IMAGE_CHECKSUMS_JOB = 'vnf_package.image_checksums';
/** Its lane: reading images back never holds an onboarding worker (src/packages/shared-services.ts). */
export const IMAGE_CHECKSUMS_LANE = 'images';
/** The digests an image is served with besides SHA-256 (its content key): MD5 (`checksum`) and SHA-512 (`os_hash_value`). */
const IMAGE_DIGESTS = ['md5', 'sha512'] as const;

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
 * no copy), and properties that lead back to the package. External images (a URL) are not in
 * Depot's store and are not served. Without the images type, none. They are `pending` (Image API
 * status `saving`, no checksums yet): the upload hashes only what onboarding needs, so MD5 and
 * SHA-512 come from a job that reads each image once (registerImageChecksums); a SHA-512 the onboarding
 * already has (a VNFD sw_image_data checksum or a manifest in SHA-512, both verified) is reused.
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
        checksum: null,
        os_hash_value: null,
      },
      blobs: {
        image: {
          store: row.store, key: row.content_key, offset: row.content_offset === null ? undefined : Number(row.content_offset), size: Number(row.size),
          digests: { sha256: digests.sha256, ...(digests.sha512 && { sha512: digests.sha512 }) },
          contentType: 'application/octet-stream',
        },
      },
      pending: true,
    });
  }
  return out;
}

/**
 * Derives the package's images (pending) and, when there are any, enqueues their checksum job in
 * the same transaction, so a pending image always has a job. No `payload.pins`: the images' own
 * blob rows hold their objects against the garbage collector, and the job row goes with the
 * package (foreign key) as the images do.
 */
export async function derivePackageImages(engine: ArtifactEngine, queue: JobQueue, t: Transaction, pkg: ArtifactRecord, facts: VnfdFacts, inspection: CsarInspection): Promise<void> {
  const images = await packageImages(engine, t, pkg, facts, inspection);
  await engine.derive(t, pkg, images);
  if (!images.length) return;
  await queue.enqueue(t, IMAGE_CHECKSUMS_JOB, pkg.id, { images: images.map((i) => i.id) });
}

/** MD5 and SHA-512 (those missing) of one image, its bytes read once from the store, streamed. */
async function imageChecksums(engine: ArtifactEngine, id: string): Promise<void> {
  const row = await engine.storedBlob(id, 'image');
  // No bytes (not expected: derive() attaches them): never active, never left saving.
  if (!row?.content_key) {
    await engine.settleDerived(id, { fields: { killed: true }, failed: true });
    return;
  }
  const missing = IMAGE_DIGESTS.filter((a) => !row.digests[a]);
  const hashes = missing.map((a) => createHash(a));
  if (hashes.length) for await (const chunk of await engine.contentOf(row).open()) for (const h of hashes) h.update(chunk as Buffer);
  const digests: Record<string, string> = { ...row.digests };
  missing.forEach((a, i) => (digests[a] = hashes[i].digest('hex')));
  await engine.settleDerived(id, { fields: { checksum: digests.md5, os_hash_value: digests.sha512, killed: false }, digests: { image: digests } });
}

/**
 * The durable job of a package's images: restartable (an image already settled is skipped, one
 * still pending is read again from the start), and an image never stays `saving`: when the job
 * gives up, those still pending end `killed`. A deleted package took its images with it: nothing.
 */
export function registerImageChecksums(engine: ArtifactEngine, queue: JobQueue, log: Logger): void {
  const ids = (job: JobRow) => (Array.isArray(job.payload.images) ? (job.payload.images as string[]) : []);
  queue.register(IMAGE_CHECKSUMS_JOB, {
    run: async (job) => {
      for (const id of ids(job)) {
        const a = await engine.load(id);
        if (a?.status === 'drafted') await imageChecksums(engine, id);
      }
    },
    onGiveUp: async (job, reason) => {
      log.warn({ job: job.id, package: job.artifact_id, reason }, 'package image checksums gave up: the pending images are killed');
      for (const id of ids(job)) await engine.settleDerived(id, { fields: { killed: true }, failed: true });
    },
  }, IMAGE_CHECKSUMS_LANE);
}
