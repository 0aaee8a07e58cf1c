import type { CliCommand } from './command';

/* eslint-disable @typescript-eslint/no-require-imports */
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
  {
    name: 'gc',
    summary: 'remove stored objects that no artifact references',
    usage: 'depot gc [--grace-seconds N]   (default 3600: content younger than N seconds is kept)',
    examples: ['depot gc', 'depot gc --grace-seconds 0'],
    load: async () => (require('../gc-command') as typeof import('../gc-command')).gcCommand,
  },
];
