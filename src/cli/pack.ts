import type { Finding } from '../common/findings';

/**
 * Placeholder for `depot pack`'s library entry point (written on its own branch): a SOL004 CSAR at
 * `opts.out` from the package folder `dir`. `depot push <dir>` packs through it.
 */
export async function packDirectory(dir: string, opts: { out: string; meta?: boolean; signKey?: string; signCert?: string; option?: 1 | 2 }): Promise<{ out: string; findings: Finding[] }> {
  void dir;
  void opts;
  throw new Error('pack is not available');
}
