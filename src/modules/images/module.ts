import type { ArtifactTypeDef } from '../../artifacts/types';
import type { DepotModule } from '../module';

/** Glance-like VM images. MD5 and SHA-512 are computed on upload because Glance clients check them. */
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
  },
};

export const imagesModule: DepotModule = { name: 'images', types: [imagesType] };
