import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatFinding, hasErrors, type Finding } from '../common/findings';
import { onboardingSection } from '../config/sections';
import { examineVnfPackage } from '../modules/vnf-packages/examine';
import { validateVnfdInto } from '../modules/vnf-packages/type';
import { examinePackage } from '../packages/examine';
import { csarLimits, openLocalCsar } from '../packages/local-csar';
import type { TrustStore } from '../sol004';
import type { PackageFiles } from '../tosca';
import { UsageError } from './command';

export interface ValidateOptions {
  /** Verify signatures against these roots (config `signatures.trustStore`); without: reported as not verified. */
  trust?: TrustStore;
  /** Onboarding's `policy: strict`: SOL004 formalities are errors. */
  strict?: boolean;
}

/** Onboarding's archive limits as the service starts with them (the configuration's defaults). */
function defaultLimits() {
  const p = (onboardingSection as { properties: Record<string, { default: number }> }).properties;
  return csarLimits({ maxEntries: p.maxEntries.default, maxUncompressedBytes: p.maxUncompressedBytes.default, maxCompressionRatio: p.maxCompressionRatio.default });
}

/**
 * Every check onboarding runs on a VNF package, on a local CSAR: the same reader (stream pass and
 * random-access inspection), the same signature check and the same VNF profile checks
 * (examinePackage + examineVnfPackage); only the operator's own hooks are the service's alone.
 */
export async function validateCsarFile(file: string, o: ValidateOptions = {}): Promise<Finding[]> {
  const opened = await openLocalCsar(file, { limits: defaultLimits(), strict: o.strict });
  try {
    const r = await examinePackage(opened, {
      signatures: { trust: o.trust, require: false },
      examine: (ctx) => examineVnfPackage({ ...ctx, postUpload: async (files, entry, results) => (entry ? validateVnfdInto(files, entry, results) : []) }),
    });
    return r.findings;
  } finally {
    await opened.close();
  }
}

/** A lone descriptor: files it imports are read beside it, on demand (no walk of the folder). */
function besideFiles(entry: string): PackageFiles {
  const root = path.dirname(path.resolve(entry));
  const abs = (p: string) => path.join(root, ...p.split('/'));
  return {
    has: (p) => fs.statSync(abs(p), { throwIfNoEntry: false })?.isFile() ?? false,
    list: () => [path.basename(entry)],
    read: (p) => fs.promises.readFile(abs(p)),
  };
}

/** Validates a CSAR, a folder (as the package `depot pack` would make of it) or a lone VNFD. */
export async function validatePath(target: string, o: ValidateOptions = {}): Promise<Finding[]> {
  const st = fs.statSync(target);
  if (st.isDirectory()) {
    const { packToTemp } = require('./pack') as typeof import('./pack');
    const built = await packToTemp(target, { meta: true });
    try {
      if (!built.file) return built.findings;
      return [...built.findings, ...(await validateCsarFile(built.file, o))];
    } finally {
      await built.dispose();
    }
  }
  if (/\.ya?ml$/i.test(target)) return validateVnfdInto(besideFiles(target), path.basename(target));
  return validateCsarFile(target, o);
}

function parseArgs(argv: string[]): { target: string; json: boolean; trust?: string; strict: boolean } {
  let target: string | undefined;
  let json = false;
  let trust: string | undefined;
  let strict = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') json = true;
    else if (a === '--trust') {
      trust = argv[++i];
      if (!trust) throw new UsageError('--trust needs a PEM file of trusted certificates');
    } else if (a === '--policy') {
      const p = argv[++i];
      if (p !== 'strict' && p !== 'default') throw new UsageError(`--policy is strict or default, not ${p ?? 'nothing'}`);
      strict = p === 'strict';
    } else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else if (target === undefined) target = a;
    else throw new UsageError(`one package at a time (got ${target} and ${a})`);
  }
  if (!target) throw new UsageError('which package? give a CSAR, a folder or a VNFD file');
  return { target, json, trust, strict };
}

/** Reads a trust store file; a usage error (exit 2) when it cannot be read or holds no certificate. */
export function readTrust(file: string): TrustStore {
  let text: string;
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch (err: any) {
    throw new UsageError(`cannot read the trust store ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  try {
    return (require('../sol004') as typeof import('../sol004')).parseTrustStore(text);
  } catch (err: any) {
    throw new UsageError(`${file}: ${String(err.message).split('\n')[0]}`);
  }
}

/** `depot validate <csar|dir|yaml> [--json] [--trust FILE] [--policy strict]`: 0 no errors, 1 errors, 2 usage or I/O. */
export async function validateCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (!fs.existsSync(args.target)) {
    process.stderr.write(`depot validate: ${args.target}: no such file or directory\n`);
    return 2;
  }
  const trust = args.trust ? readTrust(args.trust) : undefined;
  let findings: Finding[];
  const cacheOff = (require('./parse-cache') as typeof import('./parse-cache')).enableParseCache();
  try {
    findings = await validatePath(args.target, { trust, strict: args.strict });
  } catch (err: any) {
    if (err?.name === 'UsageError' || !err?.code) throw err;
    process.stderr.write(`depot validate: ${args.target}: ${err.message}\n`);
    return 2;
  } finally {
    cacheOff();
  }
  if (args.json) process.stdout.write(`${JSON.stringify(findings, null, 2)}\n`);
  else {
    for (const f of findings) process.stdout.write(`${formatFinding(f)}\n`);
    const errors = findings.filter((f) => f.severity === 'error').length;
    process.stderr.write(`${errors} error(s), ${findings.length - errors} warning(s)\n`);
  }
  return hasErrors(findings) ? 1 : 0;
}
