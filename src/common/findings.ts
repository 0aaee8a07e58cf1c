/**
 * A located problem in an uploaded artifact. Shared by every validator (CSAR reader, TOSCA loader,
 * operator hooks) so that a client always gets one list, in one shape, naming the rule and the place.
 * Rule ids are stable across releases (documented in docs/rules.md); clients may switch on them.
 */
export type Severity = 'error' | 'warning';

export interface Finding {
  /** Stable rule id, e.g. "CSAR-HASH-MISMATCH" or "TOSCA-UNKNOWN-TYPE". */
  rule: string;
  severity: Severity;
  message: string;
  /** Path of the file inside the package (forward slashes, no leading slash). */
  file?: string;
  /** 1-based line and column in `file`, when the finding points into a text file. */
  line?: number;
  column?: number;
  /** YAML path of the offending node, e.g. "topology_template/node_templates/VDU1/properties/name". */
  path?: string;
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}

/** Compiler-style one-liner: `file:line:col severity rule message`. */
export function formatFinding(f: Finding): string {
  const where = f.file ? `${f.file}${f.line ? `:${f.line}${f.column ? `:${f.column}` : ''}` : ''}` : '<package>';
  return `${where} ${f.severity} ${f.rule} ${f.message}`;
}
