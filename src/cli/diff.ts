import * as fs from 'node:fs';
import type { PackageDiff, PackageSnapshot } from '../packages/diff';
import { diffPackages, listedFiles, localSnapshot } from '../packages/diff';
import { UsageError } from './command';
import { resolvePackage } from './packages';
import { CliError, clientFor, parseCommandLine, type DepotClient } from './remote';

const SIGN = { added: '+', removed: '-', changed: '~' } as const;

function value(v: unknown): string {
  const s = JSON.stringify(v) ?? 'null';
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function summary(s: PackageDiff['a']): string {
  const product = s.vnfProvider || s.vnfProductName ? `${s.vnfProvider ?? '?'}/${s.vnfProductName ?? '?'}` : 'no VNFD identity';
  return `${s.label}: ${product} ${s.vnfSoftwareVersion ?? '?'}, VNFD ${s.vnfdVersion ?? '?'}, vnfdId ${s.vnfdId ?? '?'}`;
}

/** `depot diff`'s human output: the identities, then VNFD changes, files and metadata, one line each. */
export function renderDiff(d: PackageDiff): string {
  const out: string[] = [`a ${summary(d.a)}`, `b ${summary(d.b)}`];
  for (const p of d.problems) out.push(`! ${p}`);
  if (d.vnfd.length) {
    out.push('', 'VNFD:');
    for (const c of d.vnfd) {
      const where = `${c.file}${c.line ? `:${c.line}${c.column ? `:${c.column}` : ''}` : ''}`;
      const scalar = (v: unknown) => v === null || typeof v !== 'object';
      const change = c.change === 'changed' ? `: ${value(c.before)} -> ${value(c.after)}` : c.change === 'added' && scalar(c.after) ? `: ${value(c.after)}` : c.change === 'removed' && scalar(c.before) ? `: ${value(c.before)}` : '';
      out.push(`  ${SIGN[c.change]} ${c.category}${c.element ? ` ${c.element}` : ''} ${c.path}${change}  (${where})`);
    }
  }
  const f = d.files;
  if (f.added.length || f.removed.length || f.changed.length) {
    out.push('', 'files:');
    const short = (h: string) => h.slice(0, 12);
    for (const x of f.removed) out.push(`  - ${x.path}  sha256 ${short(x.sha256)}`);
    for (const x of f.added) out.push(`  + ${x.path}  sha256 ${short(x.sha256)}`);
    for (const x of f.changed) out.push(`  ~ ${x.path}  sha256 ${short(x.before.sha256)} -> ${short(x.after.sha256)}${x.before.size !== undefined && x.after.size !== undefined && x.before.size !== x.after.size ? `, ${x.before.size} -> ${x.after.size} bytes` : ''}`);
  }
  if (d.metadata.length) {
    out.push('', 'metadata:');
    for (const m of d.metadata) out.push(`  ${SIGN[m.change]} ${m.source} ${m.key}: ${m.change === 'changed' ? `${m.before} -> ${m.after}` : (m.after ?? m.before)}`);
  }
  const n = d.vnfd.length + f.added.length + f.removed.length + f.changed.length + d.metadata.length;
  out.push('', d.equal ? 'the packages are identical' : `${n} difference(s)`);
  return `${out.join('\n')}\n`;
}

/** An onboarded package on the server, seen through the generic API: its folder listing and files. */
async function remoteSnapshot(client: DepotClient, info: any): Promise<PackageSnapshot> {
  if (info.onboardingState !== 'ONBOARDED') throw new CliError(`VNF package ${info.id} is ${info.onboardingState}, not ONBOARDED`, 1);
  const base = `/artifacts/vnf_packages/${info.id}`;
  const { body: a } = await client.json('GET', base, `VNF package ${info.id}`);
  const { body: listing } = await client.json('GET', `${base}/content/`, `the files of VNF package ${info.id}`);
  const digests = new Map<string, { sha256: string; size?: number }>(listing.entries.map((e: any) => [e.path, { sha256: e.checksums?.sha256, size: e.size ?? undefined }]));
  const files = listedFiles(digests.keys(), async (p) => (await client.ok('GET', `${base}/content/${p.split('/').map(encodeURIComponent).join('/')}`, `${p} of VNF package ${info.id}`)).body);
  return { label: info.id, files, digests, entry: a.descriptor?.entry, manifest: a.descriptor?.manifest };
}

export async function diffCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { json: { type: 'boolean' } });
  if (positionals.length !== 2) throw new UsageError(`two packages to compare, not ${positionals.length}`);
  const local = positionals.map((p) => fs.existsSync(p));
  let d: PackageDiff;
  if (!local[0] && !local[1]) {
    // Both on the server: the server compares them (no file leaves it).
    const client = clientFor(values);
    const [a, b] = [await resolvePackage(client, positionals[0]), await resolvePackage(client, positionals[1])];
    d = (await client.json<PackageDiff>('GET', `/artifacts/vnf_packages/${b.id}/diff?against=${a.id}`, `diff of ${b.id} against ${a.id}`)).body;
  } else {
    let client: DepotClient | undefined;
    const snapshots: PackageSnapshot[] = [];
    try {
      for (const [i, p] of positionals.entries()) {
        if (local[i]) {
          try {
            snapshots.push(await localSnapshot(p));
          } catch (err) {
            throw new CliError(`cannot read ${p}: ${(err as Error).message}`, 2);
          }
        } else {
          client ??= clientFor(values);
          snapshots.push(await remoteSnapshot(client, await resolvePackage(client, p)));
        }
      }
      d = await diffPackages(snapshots[0], snapshots[1]);
    } finally {
      for (const s of snapshots) await s.close?.();
    }
  }
  process.stdout.write(values.json ? `${JSON.stringify(d, null, 2)}\n` : renderDiff(d));
  return d.equal ? 0 : 1;
}
