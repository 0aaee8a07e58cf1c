import type { ArtifactTypeDef } from '../../artifacts/types';
import type { DepotModule } from '../module';

/**
 * Glance-like VM images. MD5 and SHA-512 are computed on upload because Glance clients check them.
 * The type is also served as the OpenStack Image API v2 under /image (api/, loaded by setup()):
 * the fields after `image` are that API's, kept here so that one artifact is one image in both APIs.
 */
export const imagesType: ArtifactTypeDef = {
  name: 'images',
  displayName: 'Images',
  schemaVersion: '1.0',
  defaultStore: 'fs',
  fields: {
    disk_format: { kind: 'string', sortable: true, requiredOnActivate: true, enum: ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'] },
    container_format: { kind: 'string', sortable: true, requiredOnActivate: true, enum: ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'] },
    min_disk: { kind: 'integer', sortable: true, minimum: 0, description: 'Minimum disk in GiB' },
    min_ram: { kind: 'integer', sortable: true, minimum: 0, description: 'Minimum RAM in MiB' },
    os_type: { kind: 'string', enum: ['linux', 'windows'] },
    os_distro: { kind: 'string', filterOps: ['eq', 'neq', 'in', 'like'] },
    os_version: { kind: 'string' },
    architecture: { kind: 'string', filterOps: ['eq', 'neq', 'in'] },
    instance_uuid: { kind: 'string', pattern: '^[0-9a-f-]{36}$' },
    kernel_id: { kind: 'link' },
    ramdisk_id: { kind: 'link' },
    image: { kind: 'blob', requiredOnActivate: true, digests: ['md5', 'sha512'], description: 'The image file' },
    protected: { kind: 'boolean', mutable: true, default: false, description: 'A protected image cannot be deleted (Image API)' },
    os_hidden: { kind: 'boolean', mutable: true, default: false, description: 'Left out of Image API lists unless asked for' },
    properties: {
      kind: 'dict', element: 'string', minLength: 0, mutable: true, maxProperties: 128, default: {},
      description: 'The Image API\'s additional properties (string values, writable after activation)',
    },
    image_visibility: {
      kind: 'string', mutable: true, default: 'shared', enum: ['private', 'shared', 'community'],
      description: 'Image API visibility of a non-public image (private: no members), or community for a public one (listed only when asked for)',
    },
    members: {
      kind: 'dict', element: 'string', system: true, default: {},
      description: 'Image API members: project → pending | accepted | rejected (every member may read the image: shared_with)',
    },
    size: { kind: 'integer', system: true, sortable: true, description: 'Bytes of the image, once uploaded through the Image API (its size filters and sort key)' },
    checksum: { kind: 'string', system: true, description: 'MD5 of the image, once uploaded through the Image API' },
    os_hash_value: { kind: 'string', system: true, maxLength: 128, description: 'SHA-512 of the image, once uploaded through the Image API' },
    killed: { kind: 'boolean', system: true, description: 'An Image API upload failed: the image can only be deleted' },
  },
  // An image derived from another artifact (a VNF package's software image): its Image API
  // visibility and members are its source's sharing, every member accepted (Depot's sharing is a grant).
  derived: {
    follow: (source) => ({
      image_visibility: source.visibility === 'private' && !source.shared_with.length ? 'private' : 'shared',
      members: Object.fromEntries(source.shared_with.map((project) => [project, 'accepted'])),
    }),
  },
  hooks: {
    // Glance's protection holds whichever API deletes.
    pre_delete: [async ({ artifact }) => (artifact.fields.protected === true ? [{ severity: 'error', rule: 'IMAGE-PROTECTED', message: 'the image is protected: unset protected first' }] : [])],
  },
};

export const imagesModule: DepotModule = {
  name: 'images',
  types: [imagesType],
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  setup: (ctx) => (require('./api/runtime') as typeof import('./api/runtime')).imageApiRuntime(ctx),
};
