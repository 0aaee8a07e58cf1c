import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import YAML from 'yaml';
import { openCsar } from '../../src/csar';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { buildZip, DEFAULT_METADATA, sha256 } from '../helpers/csar-builder';
import { IMAGE_PATH, META, packageFiles, type PackageSpec } from '../vnf-package/helpers';
import { basePkiOrSkip, type TestPki } from '../sol004/pki';
import { cleanFiles } from './run';

/**
 * The server-facing `depot` commands, run as a user runs them (a child process, no terminal)
 * against a real Depot on loopback: push (--wait, findings), ls, show, versions, pull, diff (CLI
 * and API), enable/disable/rm, credentials from flags, environment and profile, one-line errors.
 */
const ROOT = path.resolve(__dirname, '../..');

interface Run { code: number; stdout: string; stderr: string; bytes: Buffer }

function depot(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DEPOT_')));
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(ROOT, 'src/cli.ts'), ...args], {
      cwd: ROOT,
      env: { ...clean, ...env } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const bytes = Buffer.concat(out);
      resolve({ code: code ?? -1, stdout: bytes.toString('utf8'), stderr, bytes });
    });
  });
}

const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** A valid package of the given product and versions, its image seeded so that versions differ. */
async function csar(dir: string, name: string, spec: PackageSpec & { imageVersion?: string; mutate?: (vnfd: string) => string; meta?: string }): Promise<{ file: string; bytes: Buffer; files: Record<string, string | Buffer>; entry: string }> {
  const { files, entry, manifest } = packageFiles({ imageSize: 4096, ...spec });
  let text = files[entry] as string;
  if (spec.imageVersion) text = text.replace("version: '1.0'\n            checksum", `version: '${spec.imageVersion}'\n            checksum`);
  if (spec.mutate) text = spec.mutate(text);
  files[entry] = text;
  if (spec.meta) files['TOSCA-Metadata/TOSCA.meta'] = spec.meta;
  const metadata = { ...DEFAULT_METADATA, vnf_provider_id: spec.provider ?? 'Acme', vnf_product_name: spec.product ?? 'Test VNF', vnf_package_version: spec.vnfdVersion ?? '1.0' };
  const bytes = await buildZip(files, { manifest: { path: manifest, metadata } });
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return { file, bytes, files, entry };
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('depot CLI against a server (push, ls, show, versions, pull, diff, enable/disable/rm)', function () {
  this.timeout(120_000);
  let d: TestDepot;
  let tmp: string;
  let env: Record<string, string>;
  const product = `CLI VNF ${randomUUID().slice(0, 8)}`;
  const vnfdIds = [randomUUID(), randomUUID(), randomUUID()];
  let v1: Awaited<ReturnType<typeof csar>>;
  let v2: Awaited<ReturnType<typeof csar>>;
  const ids: string[] = [];
  let badId: string;

  before(async () => {
    d = await startTestDepot();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-cli-'));
    env = { DEPOT_URL: d.url, DEPOT_TOKEN: d.users.alice.token, XDG_CONFIG_HOME: path.join(tmp, 'config') };
    v1 = await csar(tmp, 'v1.csar', { product, vnfdId: vnfdIds[0], softwareVersion: '1.0.2', vnfdVersion: '1.0', imageSeed: 1 });
    v2 = await csar(tmp, 'v2.csar', { product, vnfdId: vnfdIds[1], softwareVersion: '1.0.10', vnfdVersion: '1.1', imageSeed: 2, imageVersion: '2.0' });
  });
  after(async () => {
    await d?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('push --wait uploads with progress lines, prints the id, and ends ONBOARDED', async () => {
    for (const [i, pkg] of [v1, v2].entries()) {
      const r = await depot(['push', pkg.file, '--wait', '--user-data', `release=r${i}`, '--user-data', 'site=paris'], env);
      assert.equal(r.code, 0, show(r));
      // The id, then the warnings onboarding recorded (compiler-style); one progress line when done.
      const [id, ...warnings] = r.stdout.trim().split('\n');
      assert.match(id, /^[0-9a-f-]{36}$/, show(r));
      for (const w of warnings) assert.match(w, /^\S+(:\d+(:\d+)?)? warning [A-Z0-9-]+ /, show(r));
      assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('upload ')).length, 1, show(r));
      // Not a terminal: plain progress lines (no carriage returns), bytes and rate; the last is 100%.
      assert.doesNotMatch(r.stderr, /\r/);
      assert.match(r.stderr, new RegExp(`upload v${i + 1}\\.csar 100% [0-9.]+ (B|KiB)/[0-9.]+ (B|KiB) [0-9.]+ (B|KiB|MiB)/s`), show(r));
      assert.match(r.stderr, /ONBOARDED/, show(r));
      const info: any = await (await d.request('GET', `/vnfpkgm/v2/vnf_packages/${id}`)).json();
      assert.equal(info.onboardingState, 'ONBOARDED');
      assert.deepEqual(info.userDefinedData, { release: `r${i}`, site: 'paris' });
      ids.push(id);
    }
  });

  it('push --wait of a bad package exits 1 and prints located findings as depot validate does', async () => {
    const bad = await csar(tmp, 'bad.csar', { product, vnfdId: vnfdIds[2], mutate: (t) => t.replace('type: tosca.nodes.nfv.Vdu.Compute', 'type: tosca.nodes.nfv.Vdu.Computer') });
    const r = await depot(['push', bad.file, '--wait'], env);
    assert.equal(r.code, 1, show(r));
    const [id, ...findings] = r.stdout.trim().split('\n');
    assert.match(id, /^[0-9a-f-]{36}$/);
    badId = id;
    const line = findings.find((l) => /tosca\.nodes\.nfv\.Vdu\.Computer/.test(l));
    assert.ok(line, show(r));
    assert.match(line!, /^Definitions\/top\.yaml:\d+:\d+ error [A-Z0-9-]+ /, show(r));
    assert.match(r.stderr, /ERROR: [1-9]\d* error\(s\)/);
    // show of a package in ERROR prints the same findings.
    const s = await depot(['show', id], env);
    assert.equal(s.code, 0, show(s));
    assert.match(s.stdout, /onboarding +ERROR/);
    assert.ok(s.stdout.includes(line!), show(s));
  });

  it('depot --help lists the commands and each command has its help with examples (exit 0)', async () => {
    const all = await depot(['--help']);
    assert.equal(all.code, 0, show(all));
    for (const c of ['push', 'ls', 'show', 'versions', 'pull', 'diff', 'enable', 'disable', 'rm']) {
      assert.match(all.stdout, new RegExp(`^  ${c} +\\S`, 'm'), show(all));
    }
    const push = await depot(['push', '--help']);
    assert.equal(push.code, 0, show(push));
    assert.match(push.stdout, /^usage: depot push <csar\|dir> \[--wait\]/);
    assert.match(push.stdout, /--profile NAME/);
    assert.match(push.stdout, /examples:\n  depot push /);
  });

  it('push of a missing file and of an unknown option are one-line errors, exit 2', async () => {
    const r = await depot(['push', path.join(tmp, 'nope.csar')], env);
    assert.equal(r.code, 2, show(r));
    assert.equal(r.stderr.trim().split('\n').length, 1, show(r));
    assert.match(r.stderr, /nope\.csar: no such file/);
    const u = await depot(['push', v1.file, '--wiat'], env);
    assert.equal(u.code, 2, show(u));
    assert.equal(u.stderr.trim().split('\n').length, 1, show(u));
    assert.match(u.stderr, /--wiat/);
  });

  it('ls lists packages, --filter narrows with a SOL013 filter', async () => {
    const all = await depot(['ls'], env);
    assert.equal(all.code, 0, show(all));
    assert.match(all.stdout, /^ID +PRODUCT +SOFTWARE/);
    for (const id of ids) assert.ok(all.stdout.includes(id), show(all));
    const one = await depot(['ls', '--filter', `(eq,vnfdId,${vnfdIds[1]})`], env);
    assert.equal(one.code, 0, show(one));
    const rows = one.stdout.trim().split('\n').slice(1);
    assert.equal(rows.length, 1, show(one));
    assert.ok(rows[0].startsWith(ids[1]), show(one));
    assert.match(rows[0], /1\.0\.10 +1\.1 +ONBOARDED +ENABLED/);
    const json = await depot(['ls', '--json', '--filter', `(eq,vnfProductName,'${product}');(eq,onboardingState,ONBOARDED)`], env);
    assert.equal(json.code, 0, show(json));
    assert.deepEqual(JSON.parse(json.stdout).map((p: any) => p.id).sort(), [...ids].sort());
    const badFilter = await depot(['ls', '--filter', '(eq,nope'], env);
    assert.equal(badFilter.code, 1, show(badFilter));
    assert.equal(badFilter.stderr.trim().split('\n').length, 1);
    assert.match(badFilter.stderr, /400/);
  });

  it('show by id and by vnfdId; an unknown one is one line naming what was asked', async () => {
    const byId = await depot(['show', ids[0]], env);
    assert.equal(byId.code, 0, show(byId));
    assert.match(byId.stdout, new RegExp(`^id +${ids[0]}$`, 'm'));
    assert.match(byId.stdout, /^software version +1\.0\.2$/m);
    assert.match(byId.stdout, /^version +1\.0\.2\+vnfd\.1\.0$/m);
    assert.match(byId.stdout, /^image +.*Files\/images\/test\.img$/m);
    const byVnfd = await depot(['show', vnfdIds[0], '--json'], env);
    assert.equal(byVnfd.code, 0, show(byVnfd));
    assert.equal(JSON.parse(byVnfd.stdout).id, ids[0]);
    const unknown = randomUUID();
    const none = await depot(['show', unknown], env);
    assert.equal(none.code, 1, show(none));
    assert.equal(none.stderr.trim().split('\n').length, 1, show(none));
    assert.match(none.stderr, new RegExp(`no VNF package with id or vnfdId ${unknown}`));
  });

  it('versions lists a product sorted by version with the latest marked', async () => {
    // TOSCA.meta without ETSI-Entry-Manifest: onboards, with a warning that push --wait prints.
    const v3 = await csar(tmp, 'v3.csar', { product, vnfdId: randomUUID(), softwareVersion: '1.0.9', vnfdVersion: '1.0', imageSeed: 3, meta: META('Definitions/top.yaml') });
    const p = await depot(['push', v3.file, '--wait'], env);
    assert.equal(p.code, 0, show(p));
    const [id3, ...warnings] = p.stdout.trim().split('\n');
    assert.ok(warnings.some((l) => /^TOSCA-Metadata\/TOSCA\.meta:1 warning CSAR-META-MISSING-KEY .*ETSI-Entry-Manifest/.test(l)), show(p));
    assert.match(p.stderr, /ONBOARDED: .*, [1-9]\d* warning\(s\)/);
    const r = await depot(['versions', `Acme/${product}`], env);
    assert.equal(r.code, 0, show(r));
    const rows = r.stdout.trim().split('\n').slice(1);
    // SemVer order, not text order: 1.0.2 < 1.0.9 < 1.0.10 (pushed 1.0.2, 1.0.10, then 1.0.9).
    assert.deepEqual(rows.map((l) => l.split(/\s+/)[0]), ['1.0.2+vnfd.1.0', '1.0.9+vnfd.1.0', '1.0.10+vnfd.1.1'], show(r));
    assert.deepEqual(rows.map((l) => l.split(/\s+/)[1]), [ids[0], id3, ids[1]]);
    assert.deepEqual(rows.map((l) => l.endsWith('(latest)')), [false, false, true], show(r));
    const json = await depot(['versions', `Acme/${product}`, '--json'], env);
    assert.deepEqual(JSON.parse(json.stdout).map((v: any) => v.latest), [false, false, true]);
    const none = await depot(['versions', 'Acme/none-such'], env);
    assert.equal(none.code, 1, show(none));
    const usage = await depot(['versions', 'no-slash'], env);
    assert.equal(usage.code, 2, show(usage));
    const del = await d.request('DELETE', `/vnfpkgm/v2/vnf_packages/${id3}`);
    assert.equal(del.status, 409); // ENABLED: the CLI test of rm below does the right sequence
  });

  it('pull is byte-exact (SHA-256), --vnfd gives the descriptor, --artifact one file', async () => {
    const out = path.join(tmp, 'pulled.csar');
    const r = await depot(['pull', vnfdIds[0], '-o', out], env);
    assert.equal(r.code, 0, show(r));
    assert.equal(sha256(fs.readFileSync(out)), sha256(v1.bytes));
    assert.match(r.stderr, new RegExp(`sha256 ${sha256(v1.bytes)}`));
    const vnfd = path.join(tmp, 'vnfd.yaml');
    const rv = await depot(['pull', ids[0], '--vnfd', '-o', vnfd], env);
    assert.equal(rv.code, 0, show(rv));
    assert.equal(fs.readFileSync(vnfd, 'utf8'), v1.files[v1.entry]);
    const img = await depot(['pull', ids[1], '--artifact', IMAGE_PATH, '-o', '-'], env);
    assert.equal(img.code, 0, show(img));
    assert.equal(sha256(img.bytes), sha256(v2.files[IMAGE_PATH] as Buffer));
    const imgFile = path.join(tmp, 'image.img');
    const ri = await depot(['pull', ids[1], '--artifact', IMAGE_PATH, '-o', imgFile], env);
    assert.equal(ri.code, 0, show(ri));
    assert.equal(sha256(fs.readFileSync(imgFile)), sha256(v2.files[IMAGE_PATH] as Buffer));
    const missing = await depot(['pull', ids[1], '--artifact', 'Files/none.txt', '-o', path.join(tmp, 'x')], env);
    assert.equal(missing.code, 1, show(missing));
    assert.match(missing.stderr, /Files\/none\.txt of VNF package .*: 404/);
    assert.ok(!fs.existsSync(path.join(tmp, 'x')));
  });

  it('diff of two versions names the changed software version, VNFD version and image (human, --json, API)', async () => {
    const human = await depot(['diff', ids[0], ids[1]], env);
    assert.equal(human.code, 1, show(human));
    assert.match(human.stdout, /~ vnf VNF topology_template\/node_templates\/VNF\/properties\/software_version: "1\.0\.2" -> "1\.0\.10"  \(Definitions\/top\.yaml:\d+:\d+\)/, show(human));
    assert.match(human.stdout, /~ vnf VNF topology_template\/node_templates\/VNF\/properties\/descriptor_version: "1\.0" -> "1\.1"/);
    assert.match(human.stdout, /~ software-image VDU1 topology_template\/node_templates\/VDU1\/artifacts\/sw_image\/properties\/version: "1\.0" -> "2\.0"/);
    assert.match(human.stdout, /~ software-image VDU1 .*\/checksum\/hash: /);
    assert.match(human.stdout, new RegExp(`~ ${IMAGE_PATH.replace(/\//g, '\\/')}  sha256 ${sha256(v1.files[IMAGE_PATH] as Buffer).slice(0, 12)} -> ${sha256(v2.files[IMAGE_PATH] as Buffer).slice(0, 12)}`));
    assert.match(human.stdout, /~ manifest vnf_package_version: 1\.0 -> 1\.1/);

    const json = await depot(['diff', ids[0], ids[1], '--json'], env);
    assert.equal(json.code, 1, show(json));
    const diff = JSON.parse(json.stdout);
    assert.equal(diff.equal, false);
    assert.equal(diff.a.vnfSoftwareVersion, '1.0.2');
    assert.equal(diff.b.vnfSoftwareVersion, '1.0.10');
    const at = (p: string) => diff.vnfd.find((c: any) => c.path.endsWith(p));
    assert.deepEqual([at('properties/software_version').before, at('properties/software_version').after], ['1.0.2', '1.0.10']);
    assert.deepEqual([at('properties/descriptor_version').before, at('properties/descriptor_version').after], ['1.0', '1.1']);
    assert.equal(at('sw_image/properties/version').category, 'software-image');
    assert.deepEqual(diff.files.changed.map((f: any) => f.path), [v1.entry, IMAGE_PATH, 'manifest.mf'].sort());

    // The API: b against a, the same document; for the caller only.
    const api = await d.request('GET', `/artifacts/vnf_packages/${ids[1]}/diff?against=${ids[0]}`);
    assert.equal(api.status, 200);
    assert.deepEqual(await api.json(), diff);
    const bob = d.users.bob;
    const hidden = await d.request('GET', `/artifacts/vnf_packages/${ids[1]}/diff?against=${ids[0]}`, { as: bob });
    const nobody = randomUUID();
    const absent = await d.request('GET', `/artifacts/vnf_packages/${nobody}/diff?against=${ids[0]}`, { as: bob });
    assert.equal(hidden.status, 404);
    assert.equal(absent.status, 404);
    const [h, a]: any[] = [await hidden.json(), await absent.json()];
    assert.equal(h.code, 'NOT_FOUND');
    assert.equal(a.code, 'NOT_FOUND');
    // Another project's package answers exactly as one that does not exist.
    assert.equal(h.detail, `no VNF package with id ${ids[1]}`);
    assert.equal(a.detail, `no VNF package with id ${nobody}`);
    const own = await d.request('GET', `/artifacts/vnf_packages/${ids[1]}/diff?against=${randomUUID()}`);
    assert.equal(own.status, 404);
    const failed = await d.request('GET', `/artifacts/vnf_packages/${ids[1]}/diff?against=${badId}`);
    assert.equal(failed.status, 409);
    assert.match(((await failed.json()) as any).detail, new RegExp(`${badId} is ERROR, not ONBOARDED`));
    const noAgainst = await d.request('GET', `/artifacts/vnf_packages/${ids[1]}/diff`);
    assert.equal(noAgainst.status, 400);
    assert.match(((await noAgainst.json()) as any).detail, /against/);
  });

  it('diff of a package with itself, a CSAR with its upload, and a folder exits 0; local files diff too', async () => {
    const same = await depot(['diff', ids[0], vnfdIds[0]], env);
    assert.equal(same.code, 0, show(same));
    assert.match(same.stdout, /identical/);
    const csarVsServer = await depot(['diff', v1.file, ids[0]], env);
    assert.equal(csarVsServer.code, 0, show(csarVsServer));
    const folder = path.join(tmp, 'v1-folder');
    const zipFiles = { ...v1.files, 'manifest.mf': (await unzipText(v1.bytes, 'manifest.mf')) };
    for (const [p, c] of Object.entries(zipFiles)) {
      fs.mkdirSync(path.dirname(path.join(folder, p)), { recursive: true });
      fs.writeFileSync(path.join(folder, p), c);
    }
    const folderVsCsar = await depot(['diff', folder, v1.file], env);
    assert.equal(folderVsCsar.code, 0, show(folderVsCsar));
    const local = await depot(['diff', v1.file, v2.file, '--json']);
    assert.equal(local.code, 1, show(local));
    const diff = JSON.parse(local.stdout);
    assert.ok(diff.vnfd.some((c: any) => c.path.endsWith('properties/software_version')));
    const missing = await depot(['diff', v1.file], env);
    assert.equal(missing.code, 2, show(missing));
  });

  it('enable, disable and rm (an ENABLED package is refused in one line)', async () => {
    const refused = await depot(['rm', ids[1]], env);
    assert.equal(refused.code, 1, show(refused));
    assert.equal(refused.stderr.trim().split('\n').length, 1);
    assert.match(refused.stderr, /409 .*disable it first/);
    const off = await depot(['disable', ids[1]], env);
    assert.equal(off.code, 0, show(off));
    assert.equal(off.stdout.trim(), `${ids[1]} DISABLED`);
    assert.match((await depot(['show', ids[1]], env)).stdout, /^operational +DISABLED$/m);
    const on = await depot(['enable', vnfdIds[1]], env);
    assert.equal(on.code, 0, show(on));
    assert.match((await depot(['show', ids[1]], env)).stdout, /^operational +ENABLED$/m);
    assert.equal((await depot(['disable', ids[1]], env)).code, 0);
    const rm = await depot(['rm', ids[1]], env);
    assert.equal(rm.code, 0, show(rm));
    assert.equal((await d.request('GET', `/vnfpkgm/v2/vnf_packages/${ids[1]}`)).status, 404);
    const again = await depot(['show', ids[1]], env);
    assert.equal(again.code, 1, show(again));
  });

  it('credentials: flag over environment over profile; a named profile must exist; 401 and unreachable are one line, exit 2', async () => {
    const port = await closedPort();
    const dead = `http://127.0.0.1:${port}`;
    const config = path.join(tmp, 'profiles');
    fs.mkdirSync(path.join(config, 'depot'), { recursive: true });
    fs.writeFileSync(path.join(config, 'depot', 'config.yaml'), YAML.stringify({
      default: 'dead',
      profiles: { dead: { url: dead, token: 'nope' }, lab: { url: d.url, token: d.users.alice.token }, bob: { url: d.url, token: d.users.bob.token } },
    }));
    const base = { XDG_CONFIG_HOME: config };
    const lsOk = (r: Run) => assert.ok(r.code === 0 && r.stdout.includes(ids[0]), show(r));
    // Profile only: the default one (dead) → unreachable.
    const unreachable = await depot(['ls'], base);
    assert.equal(unreachable.code, 2, show(unreachable));
    assert.equal(unreachable.stderr.trim().split('\n').length, 1, show(unreachable));
    assert.match(unreachable.stderr.trim(), new RegExp(`^depot ls: cannot reach ${dead} \\(profile dead of .*config\\.yaml\\): connection refused$`), show(unreachable));
    lsOk(await depot(['ls', '--profile', 'lab'], base));
    lsOk(await depot(['ls'], { ...base, DEPOT_PROFILE: 'lab' }));
    // Environment over profile, flag over environment.
    lsOk(await depot(['ls'], { ...base, DEPOT_URL: d.url, DEPOT_TOKEN: d.users.alice.token }));
    lsOk(await depot(['ls', '--url', d.url, '--token', d.users.alice.token], { ...base, DEPOT_URL: dead, DEPOT_TOKEN: 'nope' }));
    // A token from the flag over the environment's: bob's project does not see alice's packages.
    const asBob = await depot(['ls', '--token', d.users.bob.token], { ...base, DEPOT_URL: d.url, DEPOT_TOKEN: d.users.alice.token });
    assert.equal(asBob.code, 0, show(asBob));
    assert.ok(!asBob.stdout.includes(ids[0]));
    const bad = await depot(['ls', '--token', 'not-a-token'], { ...base, DEPOT_URL: d.url, DEPOT_TOKEN: d.users.alice.token });
    assert.equal(bad.code, 2, show(bad));
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    assert.match(bad.stderr, /refused the credentials \(401/);
    const noProfile = await depot(['ls', '--profile', 'nope'], base);
    assert.equal(noProfile.code, 2, show(noProfile));
    assert.match(noProfile.stderr, /no profile 'nope' in .*config\.yaml \(profiles: dead, lab, bob\)/);
    const nothing = await depot(['ls'], { XDG_CONFIG_HOME: path.join(tmp, 'empty') });
    assert.equal(nothing.code, 2, show(nothing));
    assert.match(nothing.stderr, /no server: give --url, set DEPOT_URL, or add a profile to/);
    const flagDead = await depot(['show', ids[0], '--url', dead], env);
    assert.equal(flagDead.code, 2, show(flagDead));
    assert.match(flagDead.stderr, /^depot show: cannot reach .* \(--url\): connection refused\n$/);
  });

  it('pack → validate → push of the folder → ONBOARDED; a folder that does not pack is not uploaded', async () => {
    const folder = path.join(tmp, 'to-pack');
    const { files, entry } = packageFiles({ product, vnfdId: randomUUID(), softwareVersion: '2.0.0', vnfdVersion: '2.0', imageSize: 2048, noManifest: true });
    files['TOSCA-Metadata/TOSCA.meta'] = META(entry);
    for (const [p, c] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(folder, p)), { recursive: true });
      fs.writeFileSync(path.join(folder, p), c);
    }
    const packed = path.join(tmp, 'packed.csar');
    assert.equal((await depot(['pack', folder, '-o', packed], env)).code, 0);
    const validated = await depot(['validate', packed], env);
    assert.equal(validated.code, 0, show(validated));
    assert.doesNotMatch(validated.stdout, / error /, show(validated));
    const r = await depot(['push', folder, '--wait'], env);
    assert.equal(r.code, 0, show(r));
    const id = r.stdout.trim().split('\n').filter((l) => /^[0-9a-f-]{36}$/.test(l))[0];
    assert.ok(id, show(r));
    const info: any = await (await d.request('GET', `/vnfpkgm/v2/vnf_packages/${id}`)).json();
    assert.equal(info.onboardingState, 'ONBOARDED');
    assert.equal(info.vnfSoftwareVersion, '2.0.0');
    // A folder that does not pack into a valid package: its findings, exit 1, nothing created.
    const before = ((await (await d.request('GET', '/vnfpkgm/v2/vnf_packages')).json()) as any[]).length;
    fs.writeFileSync(path.join(folder, entry), (files[entry] as string).replace('type: tosca.nodes.nfv.Vdu.Compute', 'type: tosca.nodes.nfv.Vdu.Computer'));
    const bad = await depot(['push', folder, '--wait'], env);
    assert.equal(bad.code, 1, show(bad));
    assert.match(bad.stdout, /^Definitions\/top\.yaml:\d+:\d+ error [A-Z0-9-]+ .*Vdu\.Computer/m, show(bad));
    assert.match(bad.stderr, /does not pack into a valid package; nothing was uploaded/);
    assert.equal(((await (await d.request('GET', '/vnfpkgm/v2/vnf_packages')).json()) as any[]).length, before);
  });
});

/** One entry of a zip, as text. */
async function unzipText(zip: Buffer, name: string): Promise<string> {
  const file = path.join(os.tmpdir(), `depot-cli-${randomUUID()}.zip`);
  fs.writeFileSync(file, zip);
  const archive = await openCsar(file);
  try {
    return (await archive.readEntry(name, 1 << 20)).toString('utf8');
  } finally {
    await archive.close();
    fs.rmSync(file, { force: true });
  }
}

describe('depot pack --sign → push --wait against a server with a trust store (option 1 and 2)', function () {
  this.timeout(120_000);
  let pki: TestPki;
  let d: TestDepot;
  let tmp: string;
  let env: Record<string, string>;
  let folder: string;

  before(async function () {
    pki = basePkiOrSkip(this);
    pki.write('chain.pem', Buffer.concat([pki.read('leaf.pem'), pki.read('inter.pem')]));
    pki.root('other', 'Some Other Root');
    pki.issue('stranger', 'Signer Under Another Root', 'other', 'leaf');
    d = await startTestDepot({ signatures: { trustStore: pki.path('root.pem'), require: true } });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-cli-signed-'));
    env = { DEPOT_URL: d.url, DEPOT_TOKEN: d.users.alice.token, XDG_CONFIG_HOME: path.join(tmp, 'config') };
    folder = path.join(tmp, 'vnf');
    for (const [p, c] of Object.entries(cleanFiles({ vnfdId: randomUUID(), softwareVersion: '3.0.0' }))) {
      fs.mkdirSync(path.dirname(path.join(folder, p)), { recursive: true });
      fs.writeFileSync(path.join(folder, p), c);
    }
  });
  after(async () => {
    await d?.close();
    pki?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Packs the folder signed with `key`/`cert` as `option`, under a fresh vnfdId, and pushes it with --wait. */
  async function signedPush(option: '1' | '2', key: string, cert: string): Promise<{ push: Run; info: any }> {
    const vnfd = path.join(folder, 'Definitions/top.yaml');
    fs.writeFileSync(vnfd, fs.readFileSync(vnfd, 'utf8').replace(/descriptor_id: \S+/, `descriptor_id: ${randomUUID()}`));
    const out = path.join(tmp, `signed-${randomUUID()}.${option === '2' ? 'zip' : 'csar'}`);
    const packed = await depot(['pack', folder, '-o', out, '--sign-key', pki.path(key), '--sign-cert', pki.path(cert), '--option', option], env);
    assert.equal(packed.code, 0, show(packed));
    const push = await depot(['push', out, '--wait'], env);
    const id = push.stdout.trim().split('\n')[0];
    const info: any = await (await d.request('GET', `/vnfpkgm/v2/vnf_packages/${id}`)).json();
    return { push, info };
  }

  for (const option of ['1', '2'] as const) {
    it(`option ${option}: signed by a vendor under the trusted root → ONBOARDED OPTION_${option}`, async () => {
      const { push, info } = await signedPush(option, 'leaf.key', 'chain.pem');
      assert.equal(push.code, 0, show(push));
      assert.equal(info.onboardingState, 'ONBOARDED', JSON.stringify(info));
      assert.equal(info.packageSecurityOption, `OPTION_${option}`);
    });

    it(`option ${option}: signed under a root the server does not trust → ERROR CERT-UNTRUSTED, exit 1`, async () => {
      const { push, info } = await signedPush(option, 'stranger.key', 'stranger.pem');
      assert.equal(push.code, 1, show(push));
      assert.match(push.stdout, / error CERT-UNTRUSTED /, show(push));
      assert.equal(info.onboardingState, 'ERROR');
    });
  }
});
