import type { ArtifactEngine, BlobRow } from './engine';
import { isBinary } from './fields';
import type { ArtifactRecord } from './types';

/** Glare-shaped artifact JSON: flat base + type fields; blobs as objects whose url is Depot's, never the store's. */
export async function presentArtifacts(engine: ArtifactEngine, records: ArtifactRecord[]): Promise<Record<string, unknown>[]> {
  const ids = records.map((r) => r.id);
  const { blobs, folders } = await engine.blobSummary(ids);
  return records.map((a) => {
    const type = engine.types.get(a.type_name);
    const out: Record<string, unknown> = {
      id: a.id, type_name: a.type_name, name: a.name, version: a.version, owner: a.owner, status: a.status, visibility: a.visibility,
      description: a.description, tags: a.tags, metadata: a.metadata, shared_with: a.shared_with,
      created_at: a.created_at.toISOString(), updated_at: a.updated_at.toISOString(), activated_at: a.activated_at?.toISOString() ?? null,
    };
    for (const [name, def] of Object.entries(type?.fields ?? {})) {
      const url = `/artifacts/${a.type_name}/${a.id}/${name}`;
      if (def.kind === 'blob') {
        const b = blobs.find((x) => x.artifact_id === a.id && x.field === name);
        out[name] = b ? presentBlob(b, url) : null;
      } else if (def.kind === 'folder') {
        const f = folders.find((x) => x.artifact_id === a.id && x.field === name);
        out[name] = { url, count: Number(f?.count ?? 0), size: Number(f?.size ?? 0) };
      } else if (!isBinary(def)) out[name] = a.fields[name] ?? null;
    }
    return out;
  });
}

export function presentBlob(b: BlobRow, url: string): Record<string, unknown> {
  return {
    url,
    status: b.status,
    size: b.status === 'active' ? Number(b.size) : null,
    content_type: b.content_type,
    checksums: b.status === 'active' ? b.digests : {},
    updated_at: new Date(b.updated_at).toISOString(),
  };
}
