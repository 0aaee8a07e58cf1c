import type { CliCommand } from './command';

/* eslint-disable @typescript-eslint/no-require-imports */
/** Every `depot` sub-command, in the order `depot --help` lists them. */
export const COMMANDS: CliCommand[] = [
  {
    name: 'validate',
    summary: 'check a CSAR, a package folder or a descriptor as onboarding would',
    usage: 'depot validate <csar|dir|yaml> [--json]',
    examples: ['depot validate my-vnf.csar', 'depot validate ./my-vnf/ --json'],
    load: async () => (require('../tosca/cli') as typeof import('../tosca/cli')).validateCommand,
  },
  {
    name: 'gc',
    summary: 'remove stored objects that no artifact references',
    usage: 'depot gc [--grace-seconds N]   (default 3600: content younger than N seconds is kept)',
    examples: ['depot gc', 'depot gc --grace-seconds 0'],
    load: async () => (require('../gc-command') as typeof import('../gc-command')).gcCommand,
  },
];
