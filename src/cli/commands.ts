import type { CliCommand } from './command';

/* eslint-disable @typescript-eslint/no-require-imports */
/** Server and credentials of the server-facing commands (src/cli/remote.ts; profiles in ~/.config/depot/config.yaml). */
const SERVER = '[--url URL] [--token TOKEN] [--profile NAME]';
const packages = () => require('./packages') as typeof import('./packages');
const diff = () => require('./diff') as typeof import('./diff');

/** A server-facing command: loaded on demand; its failures (cannot reach, 401, 404...) end it with one line. */
function onServer(name: string, summary: string, args: string, examples: string[], run: () => (argv: string[]) => Promise<number>, note = ''): CliCommand {
  return {
    name, summary, examples,
    usage: `depot ${name} ${args} ${SERVER}${note ? `   ${note}` : ''}`,
    load: async () => (require('./remote') as typeof import('./remote')).remoteCommand(name, run()),
  };
}

/** Every `depot` sub-command, in the order `depot --help` lists them. */
export const COMMANDS: CliCommand[] = [
  {
    name: 'validate',
    summary: 'check a CSAR, a package folder or a descriptor as onboarding would',
    usage: 'depot validate <csar|dir|yaml> [--json] [--trust FILE] [--policy strict]\n\n' +
      '  every check of onboarding (archive safety, SOL004 structure and manifest, every digest, the VNFD,\n' +
      '  the signature); a folder is checked as the package `depot pack` makes of it.\n' +
      '  --json          the findings as a JSON array\n' +
      '  --trust FILE    verify the signature against these PEM root certificates (as signatures.trustStore)\n' +
      '  --policy strict SOL004 formalities are errors (as onboarding.policy: strict)\n' +
      '  exit 0: no errors, 1: errors, 2: usage or I/O',
    examples: ['depot validate my-vnf.csar', 'depot validate ./my-vnf/ --json', 'depot validate signed.csar --trust operator-roots.pem --policy strict'],
    load: async () => (require('./validate') as typeof import('./validate')).validateCommand,
  },
  {
    name: 'pack',
    summary: 'build a SOL004 CSAR from a folder (reproducible; optionally signed, option 1 or 2)',
    usage: 'depot pack <dir> [-o FILE] [--no-meta] [--sign-key KEY --sign-cert CERT [--option 1|2]]\n\n' +
      '  TOSCA-Metadata/TOSCA.meta (unless --no-meta) and a manifest with the VNFD\'s identity and a SHA-256 of\n' +
      '  every file; the same folder gives the same bytes (release date: SOURCE_DATE_EPOCH, else the newest\n' +
      '  file). Signed with a PEM key and certificate: option 1 (the manifest, default) or 2 (the whole CSAR in\n' +
      '  an outer zip). A package that does not validate is not written (exit 1).',
    examples: ['depot pack ./my-vnf -o my-vnf.csar', 'depot pack ./my-vnf --no-meta', 'depot pack ./my-vnf -o my-vnf.zip --sign-key vendor.key --sign-cert vendor.pem --option 2'],
    load: async () => (require('./pack') as typeof import('./pack')).packCommand,
  },
  onServer('push', 'upload a CSAR (or pack a folder and upload it) to a Depot server', '<csar|dir> [--wait] [--timeout SECONDS] [--user-data KEY=VALUE ...]',
    ['depot push my-vnf.csar', 'depot push ./my-vnf/ --wait --user-data site=paris', 'ID=$(depot push my-vnf.csar --profile lab)'],
    () => packages().pushCommand),
  onServer('ls', 'list the VNF packages on the server', '[--filter SOL013-FILTER] [--json]',
    ['depot ls', "depot ls --filter '(eq,onboardingState,ONBOARDED);(cont,vnfProductName,vFW)'", 'depot ls --json'],
    () => packages().lsCommand),
  onServer('show', 'show a VNF package (by id or vnfdId), with its findings when onboarding failed', '<id|vnfdId> [--json]',
    ['depot show 0b8c0f4e-1c1d-4c53-9a53-2a3f3b0c1d2e', 'depot show my-vnfd-id --json'],
    () => packages().showCommand),
  onServer('versions', 'list the versions of a product, sorted, the latest marked', '<provider>/<product> [--json]',
    ['depot versions Acme/vFW', 'depot versions "Acme/Test VNF" --json'],
    () => packages().versionsCommand),
  onServer('pull', 'download a VNF package byte-exact as uploaded, its VNFD, or one of its files', '<id|vnfdId> [-o FILE|-] [--vnfd | --artifact PATH]',
    ['depot pull my-vnfd-id -o my-vnf.csar', 'depot pull my-vnfd-id --vnfd', 'depot pull my-vnfd-id --artifact Scripts/install.sh -o -'],
    () => packages().pullCommand),
  onServer('diff', 'what changed between two packages (ids or vnfdIds on the server, CSAR files, folders)', '<a> <b> [--json]',
    ['depot diff vfw-1.0 vfw-1.1', 'depot diff old.csar ./my-vnf/', 'depot diff my-vnfd-id new.csar --json'],
    () => diff().diffCommand, '(exit 0: identical, 1: different)'),
  onServer('enable', 'set a VNF package ENABLED', '<id|vnfdId>',
    ['depot enable my-vnfd-id'],
    () => packages().enableCommand),
  onServer('disable', 'set a VNF package DISABLED (its content is then served to its owner and admins only)', '<id|vnfdId>',
    ['depot disable my-vnfd-id'],
    () => packages().disableCommand),
  onServer('rm', 'delete a VNF package (disable an onboarded one first)', '<id|vnfdId>',
    ['depot disable my-vnfd-id && depot rm my-vnfd-id'],
    () => packages().rmCommand),
  {
    name: 'gc',
    summary: 'remove stored objects that no artifact references',
    usage: 'depot gc [--grace-seconds N]   (default 3600: content younger than N seconds is kept)',
    examples: ['depot gc', 'depot gc --grace-seconds 0'],
    load: async () => (require('../gc-command') as typeof import('../gc-command')).gcCommand,
  },
];
