import type { Finding, Severity } from '../common/findings';

/** Where a finding points: the package file, and for text files the 1-based line. */
export interface At {
  file?: string;
  line?: number;
  column?: number;
  path?: string;
}

export function finding(rule: string, severity: Severity, message: string, at: At = {}): Finding {
  const f: Finding = { rule, severity, message };
  if (at.file !== undefined) f.file = at.file;
  if (at.line !== undefined) f.line = at.line;
  if (at.column !== undefined) f.column = at.column;
  if (at.path !== undefined) f.path = at.path;
  return f;
}

/**
 * An archive failure that surfaced while streaming an entry. It carries the rule id so the
 * caller (and inspectCsar) can turn it into a finding instead of a generic crash.
 */
export class CsarError extends Error {
  constructor(
    readonly rule: string,
    message: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = 'CsarError';
  }
}

/** Maps yauzl/zlib stream errors to our rule ids; only a lying size header is a bomb. */
export function toCsarError(err: unknown, file?: string): CsarError {
  if (err instanceof CsarError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const rule = /too many bytes in the stream/.test(message) ? 'CSAR-ZIP-BOMB' : 'CSAR-ZIP-CORRUPT';
  return new CsarError(rule, file ? `${file}: ${message}` : message, file);
}
