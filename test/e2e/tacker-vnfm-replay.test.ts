import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { buildZip } from '../helpers/csar-builder';
import { knownUsers } from '../helpers/oauth2';
import { assertOnboarded, DEFAULT_META_BLOCK, imageBytes, onboard, packageFiles, unzip } from '../vnf-package/helpers';

/**
 * What OpenStack Tacker's v2 VNFM does against an external NFVO (../shared/reference/tacker-vnfm.md),
 * replayed request by request against Depot: `[v2_nfvo] use_external_nfvo = True`, `endpoint` =
 * Depot, `token_endpoint` = Depot's /oauth2/token, `client_id`/`client_password` = an oauth2 client.
 * Before every request a token (HTTP Basic + grant_type=client_credentials); then the request with
 * `Accept: application/json` and `Version: 2.1.0`, no query string; an answer is bytes only when its
 * Content-Type is exactly application/zip, JSON otherwise; an unexpected status needs a Content-Type
 * and, for application/problem+json, a `detail`.
 */
class TackerNfvoClient {
  constructor(private readonly endpoint: string, private readonly tokenEndpoint: string, private readonly clientId: string, private readonly clientPassword: string) {}

  private async token(): Promise<string> {
    const res = await fetch(this.tokenEndpoint, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from(`${this.clientId}:${this.clientPassword}`).toString('base64')}`, 'Content-Type': 'application/x-www-form-urlencoded', 'User-Agent': 'keystoneauth1/5.0.0 python-requests/2.31' },
      body: 'grant_type=client_credentials',
    });
    const body: any = await res.json();
    assert.equal(res.status, 200, `token endpoint: ${JSON.stringify(body)}`);
    return body.access_token;
  }

  /** http_client.py do_request + _decode_body: the status, and bytes (application/zip) or JSON. */
  async get(urlPath: string, expected = 200): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.endpoint}${urlPath}`, {
      headers: { Authorization: `Bearer ${await this.token()}`, Accept: 'application/json', Version: '2.1.0', 'User-Agent': 'keystoneauth1/5.0.0 python-requests/2.31' },
      redirect: 'manual',
    });
    const type = res.headers.get('content-type');
    const raw = Buffer.from(await res.arrayBuffer());
    const body = type === 'application/zip' ? raw : raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
    if (res.status !== expected) {
      assert.ok(type, `status ${res.status} without a Content-Type`);
      if (type === 'application/problem+json') assert.equal(typeof body.detail, 'string');
    }
    return { status: res.status, body };
  }
}

/** The VnfPkgInfo checks of Tacker's v2 object model (field types and enums) it relies on. */
function assertVnfPkgInfoV2(info: any): void {
  for (const k of ['id', 'vnfdId', 'vnfProvider', 'vnfProductName', 'vnfSoftwareVersion', 'vnfdVersion']) assert.equal(typeof info[k], 'string', k);
  assert.ok(['CREATED', 'UPLOADING', 'PROCESSING', 'ONBOARDED', 'ERROR'].includes(info.onboardingState));
  assert.ok(['ENABLED', 'DISABLED'].includes(info.operationalState));
  assert.ok(['IN_USE', 'NOT_IN_USE'].includes(info.usageState));
  assert.ok(['OPTION_1', 'OPTION_2'].includes(info.packageSecurityOption));
  assert.ok(Array.isArray(info.vnfmInfo) && info.vnfmInfo.every((x: unknown) => typeof x === 'string'));
  assert.equal(typeof info.checksum?.algorithm, 'string');
  assert.equal(typeof info._links?.self?.href, 'string');
  assert.equal(typeof info._links?.packageContent?.href, 'string');
}

describe('e2e: replay of Tacker\'s v2 VNFM against Depot as its external NFVO', function () {
  let d: TestDepot;
  let dir: string;
  let nfvo: TackerNfvoClient;
  const password = randomBytes(18).toString('base64url');
  const image = imageBytes(50_000, 7);
  const files = packageFiles({ multiFile: true, image, provider: 'Company', product: 'Sample VNF', softwareVersion: '1.0', vnfdVersion: '1.0' });
  let zip: Buffer;
  let pkg: any;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-tacker-'));
    fs.writeFileSync(path.join(dir, 'tacker'), `${password}\n`, { mode: 0o600 });
    const users = knownUsers();
    // The Tacker side's [v2_nfvo]: client_id tacker-vnfm, client_password from the secret file.
    d = await startTestDepot({ oauth2: { clients: [{ clientId: 'tacker-vnfm', clientSecretFile: path.join(dir, 'tacker'), project: users.alice.project, roles: ['reader'] }] } }, { users });
    nfvo = new TackerNfvoClient(d.url, `${d.url}/oauth2/token`, 'tacker-vnfm', password);
    zip = await buildZip(files.files, { manifest: { metadata: { ...DEFAULT_META_BLOCK, vnf_provider_id: 'Company', vnf_product_name: 'Sample VNF' } } });
    pkg = await onboard(d, zip);
    assertOnboarded(pkg);
  });
  after(async () => {
    await d?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('VNF create: GET onboarded_vnf_packages/{vnfdId} (ENABLED, v2 types) then its vnfd zip with TOSCA.meta and Definitions', async () => {
    const { status, body: info } = await nfvo.get(`/vnfpkgm/v2/onboarded_vnf_packages/${pkg.vnfdId}`);
    assert.equal(status, 200);
    assertVnfPkgInfoV2(info);
    assert.equal(info.operationalState, 'ENABLED');
    assert.deepEqual([info.vnfProvider, info.vnfProductName, info.vnfSoftwareVersion, info.vnfdVersion], ['Company', 'Sample VNF', '1.0', '1.0']);

    const vnfd = await nfvo.get(`/vnfpkgm/v2/onboarded_vnf_packages/${pkg.vnfdId}/vnfd`);
    assert.equal(vnfd.status, 200);
    assert.ok(Buffer.isBuffer(vnfd.body), 'the vnfd must come as exactly application/zip');
    const entries = await unzip(vnfd.body);
    // vnfd_utils: TOSCA-Metadata/TOSCA.meta names the entry; Definitions/*.yaml are read.
    const meta = entries.get('TOSCA-Metadata/TOSCA.meta')?.toString();
    assert.ok(meta, `no TOSCA.meta in ${[...entries.keys()]}`);
    const entry = /^Entry-Definitions:\s*(\S+)/m.exec(meta)![1];
    assert.ok(entries.has(entry), entry);
    const definitions = [...entries.keys()].filter((k) => /^Definitions\/[^/]+\.yaml$/.test(k));
    assert.deepEqual(definitions.sort(), ['Definitions/top.yaml', 'Definitions/types.yaml']);
    assert.match(entries.get(entry)!.toString(), new RegExp(`descriptor_id: ${pkg.vnfdId}`));
  });

  it('instantiate: package_content as exactly application/zip, the package as uploaded, with the flavour in Definitions', async () => {
    const { status, body } = await nfvo.get(`/vnfpkgm/v2/onboarded_vnf_packages/${pkg.vnfdId}/package_content`);
    assert.equal(status, 200);
    assert.ok(Buffer.isBuffer(body), 'package_content must come as exactly application/zip');
    assert.deepEqual(body, zip);
    const entries = await unzip(body);
    assert.deepEqual(entries.get('Files/images/test.img'), image);
    assert.ok([...entries.entries()].some(([k, v]) => k.startsWith('Definitions/') && /flavour_id: small/.test(v.toString())), 'flavour small in Definitions');
  });

  it('the same requests from keystoneauth1, the HTTP stack Tacker uses (test/e2e/tacker_nfvo_client.py)', async function () {
    const python = process.env.TACKERCLIENT_PYTHON ?? '/usr/bin/python3';
    if (!fs.existsSync(python) && python.startsWith('/')) {
      console.log(`      skipped: no ${python} (set TACKERCLIENT_PYTHON to a python with keystoneauth1)`);
      this.skip();
    }
    const env = { ...process.env, DEPOT_URL: d.url, CLIENT_ID: 'tacker-vnfm', CLIENT_PASSWORD: password, VNFD_ID: pkg.vnfdId };
    // Asynchronous: the Depot it talks to runs in this process.
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(python, [path.join(__dirname, 'tacker_nfvo_client.py')], { env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      child.stderr.on('data', (c: Buffer) => chunks.push(c));
      child.on('error', reject).on('close', (c: number | null) => resolve({ code: c, out: Buffer.concat(chunks).toString('utf8') }));
    });
    if (code === 77) {
      console.log(`      skipped: ${out.trim()}`);
      this.skip();
    }
    assert.equal(code, 0, out);
    const got = JSON.parse(out.trim().split('\n').pop()!);
    assert.equal(got.operationalState, 'ENABLED');
    assert.deepEqual([got.vnfProvider, got.vnfProductName, got.vnfSoftwareVersion, got.vnfdVersion], ['Company', 'Sample VNF', '1.0', '1.0']);
    assert.deepEqual(got.vnfdFiles, ['Definitions/top.yaml', 'Definitions/types.yaml', 'TOSCA-Metadata/TOSCA.meta']);
    assert.equal(got.packageSha256, createHash('sha256').update(zip).digest('hex'));
    assert.ok(got.packageFiles.includes('Files/images/test.img'));
    assert.equal(got.tokens, 3, 'a token before each of the three requests');
  });

  it('modify: the package disabled at the NFVO reads DISABLED (Tacker then refuses it with 422)', async () => {
    const res = await d.request('PATCH', `/vnfpkgm/v2/vnf_packages/${pkg.id}`, { json: { operationalState: 'DISABLED' }, headers: { 'Content-Type': 'application/merge-patch+json' } });
    assert.equal(res.status, 200, await res.text());
    const { status, body } = await nfvo.get(`/vnfpkgm/v2/onboarded_vnf_packages/${pkg.vnfdId}`);
    assert.equal(status, 200);
    assertVnfPkgInfoV2(body);
    assert.equal(body.operationalState, 'DISABLED');
    // change_vnfpkg/rollback still download it.
    const content = await nfvo.get(`/vnfpkgm/v2/onboarded_vnf_packages/${pkg.vnfdId}/package_content`);
    assert.ok(Buffer.isBuffer(content.body));
  });

  it('an unknown vnfdId: 404 application/problem+json with a detail, which Tacker reports', async () => {
    const { status, body } = await nfvo.get('/vnfpkgm/v2/onboarded_vnf_packages/no-such-vnfd');
    assert.equal(status, 404);
    assert.match(body.detail, /no-such-vnfd/);
  });
});
