import type { ArtifactTypeDef } from '../../artifacts/types';
import type { DepotModule } from '../module';

/** Any file plus a tree of files at arbitrary nested paths. */
export const filesType: ArtifactTypeDef = {
  name: 'files',
  displayName: 'Files',
  schemaVersion: '1.0',
  defaultStore: 'fs',
  fields: {
    content: { kind: 'blob', description: 'The main file' },
    tree: { kind: 'folder', description: 'Files at nested paths, each downloadable on its own' },
    links: { kind: 'dict', element: 'link', mutable: true, description: 'Named links to other artifacts' },
    depends_on: { kind: 'link', mutable: true },
    size_hint: { kind: 'integer', sortable: true },
  },
};

export const filesModule: DepotModule = { name: 'files', types: [filesType] };
