import type { Amendment } from '../../../artifacts/engine';
import type { ArtifactRecord } from '../../../artifacts/types';
import { DomainError, forbidden, invalidInput } from '../../../common/errors';
import { imagesType } from '../module';
import { FIELD_PROPERTIES, imageOfArtifact, LINK_PROPERTIES } from './image';

/**
 * The Image API's PATCH dialect (application/openstack-images-v2.1-json-patch, and the older
 * v2.0 form `{"replace": "/name", "value": …}`): add, replace and remove of top-level properties,
 * where `add` overwrites, `replace` and `remove` of a missing additional property conflict (409),
 * and read-only, reserved and base properties cannot be removed (403). The result is an engine
 * Amendment: the engine still applies its own rules (write permission, publishing, validation).
 */
export const PATCH_MEDIA_TYPES = ['application/openstack-images-v2.1-json-patch', 'application/openstack-images-v2.0-json-patch'];

const READ_ONLY = new Set(['id', 'status', 'checksum', 'os_hash_algo', 'os_hash_value', 'size', 'virtual_size', 'created_at', 'updated_at', 'self', 'file', 'schema', 'direct_url', 'stores']);
const RESERVED = new Set(['location', 'deleted', 'deleted_at']);
/** Writable base properties (cannot be removed). */
const BASE = new Set(['name', 'visibility', 'protected', 'os_hidden', 'owner', 'disk_format', 'container_format', 'min_ram', 'min_disk', 'tags']);
const FORMAT = { disk_format: imagesType.fields.disk_format.enum as string[], container_format: imagesType.fields.container_format.enum as string[] };

interface Op {
  op: 'add' | 'replace' | 'remove';
  name: string;
  value?: unknown;
}

const conflict = (detail: string) => new DomainError('LIFECYCLE_CONFLICT', detail);

/** The operations of a body in either dialect, each naming one top-level property. */
export function readPatch(body: unknown, mediaType: string): Op[] {
  if (!Array.isArray(body)) throw invalidInput('the request body must be a JSON array of patch operations');
  const v20 = mediaType.endsWith('v2.0-json-patch');
  return body.map((raw, i) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalidInput(`patch operation ${i}: expected an object`);
    let op: string | undefined;
    let path: unknown;
    if (v20) {
      const keys = Object.keys(raw).filter((k) => k !== 'value');
      if (keys.length !== 1) throw invalidInput(`patch operation ${i}: expected one of add, replace or remove naming the path`);
      op = keys[0];
      path = (raw as Record<string, unknown>)[op];
    } else {
      op = (raw as Record<string, unknown>).op as string;
      path = (raw as Record<string, unknown>).path;
    }
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw invalidInput(`patch operation ${i}: operation ${JSON.stringify(op)} is not supported (add, replace or remove)`);
    if (typeof path !== 'string' || !path.startsWith('/')) throw invalidInput(`patch operation ${i}: path must be a JSON pointer such as /name`);
    const segs = path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (segs[0] === 'locations') throw forbidden(`patch operation ${i}: image locations are not served by Depot`);
    if (segs.length !== 1 || !segs[0]) throw invalidInput(`patch operation ${i}: path ${path} must name a top-level property`);
    if (op !== 'remove' && !('value' in raw)) throw invalidInput(`patch operation ${i}: missing value`);
    return { op, name: segs[0], value: (raw as Record<string, unknown>).value };
  });
}

function checkBase(name: string, value: unknown, i: number): void {
  const bad = (what: string) => invalidInput(`patch operation ${i}: ${name} must be ${what}`);
  switch (name) {
    case 'name':
      if (value !== null && (typeof value !== 'string' || value.length > 255)) throw bad('null or a string of at most 255 characters');
      return;
    case 'visibility':
      if (!['public', 'private', 'shared', 'community'].includes(value as string)) throw bad('public, private, shared or community');
      return;
    case 'protected': case 'os_hidden':
      if (typeof value !== 'boolean') throw bad('true or false');
      return;
    case 'disk_format': case 'container_format':
      if (value !== null && !FORMAT[name].includes(value as string)) throw bad(`null or one of ${FORMAT[name].join(', ')}`);
      return;
    case 'min_ram': case 'min_disk':
      if (!Number.isSafeInteger(value) || (value as number) < 0) throw bad('a non-negative integer');
      return;
    case 'tags':
      if (!Array.isArray(value) || value.some((t) => typeof t !== 'string' || !t || t.length > 255)) throw bad('an array of strings of 1 to 255 characters');
  }
}

/** The amendment a Glance PATCH makes to an `images` artifact (`members` as stored, for shares). */
export function amendmentOf(a: ArtifactRecord, ops: Op[], queued: boolean): Amendment {
  const view = imageOfArtifact(a, undefined);
  const base: Record<string, unknown> = {
    name: view.name, visibility: view.visibility, protected: view.protected, os_hidden: view.os_hidden, owner: view.owner,
    disk_format: view.disk_format, container_format: view.container_format, min_ram: view.min_ram, min_disk: view.min_disk, tags: [...view.tags],
  };
  const extra: Record<string, string> = { ...view.properties };
  ops.forEach(({ op, name, value }, i) => {
    if (READ_ONLY.has(name)) throw forbidden(`Attribute '${name}' is read-only.`);
    if (RESERVED.has(name) || name.startsWith('os_glance')) throw forbidden(`Attribute '${name}' is reserved.`);
    if (BASE.has(name)) {
      if (op === 'remove') throw forbidden(`Properties ${name} cannot be deleted.`);
      checkBase(name, value, i);
      if (name === 'owner' && value !== a.owner) throw forbidden('the owner of an image cannot be changed');
      if ((name === 'disk_format' || name === 'container_format') && !queued && value !== base[name]) {
        throw forbidden(`Attribute ${name} can be only replaced for a queued image.`);
      }
      base[name] = name === 'tags' ? [...new Set(value as string[])] : value;
      return;
    }
    if (name.length > 255) throw invalidInput(`patch operation ${i}: a property name has at most 255 characters`);
    if (op !== 'add' && !(name in extra)) throw conflict(`Property ${name} does not exist.`);
    if (op === 'remove') {
      delete extra[name];
      return;
    }
    if (typeof value !== 'string') throw invalidInput(`patch operation ${i}: the value of additional property ${name} must be a string`);
    extra[name] = value;
  });

  const fields: Record<string, unknown> = {
    protected: base.protected, os_hidden: base.os_hidden, disk_format: base.disk_format, container_format: base.container_format,
    min_ram: base.min_ram, min_disk: base.min_disk,
  };
  const properties: Record<string, string> = {};
  for (const [k, v] of Object.entries(extra)) {
    if ((FIELD_PROPERTIES as readonly string[]).includes(k)) continue;
    if (k !== 'description') properties[k] = v;
  }
  for (const k of FIELD_PROPERTIES) fields[k] = k in extra ? (LINK_PROPERTIES.has(k) ? `/artifacts/images/${extra[k]}` : extra[k]) : null;
  fields.properties = properties;
  const members = Object.keys((a.fields.members as Record<string, string> | null) ?? {});
  const visibility = base.visibility as string;
  fields.image_visibility = visibility === 'public' ? 'shared' : visibility;
  return {
    name: (base.name as string | null) || a.id,
    description: extra.description ?? '',
    tags: base.tags as string[],
    visibility: visibility === 'public' || visibility === 'community' ? 'public' : 'private',
    // A private image has no readers but its owner; its members come back when it is shared again.
    shared_with: visibility === 'private' ? [] : [...new Set([...a.shared_with, ...members])].sort(),
    fields,
  };
}
