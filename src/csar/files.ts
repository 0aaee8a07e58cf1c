import type { CsarArchive } from './zip';

/** Read-only view of package files for the TOSCA validator, served straight from the zip. */
export interface PackageFiles {
  has(path: string): boolean;
  list(): string[];
  /** Rejects with a CsarError (CSAR-FILE-TOO-LARGE, CSAR-FILE-MISSING, ...) instead of buffering a huge entry. */
  read(path: string): Promise<Buffer>;
}

export const DEFAULT_READ_CAP = 16 * 1024 * 1024;

export function csarFiles(csar: CsarArchive, maxBytes = DEFAULT_READ_CAP): PackageFiles {
  return {
    has: (path) => csar.getEntry(path) !== undefined,
    list: () => csar.entries.map((e) => e.name),
    read: (path) => csar.readEntry(path, maxBytes),
  };
}
