/**
 * One `depot` sub-command. The registry (`src/cli/commands.ts`) holds only these descriptions; `load`
 * pulls the implementation in on demand, so `depot validate` never pays for the HTTP client or the
 * database stack, and `depot --help` for none of them.
 */
export interface CliCommand {
  name: string;
  /** One line for `depot --help`. */
  summary: string;
  /** `depot <name> --help`: the synopsis and options, then examples. */
  usage: string;
  examples: string[];
  load(): Promise<(argv: string[]) => Promise<number>>;
}

/** A usage error: printed as one line with the command's synopsis hint, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
