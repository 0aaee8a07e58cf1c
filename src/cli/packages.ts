import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { formatFinding, hasErrors, type Finding } from '../common/findings';
import { UsageError } from './command';
import { formatBytes, progressMeter } from './progress';
import { CliError, clientFor, jsonBody, parseCommandLine, type DepotClient } from './remote';

/**
 * The operator's commands on a Depot server: push, ls, show, versions, pull, enable, disable, rm.
 * They speak SOL005 (`/vnfpkgm/v2`) and, for versions, the generic API; a package is named by its
 * id or its vnfdId.
 */
const V2 = '/vnfpkgm/v2/vnf_packages';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A SOL013 filter value, quoted when it must be (5.2.2). */
function filterValue(v: string): string {
  return /[,()';]/.test(v) ? `'${v.replace(/'/g, "''")}'` : v;
}

/** The VnfPkgInfo (v2) a reference names: a package id, else the vnfdId of exactly one package. */
export async function resolvePackage(client: DepotClient, ref: string): Promise<any> {
  if (UUID.test(ref)) {
    const what = `VNF package ${ref}`;
    const res = await client.request('GET', `${V2}/${ref}`);
    if (res.status === 200) return jsonBody(res, what);
    if (res.status !== 404) await client.fail(res, what);
    res.body.resume();
  }
  const { body } = await client.json<any[]>('GET', `${V2}?filter=${encodeURIComponent(`(eq,vnfdId,${filterValue(ref)})`)}`, `VNF packages of vnfdId ${ref}`);
  if (body.length === 1) return body[0];
  if (!body.length) throw new CliError(`no VNF package with id or vnfdId ${ref}`, 1, 404);
  throw new CliError(`vnfdId ${ref} names ${body.length} VNF packages (${body.map((p) => p.id).join(', ')}): give an id`, 1);
}

function one(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `one ${what}, not ${positionals.length}` : `missing ${what}`);
  return positionals[0];
}

/** Findings of a package in ERROR, compiler-style (as `depot validate` prints them). */
function failureFindings(info: any): Finding[] {
  return (info.onboardingFailureDetails?.findings ?? []) as Finding[];
}

// ---------------------------------------------------------------------------------------- push

export async function pushCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    wait: { type: 'boolean' },
    'user-data': { type: 'string', multiple: true },
    timeout: { type: 'string' },
  });
  const target = one(positionals, 'CSAR file or package folder');
  const userDefinedData: Record<string, string> = {};
  for (const kv of values['user-data'] ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--user-data ${kv}: expected KEY=VALUE`);
    userDefinedData[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const timeout = values.timeout === undefined ? 1800 : Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) throw new UsageError(`--timeout ${values.timeout}: expected a number of seconds`);
  let st: fs.Stats;
  try {
    st = fs.statSync(target);
  } catch {
    throw new CliError(`${target}: no such file or directory`, 2);
  }
  const client = clientFor(values);
  let file = target;
  let temp: string | undefined;
  try {
    if (st.isDirectory()) {
      temp = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-push-'));
      file = path.join(temp, `${path.basename(path.resolve(target))}.csar`);
      const { packDirectory } = require('./pack') as typeof import('./pack');
      let packed: Awaited<ReturnType<typeof packDirectory>>;
      try {
        packed = await packDirectory(target, { out: file });
      } catch (err) {
        throw new CliError(`cannot pack ${target}: ${(err as Error).message}`, 2);
      }
      for (const f of packed.findings) process.stdout.write(`${formatFinding(f)}\n`);
      // pack writes nothing for a folder that does not validate: there is nothing to push.
      if (hasErrors(packed.findings) || !fs.existsSync(packed.out)) {
        process.stderr.write(`depot push: ${target} does not pack into a valid package; nothing was uploaded\n`);
        return 1;
      }
      file = packed.out;
    }
    const size = fs.statSync(file).size;
    const { body: created } = await client.json('POST', V2, 'create a VNF package', { json: Object.keys(userDefinedData).length ? { userDefinedData } : {} });
    const id = created.id as string;
    const meter = progressMeter(`upload ${path.basename(target)}`, size);
    const res = await client.ok('PUT', `${V2}/${id}/package_content`, `upload ${target} to VNF package ${id}`, {
      headers: { 'Content-Type': 'application/zip' },
      stream: fs.createReadStream(file).pipe(meter),
      length: size,
    });
    res.body.resume();
    meter.finish();
    process.stdout.write(`${id}\n`);
    if (!values.wait) return 0;
    const info = await waitOnboarded(client, id, timeout);
    // ERROR: the findings of onboardingFailureDetails; ONBOARDED: the warnings onboarding recorded
    // (VnfPkgInfo has no member for them; the generic API shows the field).
    const findings = info.onboardingState === 'ERROR'
      ? failureFindings(info)
      : (((await client.json('GET', `/artifacts/vnf_packages/${id}`, `VNF package ${id}`)).body.onboardingFindings ?? []) as Finding[]);
    for (const f of findings) process.stdout.write(`${formatFinding(f)}\n`);
    if (info.onboardingState === 'ERROR') {
      const errors = findings.filter((f) => f.severity === 'error').length;
      process.stderr.write(`${id} ERROR: ${errors} error(s), ${findings.length - errors} warning(s)\n`);
      return 1;
    }
    process.stderr.write(`${id} ONBOARDED: ${info.vnfProvider}/${info.vnfProductName} ${info.vnfSoftwareVersion} (vnfd ${info.vnfdVersion}), vnfdId ${info.vnfdId}${findings.length ? `, ${findings.length} warning(s)` : ''}\n`);
    return 0;
  } finally {
    if (temp) fs.rmSync(temp, { recursive: true, force: true });
  }
}

async function waitOnboarded(client: DepotClient, id: string, timeoutSeconds: number): Promise<any> {
  const until = Date.now() + timeoutSeconds * 1000;
  let delay = 200;
  for (;;) {
    const { body } = await client.json('GET', `${V2}/${id}`, `VNF package ${id}`);
    if (body.onboardingState === 'ONBOARDED' || body.onboardingState === 'ERROR') return body;
    if (Date.now() > until) throw new CliError(`VNF package ${id} is still ${body.onboardingState} after ${timeoutSeconds} s`, 1);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 1.5, 2000);
  }
}

// ------------------------------------------------------------------------------------------ ls

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i]))).join('  ').trimEnd()).join('\n') + '\n';
}

export async function lsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { filter: { type: 'string' }, json: { type: 'boolean' } });
  if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const client = clientFor(values);
  const all: any[] = [];
  let query = values.filter ? `filter=${encodeURIComponent(values.filter)}` : '';
  for (;;) {
    const { body, headers } = await client.json<any[]>('GET', `${V2}${query ? `?${query}` : ''}`, 'list VNF packages');
    all.push(...body);
    const marker = /[?&]nextpage_opaque_marker=([^&>]+)/.exec(String(headers.link ?? ''))?.[1];
    if (!marker) break;
    query = `${values.filter ? `filter=${encodeURIComponent(values.filter)}&` : ''}nextpage_opaque_marker=${marker}`;
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
    return 0;
  }
  const rows = [['ID', 'PRODUCT', 'SOFTWARE', 'VNFD', 'ONBOARDING', 'OPERATIONAL', 'VNFD ID']];
  for (const p of all) {
    rows.push([p.id, p.vnfProvider ? `${p.vnfProvider}/${p.vnfProductName}` : '-', p.vnfSoftwareVersion ?? '-', p.vnfdVersion ?? '-', p.onboardingState, p.operationalState, p.vnfdId ?? '-']);
  }
  process.stdout.write(table(rows));
  return 0;
}

// ---------------------------------------------------------------------------------------- show

export async function showCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { json: { type: 'boolean' } });
  const ref = one(positionals, 'package id or vnfdId');
  const client = clientFor(values);
  const info = await resolvePackage(client, ref);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    return 0;
  }
  const generic = (await client.json('GET', `/artifacts/vnf_packages/${info.id}`, `VNF package ${info.id}`)).body;
  const lines: [string, string | undefined][] = [
    ['id', info.id],
    ['vnfdId', info.vnfdId],
    ['product', info.vnfProvider && `${info.vnfProvider}/${info.vnfProductName}`],
    ['software version', info.vnfSoftwareVersion],
    ['VNFD version', info.vnfdVersion],
    ['version', info.onboardingState === 'ONBOARDED' ? generic.version : undefined],
    ['onboarding', info.onboardingState],
    ['operational', info.operationalState],
    ['usage', info.usageState],
    ['checksum', info.checksum && `${info.checksum.algorithm} ${info.checksum.hash}`],
    ['security', info.packageSecurityOption],
    ['vnfm', (info.vnfmInfo ?? []).join(', ') || undefined],
    ['created', generic.created_at],
    ...(info.softwareImages ?? []).map((i: any): [string, string] => ['image', `${i.id}: ${i.name} ${i.version} ${[i.diskFormat, i.containerFormat].filter(Boolean).join('/')} ${formatBytes(i.size ?? 0)} ${i.imagePath ?? i.imageUri ?? ''}`.trim()]),
    ...(info.additionalArtifacts ?? []).map((a: any): [string, string] => ['artifact', `${a.artifactPath ?? a.artifactURI}${a.nonManoArtifactSetId ? ` (${a.nonManoArtifactSetId})` : ''}`]),
    ...Object.entries(info.userDefinedData ?? {}).map(([k, v]): [string, string] => ['user data', `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`]),
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  for (const [k, v] of lines) if (v !== undefined) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
  const findings = failureFindings(info);
  for (const f of findings) process.stdout.write(`${formatFinding(f)}\n`);
  return 0;
}

// ------------------------------------------------------------------------------------ versions

export async function versionsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { json: { type: 'boolean' } });
  const name = one(positionals, '<provider>/<product>');
  if (!/^[^/]+\/.+$/.test(name)) throw new UsageError(`${name}: expected <provider>/<product>, e.g. Acme/vFW`);
  const client = clientFor(values);
  const q = `name=${encodeURIComponent(`eq:${name}`)}`;
  const all: any[] = [];
  let next: string | undefined = `/artifacts/vnf_packages?${q}&sort=version:asc&limit=1000`;
  while (next) {
    const { body }: { body: any } = await client.json('GET', next, `versions of ${name}`);
    all.push(...body.artifacts);
    next = body.next;
  }
  const latest = (await client.json('GET', `/artifacts/vnf_packages?${q}&version=latest`, `latest version of ${name}`)).body.artifacts[0]?.id;
  if (values.json) {
    process.stdout.write(`${JSON.stringify(all.map((a) => ({ version: a.version, id: a.id, vnfdId: a.vnfdId, vnfSoftwareVersion: a.vnfSoftwareVersion, vnfdVersion: a.vnfdVersion, status: a.status, latest: a.id === latest })), null, 2)}\n`);
    return 0;
  }
  if (!all.length) {
    process.stderr.write(`depot versions: no onboarded VNF package named ${name}\n`);
    return 1;
  }
  const rows = [['VERSION', 'ID', 'OPERATIONAL', 'VNFD ID', '']];
  for (const a of all) rows.push([a.version, a.id, a.status === 'active' ? 'ENABLED' : 'DISABLED', a.vnfdId ?? '-', a.id === latest ? '(latest)' : '']);
  process.stdout.write(table(rows));
  return 0;
}

// ---------------------------------------------------------------------------------------- pull

/** The file name of a Content-Disposition header, if any. */
function dispositionName(h: string | undefined): string | undefined {
  const m = /filename\*=UTF-8''([^;]+)|filename="([^"]+)"|filename=([^;]+)/i.exec(h ?? '');
  const name = m ? (m[1] ? decodeURIComponent(m[1]) : (m[2] ?? m[3])) : undefined;
  return name ? path.basename(name.trim()) : undefined;
}

export async function pullCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { output: { type: 'string', short: 'o' }, vnfd: { type: 'boolean' }, artifact: { type: 'string' } });
  const ref = one(positionals, 'package id or vnfdId');
  if (values.vnfd && values.artifact) throw new UsageError('give --vnfd or --artifact, not both');
  const client = clientFor(values);
  const info = await resolvePackage(client, ref);
  const id = info.id as string;
  let urlPath: string;
  let what: string;
  let headers: Record<string, string> = {};
  if (values.vnfd) {
    urlPath = `${V2}/${id}/vnfd`;
    what = `the VNFD of VNF package ${id}`;
    headers = { Accept: 'text/plain, application/zip' };
  } else if (values.artifact) {
    const p = values.artifact.replace(/^\/+/, '');
    urlPath = `${V2}/${id}/artifacts/${p.split('/').map(encodeURIComponent).join('/')}`;
    what = `${p} of VNF package ${id}`;
    headers = { Accept: '*/*' };
  } else {
    urlPath = `${V2}/${id}/package_content`;
    what = `VNF package ${id}`;
    headers = { Accept: 'application/zip' };
  }
  const res = await client.ok('GET', urlPath, what, { headers });
  const out = values.output ?? (values.artifact ? path.basename(values.artifact) : values.vnfd ? dispositionName(res.headers['content-disposition'] as string) ?? 'vnfd.zip' : `${id}.csar`);
  const length = res.headers['content-length'] ? Number(res.headers['content-length']) : undefined;
  const hash = createHash('sha256');
  const hashing = new Transform({ transform(c: Buffer, _e, cb) { hash.update(c); cb(null, c); } });
  const meter = progressMeter(`download ${path.basename(out === '-' ? what : out)}`, length);
  const toStdout = out === '-';
  const part = toStdout ? undefined : `${out}.part-${process.pid}`;
  try {
    await pipeline(res.body, hashing, meter, toStdout ? process.stdout : fs.createWriteStream(part!));
  } catch (err) {
    if (part) fs.rmSync(part, { force: true });
    if ((err as any)?.name === 'CliError') throw err;
    throw new CliError(`${what}: download failed: ${(err as Error).message}`, 2);
  }
  meter.finish();
  const sha256 = hash.digest('hex');
  // The whole package is checked against the checksum Depot computed at upload: byte-exact or nothing.
  if (!values.vnfd && !values.artifact && info.checksum?.hash && info.checksum.hash.toLowerCase() !== sha256) {
    if (part) fs.rmSync(part, { force: true });
    throw new CliError(`${what}: the download's SHA-256 ${sha256} is not the package's ${info.checksum.hash}`, 1);
  }
  if (part) {
    fs.renameSync(part, out);
    process.stderr.write(`${out}: ${formatBytes(fs.statSync(out).size)}, sha256 ${sha256}\n`);
  }
  return 0;
}

// ------------------------------------------------------------------------- enable, disable, rm

function stateCommand(state: 'ENABLED' | 'DISABLED') {
  return async (argv: string[]): Promise<number> => {
    const { values, positionals } = parseCommandLine(argv, {});
    const ref = one(positionals, 'package id or vnfdId');
    const client = clientFor(values);
    const info = await resolvePackage(client, ref);
    const res = await client.ok('PATCH', `${V2}/${info.id}`, `set VNF package ${info.id} ${state}`, {
      json: { operationalState: state },
      headers: { 'Content-Type': 'application/merge-patch+json' },
    });
    res.body.resume();
    process.stdout.write(`${info.id} ${state}\n`);
    return 0;
  };
}

export const enableCommand = stateCommand('ENABLED');
export const disableCommand = stateCommand('DISABLED');

export async function rmCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {});
  const ref = one(positionals, 'package id or vnfdId');
  const client = clientFor(values);
  const info = await resolvePackage(client, ref);
  const res = await client.ok('DELETE', `${V2}/${info.id}`, `delete VNF package ${info.id}`);
  res.body.resume();
  process.stdout.write(`${info.id} deleted\n`);
  return 0;
}
