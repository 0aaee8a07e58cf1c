import { imagesType } from '../module';
import { FIELD_PROPERTIES } from './image';

/**
 * The JSON Schemas of the Image API (GET /v2/schemas/...). Clients build their models from them
 * (glanceclient caches the image schema; Nova and Cinder split base from additional properties on
 * `is_base`), so the image schema lists exactly what Depot serves: no `stores`, `locations` or
 * `direct_url` (no multi-store, no location API), and the type fields shown as additional
 * properties flagged `is_base: false`.
 */
const nullable = (t: string) => ['null', t];
const enumOf = (field: 'disk_format' | 'container_format') => [...(imagesType.fields[field].enum as string[]), null];

const IMAGE_PROPERTIES: Record<string, Record<string, unknown>> = {
  id: { type: 'string', description: 'An identifier for the image', pattern: '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$' },
  name: { type: nullable('string'), description: 'Descriptive name for the image', maxLength: 255 },
  status: {
    type: 'string', readOnly: true, description: 'Status of the image',
    enum: ['queued', 'saving', 'active', 'killed', 'deleted', 'uploading', 'importing', 'pending_delete', 'deactivated'],
  },
  visibility: { type: 'string', description: 'Scope of image accessibility', enum: ['community', 'public', 'private', 'shared'] },
  protected: { type: 'boolean', description: 'If true, image will not be deletable.' },
  os_hidden: { type: 'boolean', description: 'If true, image will not appear in default image list response.' },
  checksum: { type: nullable('string'), readOnly: true, description: 'md5 hash of image contents.', maxLength: 32 },
  os_hash_algo: { type: nullable('string'), readOnly: true, description: 'Algorithm to calculate the os_hash_value', maxLength: 64 },
  os_hash_value: { type: nullable('string'), readOnly: true, description: 'Hexdigest of the image contents using the algorithm specified by the os_hash_algo', maxLength: 128 },
  owner: { type: nullable('string'), description: 'Owner of the image', maxLength: 255 },
  size: { type: nullable('integer'), readOnly: true, description: 'Size of image file in bytes' },
  virtual_size: { type: nullable('integer'), readOnly: true, description: 'Virtual size of image in bytes' },
  container_format: { type: nullable('string'), description: 'Format of the container', enum: enumOf('container_format') },
  disk_format: { type: nullable('string'), description: 'Format of the disk', enum: enumOf('disk_format') },
  created_at: { type: 'string', readOnly: true, description: 'Date and time of image registration' },
  updated_at: { type: 'string', readOnly: true, description: 'Date and time of the last image modification' },
  tags: { type: 'array', description: 'List of strings related to the image', items: { type: 'string', maxLength: 255 } },
  self: { type: 'string', readOnly: true, description: 'An image self url' },
  file: { type: 'string', readOnly: true, description: 'An image file url' },
  schema: { type: 'string', readOnly: true, description: 'An image schema url' },
  min_ram: { type: 'integer', description: 'Amount of ram (in MB) required to boot image.' },
  min_disk: { type: 'integer', description: 'Amount of disk space (in GB) required to boot image.' },
};

const EXTRA_DESCRIPTIONS: Record<string, string> = {
  os_type: 'Operating system family (linux or windows)',
  os_distro: 'Common name of operating system distribution as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html',
  os_version: 'Operating system version as specified by the distributor',
  architecture: 'Operating system architecture as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html',
  instance_uuid: 'Metadata which can be used to record which instance this image is associated with. (Informational only, does not create an instance snapshot.)',
  kernel_id: 'ID of image stored in Glance that should be used as the kernel when booting an AMI-style image.',
  ramdisk_id: 'ID of image stored in Glance that should be used as the ramdisk when booting an AMI-style image.',
  description: 'A human-readable string describing this image.',
};

export function imageSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = { ...IMAGE_PROPERTIES };
  for (const k of [...FIELD_PROPERTIES, 'description']) properties[k] = { type: 'string', is_base: false, description: EXTRA_DESCRIPTIONS[k] };
  return {
    name: 'image',
    properties,
    additionalProperties: { type: 'string' },
    links: [
      { rel: 'self', href: '{self}' },
      { rel: 'enclosure', href: '{file}' },
      { rel: 'describedby', href: '{schema}' },
    ],
  };
}

export function imagesSchema(): Record<string, unknown> {
  return {
    name: 'images',
    properties: {
      images: { type: 'array', items: imageSchema() },
      schema: { type: 'string' },
      first: { type: 'string' },
      next: { type: 'string' },
    },
    links: [
      { rel: 'first', href: '{first}' },
      { rel: 'next', href: '{next}' },
      { rel: 'describedby', href: '{schema}' },
    ],
  };
}

export function memberSchema(): Record<string, unknown> {
  return {
    name: 'member',
    properties: {
      created_at: { type: 'string', description: 'Date and time of image member creation' },
      image_id: { type: 'string', description: 'An identifier for the image', pattern: IMAGE_PROPERTIES.id.pattern },
      member_id: { type: 'string', description: 'An identifier for the image member (tenantId)' },
      schema: { type: 'string', readOnly: true },
      status: { type: 'string', description: 'The status of this image member', enum: ['pending', 'accepted', 'rejected'] },
      updated_at: { type: 'string', description: 'Date and time of last modification of image member' },
    },
  };
}

export function membersSchema(): Record<string, unknown> {
  return {
    name: 'members',
    properties: { members: { type: 'array', items: memberSchema() }, schema: { type: 'string' } },
    links: [
      { rel: 'self', href: '{self}' },
      { rel: 'schema', href: '{schema}' },
    ],
  };
}
