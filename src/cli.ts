import { validateCommand } from './tosca/cli';

/** `depot <command> ...`: a tiny dispatcher; the repo lead adds commands here. */
const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  validate: validateCommand,
  // Loaded on demand: the validator must not pay for the database stack.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  gc: async (argv) => (require('./gc-command') as typeof import('./gc-command')).gcCommand(argv),
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const run = cmd ? COMMANDS[cmd] : undefined;
  if (!run) {
    process.stderr.write(`usage: depot <${Object.keys(COMMANDS).join('|')}> ...\n`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (err: any) {
    // By name, not instanceof: importing the config module here would load it for `validate` too.
    if (err?.name !== 'ConfigError') throw err;
    process.stderr.write(`config error: ${err.message}\n`);
    return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`${e?.stack ?? e}\n`);
      process.exit(2);
    },
  );
}
