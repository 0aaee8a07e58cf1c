import type { BlobRow } from '../../../artifacts/engine';
import type { ArtifactRecord } from '../../../artifacts/types';

/**
 * An image as the Image API v2 shows it, whatever holds it: an artifact of the `images` type
 * (imageOfArtifact), or anything else Depot serves as an image (e.g. a VNF package's software
 * image, read-only and active). presentImage() turns one into the API's JSON.
 */
export interface ImageView {
  id: string;
  name: string | null;
  status: ImageStatus;
  visibility: 'public' | 'private' | 'shared' | 'community';
  protected: boolean;
  os_hidden: boolean;
  owner: string | null;
  size: number | null;
  checksum: string | null;
  /** SHA-512, hex (the algorithm every Depot image is hashed with). */
  os_hash_value: string | null;
  disk_format: string | null;
  container_format: string | null;
  min_ram: number;
  min_disk: number;
  tags: string[];
  created_at: Date;
  updated_at: Date;
  /** Additional properties (string values), flattened into the image beside the base ones. */
  properties: Record<string, string>;
}

export type ImageStatus = 'queued' | 'saving' | 'active' | 'killed' | 'deactivated';

/** The base properties of the image schema (everything else is an additional property). */
export const BASE_PROPERTIES = [
  'id', 'name', 'status', 'visibility', 'protected', 'os_hidden', 'checksum', 'os_hash_algo', 'os_hash_value', 'owner', 'size',
  'virtual_size', 'disk_format', 'container_format', 'min_ram', 'min_disk', 'tags', 'created_at', 'updated_at', 'self', 'file', 'schema',
  'direct_url', 'locations',
] as const;

/** Type fields of `images` shown as additional properties of the same name (string values; links as image ids). */
export const FIELD_PROPERTIES = ['os_type', 'os_distro', 'os_version', 'architecture', 'instance_uuid', 'kernel_id', 'ramdisk_id'] as const;
export const LINK_PROPERTIES = new Set<string>(['kernel_id', 'ramdisk_id']);

/** Glance's timestamp form: seconds, UTC, `Z`. */
export const glanceTime = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function presentImage(v: ImageView): Record<string, unknown> {
  return {
    ...v.properties,
    id: v.id,
    name: v.name,
    status: v.status,
    visibility: v.visibility,
    protected: v.protected,
    os_hidden: v.os_hidden,
    checksum: v.checksum,
    os_hash_algo: v.os_hash_value ? 'sha512' : null,
    os_hash_value: v.os_hash_value,
    owner: v.owner,
    size: v.size,
    virtual_size: null,
    disk_format: v.disk_format,
    container_format: v.container_format,
    min_ram: v.min_ram,
    min_disk: v.min_disk,
    tags: v.tags,
    created_at: glanceTime(v.created_at),
    updated_at: glanceTime(v.updated_at),
    self: `/v2/images/${v.id}`,
    file: `/v2/images/${v.id}/file`,
    schema: '/v2/schemas/image',
  };
}

/** The Image API status of an `images` artifact and its `image` blob. */
export function statusOf(a: ArtifactRecord, blob: BlobRow | undefined): ImageStatus {
  if (a.status === 'active') return 'active';
  if (a.status === 'deactivated') return 'deactivated';
  if (blob?.status === 'saving') return 'saving';
  if (a.fields.killed === true) return 'killed';
  // A package's image is `saving` while its checksums are computed (src/modules/vnf-packages/images.ts).
  return a.derived_from ? 'saving' : 'queued';
}

/** An artifact whose name is its own id was created without a name through the Image API. */
export const imageName = (a: Pick<ArtifactRecord, 'id' | 'name'>) => (a.name === a.id ? null : a.name);

export function visibilityOf(a: ArtifactRecord): ImageView['visibility'] {
  const mode = a.fields.image_visibility;
  if (a.visibility === 'public') return mode === 'community' ? 'community' : 'public';
  return mode === 'private' ? 'private' : 'shared';
}

/** The last segment of a link (`/artifacts/images/{id}`): the image id a Glance client expects. */
const linkId = (link: string) => link.slice(link.lastIndexOf('/') + 1);

export function imageOfArtifact(a: ArtifactRecord, blob: BlobRow | undefined): ImageView {
  const f = a.fields;
  const settled = blob?.status === 'active' && blob.content_key !== null && a.status !== 'drafted';
  const properties: Record<string, string> = { ...((f.properties as Record<string, string> | null) ?? {}) };
  for (const k of FIELD_PROPERTIES) {
    const v = f[k];
    if (typeof v === 'string') properties[k] = LINK_PROPERTIES.has(k) ? linkId(v) : v;
  }
  if (a.description) properties.description = a.description;
  return {
    id: a.id,
    name: imageName(a),
    status: statusOf(a, blob),
    visibility: visibilityOf(a),
    protected: f.protected === true,
    os_hidden: f.os_hidden === true,
    owner: a.owner,
    size: settled ? Number(blob!.size) : null,
    checksum: settled ? (blob!.digests.md5 ?? null) : null,
    os_hash_value: settled ? (blob!.digests.sha512 ?? null) : null,
    disk_format: (f.disk_format as string | null) ?? null,
    container_format: (f.container_format as string | null) ?? null,
    min_ram: (f.min_ram as number | null) ?? 0,
    min_disk: (f.min_disk as number | null) ?? 0,
    tags: a.tags,
    created_at: a.created_at,
    updated_at: a.updated_at,
    properties,
  };
}
