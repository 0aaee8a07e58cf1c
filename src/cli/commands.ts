import type { CliCommand } from './command';

/* eslint-disable @typescript-eslint/no-require-imports */
/** Server and credentials of the server-facing commands (src/cli/remote.ts; profiles in ~/.config/depot/config.yaml). */
const SERVER = '[--url URL] [--token TOKEN] [--profile NAME]';
/** A server-facing command: its failures (cannot reach, 401, 404...) end it with one line. */
const remote = (name: string, run: (argv: string[]) => Promise<number>) => (require('./remote') as typeof import('./remote')).remoteCommand(name, run);

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
    name: 'push',
    summary: 'upload a CSAR (or pack a folder and upload it) to a Depot server',
    usage: `depot push <csar|dir> [--wait] [--timeout SECONDS] [--user-data KEY=VALUE ...] ${SERVER}`,
    examples: ['depot push my-vnf.csar', 'depot push ./my-vnf/ --wait --user-data site=paris', 'ID=$(depot push my-vnf.csar --profile lab)'],
    load: async () => remote('push', (require('./packages') as typeof import('./packages')).pushCommand),
  },
  {
    name: 'ls',
    summary: 'list the VNF packages on the server',
    usage: `depot ls [--filter SOL013-FILTER] [--json] ${SERVER}`,
    examples: ['depot ls', "depot ls --filter '(eq,onboardingState,ONBOARDED);(cont,vnfProductName,vFW)'", 'depot ls --json'],
    load: async () => remote('ls', (require('./packages') as typeof import('./packages')).lsCommand),
  },
  {
    name: 'show',
    summary: 'show a VNF package (by id or vnfdId), with its findings when onboarding failed',
    usage: `depot show <id|vnfdId> [--json] ${SERVER}`,
    examples: ['depot show 0b8c0f4e-1c1d-4c53-9a53-2a3f3b0c1d2e', 'depot show my-vnfd-id --json'],
    load: async () => remote('show', (require('./packages') as typeof import('./packages')).showCommand),
  },
  {
    name: 'versions',
    summary: 'list the versions of a product, sorted, the latest marked',
    usage: `depot versions <provider>/<product> [--json] ${SERVER}`,
    examples: ['depot versions Acme/vFW', 'depot versions "Acme/Test VNF" --json'],
    load: async () => remote('versions', (require('./packages') as typeof import('./packages')).versionsCommand),
  },
  {
    name: 'pull',
    summary: 'download a VNF package byte-exact as uploaded, its VNFD, or one of its files',
    usage: `depot pull <id|vnfdId> [-o FILE|-] [--vnfd | --artifact PATH] ${SERVER}`,
    examples: ['depot pull my-vnfd-id -o my-vnf.csar', 'depot pull my-vnfd-id --vnfd', 'depot pull my-vnfd-id --artifact Scripts/install.sh -o -'],
    load: async () => remote('pull', (require('./packages') as typeof import('./packages')).pullCommand),
  },
  {
    name: 'diff',
    summary: 'what changed between two packages (ids or vnfdIds on the server, CSAR files, folders)',
    usage: `depot diff <a> <b> [--json] ${SERVER}   (exit 0: identical, 1: different)`,
    examples: ['depot diff vfw-1.0 vfw-1.1', 'depot diff old.csar ./my-vnf/', 'depot diff my-vnfd-id new.csar --json'],
    load: async () => remote('diff', (require('./diff') as typeof import('./diff')).diffCommand),
  },
  {
    name: 'enable',
    summary: 'set a VNF package ENABLED',
    usage: `depot enable <id|vnfdId> ${SERVER}`,
    examples: ['depot enable my-vnfd-id'],
    load: async () => remote('enable', (require('./packages') as typeof import('./packages')).enableCommand),
  },
  {
    name: 'disable',
    summary: 'set a VNF package DISABLED (its content is then served to its owner and admins only)',
    usage: `depot disable <id|vnfdId> ${SERVER}`,
    examples: ['depot disable my-vnfd-id'],
    load: async () => remote('disable', (require('./packages') as typeof import('./packages')).disableCommand),
  },
  {
    name: 'rm',
    summary: 'delete a VNF package (disable an onboarded one first)',
    usage: `depot rm <id|vnfdId> ${SERVER}`,
    examples: ['depot disable my-vnfd-id && depot rm my-vnfd-id'],
    load: async () => remote('rm', (require('./packages') as typeof import('./packages')).rmCommand),
  },
  {
    name: 'gc',
    summary: 'remove stored objects that no artifact references',
    usage: 'depot gc [--grace-seconds N]   (default 3600: content younger than N seconds is kept)',
    examples: ['depot gc', 'depot gc --grace-seconds 0'],
    load: async () => (require('../gc-command') as typeof import('../gc-command')).gcCommand,
  },
];
