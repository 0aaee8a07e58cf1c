import type { Sequelize, Transaction } from 'sequelize';
import type { Finding } from '../common/findings';
import type { Principal } from '../common/principal';
import { BASE_FIELDS, FieldDef } from './fields';

/** Events at which hooks run (ARCHITECTURE §6). */
export type HookEvent =
  | 'pre_create' | 'post_create' | 'pre_update' | 'pre_upload' | 'post_upload'
  | 'pre_activate' | 'post_activate' | 'pre_delete' | 'post_delete' | 'pre_download';

export interface ArtifactRecord {
  id: string;
  type_name: string;
  owner: string;
  name: string;
  version: string;
  status: 'drafted' | 'active' | 'deactivated';
  visibility: 'private' | 'public';
  description: string;
  tags: string[];
  metadata: Record<string, string>;
  fields: Record<string, unknown>;
  shared_with: string[];
  revision: number;
  created_at: Date;
  updated_at: Date;
  activated_at: Date | null;
  /** The artifact this one is derived from (ArtifactEngine.derive): then read-only, following its source. */
  derived_from?: string | null;
}

export interface HookContext {
  event: HookEvent;
  principal?: Principal;
  artifact: ArtifactRecord;
  /** Blob field and folder path for upload/download events. */
  field?: string;
  path?: string;
  /** Where the uploaded content can be read, when the event has some (e.g. an unpacked package). */
  dir?: string;
  /** The uploaded content's files (read-only, e.g. straight from a CSAR) and its entry file. */
  files?: import('../tosca').PackageFiles;
  entry?: string;
  /** The uploaded blob's bytes (post_upload of a generic blob upload) and their size. */
  open?: () => Promise<import('node:stream').Readable>;
  size?: number;
  /** Built-in hooks leave what they extracted here (e.g. `vnfd`: the VNFD facts). */
  results?: Record<string, unknown>;
}

/** A hook accepts by returning nothing or findings without errors; error findings reject. */
export type Hook = (ctx: HookContext) => Promise<Finding[] | void>;

/**
 * An artifact type: its fields (declared once), default store and built-in hooks. A module under
 * src/modules/ brings it; src/modules/index.ts lists the modules.
 */
export interface ArtifactTypeDef {
  name: string;
  displayName: string;
  /** Version of the type's schema. */
  schemaVersion: string;
  fields: Record<string, FieldDef>;
  defaultStore?: string;
  defaultMaxBlobSize?: number;
  hooks?: Partial<Record<HookEvent, Hook[]>>;
  /**
   * Who activates a drafted artifact: clients through the generic PATCH (the default), or only the
   * type's own state machine through ArtifactEngine.activate (`system`, e.g. onboarding of a VNF
   * package): a client's activation is then refused with `detail`, whichever API it comes through.
   */
  activation?: { by: 'client' } | { by: 'system'; detail: string };
  /**
   * Who creates artifacts of the type: clients through the generic POST (the default), or only the
   * type's own facade (`system`, e.g. SOL005's create, which sets the type's initial system fields:
   * a VNF package starts CREATED and NOT_IN_USE under a placeholder name). A generic create is then
   * refused with `detail` (naming where to create one) instead of making an artifact the type's
   * state machine does not know.
   */
  creation?: { by: 'client' } | { by: 'system'; detail: string };
  /** Build metadata of `version` distinguishes artifacts (see version.ts). */
  versionBuildSignificant?: boolean;
  /**
   * Run inside the engine's transaction: after a generic update wrote the row, and before a delete
   * removes it (e.g. to write an outbox of notifications that commits iff the change does).
   */
  /**
   * What an artifact of this type takes from the artifact it is derived from (ArtifactEngine.derive),
   * besides status, visibility and sharing: type fields recomputed whenever those change (e.g. an
   * image's Image API members from its VNF package's sharing).
   */
  derived?: { follow(source: ArtifactRecord): Record<string, unknown> };
  inTransaction?: {
    updated?(sequelize: Sequelize, t: Transaction, before: ArtifactRecord, after: ArtifactRecord): Promise<void>;
    deleting?(sequelize: Sequelize, t: Transaction, a: ArtifactRecord): Promise<void>;
  };
}

export class TypeRegistry {
  private readonly types = new Map<string, ArtifactTypeDef>();

  register(def: ArtifactTypeDef): void {
    for (const name of Object.keys(def.fields)) {
      if (name in BASE_FIELDS) throw new Error(`type ${def.name}: field ${name} is a base field`);
      if (!/^[a-z][a-z0-9_]{0,63}$/i.test(name)) throw new Error(`type ${def.name}: bad field name ${name}`);
      const f = def.fields[name];
      if (f.sortable && (f.kind === 'list' || f.kind === 'dict' || f.kind === 'blob' || f.kind === 'folder')) {
        throw new Error(`type ${def.name}: compound field ${name} cannot be sortable`);
      }
    }
    this.types.set(def.name, def);
  }

  get(name: string): ArtifactTypeDef | undefined {
    return this.types.get(name);
  }

  names(): string[] {
    return [...this.types.keys()];
  }

  all(): ArtifactTypeDef[] {
    return [...this.types.values()];
  }
}

/** Every field of a type: base ones first. */
export function allFields(def: ArtifactTypeDef): Record<string, FieldDef> {
  return { ...BASE_FIELDS, ...def.fields };
}
