const UNITS: Record<string, number> = {
  '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
};

/** "20GiB", "10 MiB", 1048576 → bytes; undefined for anything else (never a guess, never NaN). */
export function readSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
  const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value) : null;
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  return m && unit !== undefined ? Math.floor(parseFloat(m[1]) * unit) : undefined;
}

export const SIZE_HINT = 'a size (bytes, or e.g. 10MiB, 20GiB)';

/** readSize for callers outside the configuration schema (driver options): throws naming `where`. */
export function parseSize(value: unknown, where: string): number {
  const n = readSize(value);
  if (n === undefined) throw new Error(`${where}: cannot read size ${JSON.stringify(value)} (use e.g. 10MiB, 20GiB)`);
  return n;
}
