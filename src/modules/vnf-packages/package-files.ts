/**
 * Which files of an onboarded VNF package a SOL005 read serves, from its `descriptor` field (written
 * by the profile at onboarding): the VNFD, the manifest, one artifact, each with its security files
 * under `include_signatures`. One place for every API that serves them.
 */
export interface PackageDescriptor {
  /** VNFD files, entry first. */
  files: string[];
  meta?: string;
  manifest?: string;
  entry?: string;
  /** Absent for packages onboarded before it was recorded: they are served without security files. */
  security?: {
    /** The package's certificate files (ETSI-Entry-Certificate, a root `.cert` like the manifest). */
    certificates: string[];
    /** Per artifact: the signature and certificate files the manifest names for it. */
    artifacts: Record<string, string[]>;
  };
}

const unique = (paths: string[]) => [...new Set(paths)];

/** The manifest, and with signatures its certificate files wherever they sit (its signature is its closing CMS block). */
export function manifestFiles(d: PackageDescriptor, signatures: boolean): string[] {
  return d.manifest ? unique([d.manifest, ...(signatures ? (d.security?.certificates ?? []) : [])]) : [];
}

/** TOSCA.meta and the VNFD files; with signatures also the manifest, its certificates and the VNFD files' own signatures. */
export function vnfdFiles(d: PackageDescriptor, signatures: boolean): string[] {
  const own = (p: string) => d.security?.artifacts[p] ?? [];
  return unique([
    ...(d.meta ? [d.meta] : []),
    ...d.files,
    ...(signatures ? [...manifestFiles(d, true), ...d.files.flatMap(own)] : []),
  ]);
}

/** One artifact with its signature and certificate files (SOL005 `artifacts/{path}?include_signatures`). */
export function artifactFiles(d: PackageDescriptor, path: string): string[] {
  return unique([path, ...(d.security?.artifacts[path] ?? [])]);
}
