import { COMMANDS } from './cli/commands';
import type { CliCommand } from './cli/command';

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `usage: depot <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n` +
    `\`depot <command> --help\` shows a command's options and examples.\n`;
}

function help(c: CliCommand): string {
  return `usage: ${c.usage}\n\n${c.summary}\n\nexamples:\n${c.examples.map((e) => `  ${e}`).join('\n')}\n`;
}

/** `depot <command> ...`; returns the exit code (0 ok, 1 findings or failure, 2 usage or I/O). */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const out = overview();
    if (cmd === undefined) { process.stderr.write(out); return 2; }
    process.stdout.write(out);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === cmd);
  if (!command) {
    process.stderr.write(`depot: unknown command '${cmd}' (commands: ${COMMANDS.map((c) => c.name).join(', ')}; see depot --help)\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(help(command));
    return 0;
  }
  try {
    return await (await command.load())(rest);
  } catch (err: any) {
    // By name, not instanceof: importing the config module here would load it for `validate` too.
    if (err?.name === 'ConfigError') { process.stderr.write(`config error: ${err.message}\n`); return 2; }
    if (err?.name === 'UsageError') { process.stderr.write(`depot ${cmd}: ${err.message} (usage: ${command.usage.split('\n')[0]})\n`); return 2; }
    throw err;
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
