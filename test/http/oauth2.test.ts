import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { startTestDepot, type TestDepot } from '../helpers/depot';
import { accessToken, basic, knownUsers, tokenRequest } from '../helpers/oauth2';
import { buildConfig, ConfigError } from '../../src/config';
import { AccessTokens } from '../../src/common/access-tokens';

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4, SOL013 §8): POST /oauth2/token for the clients of the
 * config file, RFC 6749 §5.2 errors, and the issued tokens accepted wherever a Depot token is, by
 * every process on the same database, until they expire or the client's secret changes.
 */
describe('OAuth 2.0 client credentials', function () {
  let d: TestDepot;
  let users: TestDepot['users'];
  let dir: string;
  const inline = randomUUID();
  const fromFile = randomBytes(24).toString('base64');
  const admin = randomUUID();

  const clients = (over: Record<string, unknown> = {}) => [
    { clientId: 'tacker-vnfm', clientSecretFile: path.join(dir, 'tacker'), project: users.alice.project, roles: ['reader'] },
    { clientId: 'ci:robot+1', clientSecret: inline, project: users.alice.project, roles: ['member', 'reader'] },
    { clientId: 'ops', clientSecret: admin, project: users.admin.project, roles: ['admin'] },
    ...Object.entries(over).map(([clientId, clientSecret]) => ({ clientId, clientSecret, project: users.bob.project })),
  ];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-oauth2-'));
    fs.writeFileSync(path.join(dir, 'tacker'), `${fromFile}\n`, { mode: 0o600 });
    users = knownUsers();
    d = await startTestDepot({ oauth2: { tokenTtlSeconds: 600, clients: clients() } }, { users });
  });
  after(async () => {
    await d?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const list = (token: string, p = '/vnfpkgm/v2/vnf_packages') => fetch(`${d.url}${p}`, { headers: { Authorization: `Bearer ${token}` } });

  async function oauthError(res: Response, status: number, error: string): Promise<any> {
    const body: any = await res.json();
    assert.equal(res.status, status, JSON.stringify(body));
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(body.error, error);
    assert.match(body.error_description, /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/);
    if (status === 401) assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="depot"/);
    return body;
  }

  describe('token endpoint', () => {
    it('HTTP Basic + grant_type=client_credentials → a Bearer token (no-store) with expires_in; the secret read from clientSecretFile', async () => {
      const res = await tokenRequest(d.url, 'tacker-vnfm', fromFile, 'basic');
      const body: any = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('pragma'), 'no-cache');
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.expires_in, 600);
      assert.equal(typeof body.access_token, 'string');
      assert.equal((await list(body.access_token)).status, 200);
      // The file's trailing newline is not part of the secret.
      await oauthError(await tokenRequest(d.url, 'tacker-vnfm', `${fromFile}\n`), 401, 'invalid_client');
    });
    it('client_id and client_secret in the form; form-urlencoded Basic credentials (":" and "+" in the id)', async () => {
      assert.equal((await tokenRequest(d.url, 'ci:robot+1', inline, 'form')).status, 200);
      assert.equal((await tokenRequest(d.url, 'ci:robot+1', inline, 'basic')).status, 200);
    });
    it('wrong secret and unknown client: the same 401 invalid_client with WWW-Authenticate', async () => {
      const wrong = await oauthError(await tokenRequest(d.url, 'tacker-vnfm', 'x'.repeat(32)), 401, 'invalid_client');
      const unknown = await oauthError(await tokenRequest(d.url, 'nobody', fromFile), 401, 'invalid_client');
      assert.deepEqual(wrong, unknown);
      await oauthError(await tokenRequest(d.url, 'ci:robot+1', 'wrong', 'form'), 401, 'invalid_client');
      const none = await fetch(`${d.url}/oauth2/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
      await oauthError(none, 401, 'invalid_client');
    });
    it('unsupported grant → 400 unsupported_grant_type; no grant_type, both auth methods, repeated parameters, not a form → 400 invalid_request', async () => {
      await oauthError(await tokenRequest(d.url, 'tacker-vnfm', fromFile, 'basic', 'password'), 400, 'unsupported_grant_type');
      await oauthError(await tokenRequest(d.url, 'tacker-vnfm', fromFile, 'basic', 'authorization_code'), 400, 'unsupported_grant_type');
      const post = (body: string, headers: Record<string, string> = {}) => fetch(`${d.url}/oauth2/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic('tacker-vnfm', fromFile), ...headers }, body });
      await oauthError(await post(''), 400, 'invalid_request');
      await oauthError(await post(`grant_type=client_credentials&client_id=tacker-vnfm&client_secret=${encodeURIComponent(fromFile)}`), 400, 'invalid_request');
      await oauthError(await post('grant_type=client_credentials&grant_type=password'), 400, 'invalid_request');
      await oauthError(await post('{"grant_type":"client_credentials"}', { 'Content-Type': 'application/json' }), 400, 'invalid_request');
      await oauthError(await post('x'.repeat(20_000)), 400, 'invalid_request');
    });
    it('GET /oauth2/token → 405', async () => {
      assert.equal((await fetch(`${d.url}/oauth2/token`)).status, 405);
    });
  });

  describe('issued tokens', () => {
    it('accepted wherever a Depot token is (SOL005, the generic API), with the client\'s project and role', async () => {
      const reader = await accessToken(d.url, 'tacker-vnfm', fromFile);
      assert.equal((await list(reader, '/artifacts/vnf_packages')).status, 200);
      // reader: may not create; member (highest of member, reader): may.
      const create = (t: string) => fetch(`${d.url}/vnfpkgm/v2/vnf_packages`, { method: 'POST', headers: { Authorization: `Bearer ${t}`, 'Content-Type': 'application/json' }, body: '{}' });
      assert.equal((await create(reader)).status, 403);
      const member = await accessToken(d.url, 'ci:robot+1', inline, 'form');
      const made = await create(member);
      const pkg: any = await made.json();
      assert.equal(made.status, 201, JSON.stringify(pkg));
      // In alice's project: she sees it, bob does not.
      assert.equal((await d.request('GET', `/vnfpkgm/v2/vnf_packages/${pkg.id}`)).status, 200);
      assert.equal((await d.request('GET', `/vnfpkgm/v2/vnf_packages/${pkg.id}`, { as: d.users.bob })).status, 404);
      // X-Auth-Token works too.
      assert.equal((await fetch(`${d.url}/vnfpkgm/v2/vnf_packages/${pkg.id}`, { headers: { 'X-Auth-Token': reader } })).status, 200);
    });
    it('a token edited (other client, other expiry) or truncated is 401', async () => {
      const t = await accessToken(d.url, 'tacker-vnfm', fromFile);
      const [prefix, payload, mac] = t.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const forge = (c: object) => `${prefix}.${Buffer.from(JSON.stringify({ ...claims, ...c })).toString('base64url')}.${mac}`;
      for (const bad of [forge({ c: 'ops' }), forge({ e: claims.e + 3600 }), `${prefix}.${payload}`, `${t}x`, `${prefix}.${payload}.${mac}.x`, 'depot-oa2.!!.!!']) {
        const res = await list(bad);
        assert.equal(res.status, 401, bad);
        assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="depot"');
      }
    });
    it('another process on the same database honours them; a changed secret revokes them; they expire', async () => {
      const before = await accessToken(d.url, 'tacker-vnfm', fromFile);
      const rotated = await accessToken(d.url, 'ci:robot+1', inline);
      // One process at a time on one data directory (embedded PGlite is one process's): the second
      // is the first's replica (PostgreSQL) or its restart (PGlite); either way it shares the key.
      const dataDir = d.dataDir;
      await d.depot.close();
      const next = clients();
      (next[1] as any).clientSecret = randomUUID();
      const replica = await startTestDepot({ oauth2: { tokenTtlSeconds: 1, clients: next } }, { users, dataDir });
      try {
        assert.equal((await fetch(`${replica.url}/vnfpkgm/v2/vnf_packages`, { headers: { Authorization: `Bearer ${before}` } })).status, 200);
        assert.equal((await fetch(`${replica.url}/vnfpkgm/v2/vnf_packages`, { headers: { Authorization: `Bearer ${rotated}` } })).status, 401);
        const short = await accessToken(replica.url, 'tacker-vnfm', fromFile);
        assert.equal((await fetch(`${replica.url}/vnfpkgm/v2/vnf_packages`, { headers: { Authorization: `Bearer ${short}` } })).status, 200);
        await new Promise((r) => setTimeout(r, 2100));
        const expired = await fetch(`${replica.url}/vnfpkgm/v2/vnf_packages`, { headers: { Authorization: `Bearer ${short}` } });
        assert.equal(expired.status, 401);
        assert.match(((await expired.json()) as any).detail, /not valid/);
      } finally {
        await replica.close();
        d = undefined as unknown as TestDepot;
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });

  describe('AccessTokens (clock injected)', () => {
    it('a token is valid until its expiry second, then not', async () => {
      let now = 1_000_000_000_000;
      const key = Promise.resolve(randomBytes(32));
      const t = new AccessTokens([{ clientId: 'c', secret: 's'.repeat(16), project: 'p', roles: ['reader'] }], 60, () => key, () => now);
      const client = t.authenticate('c', 's'.repeat(16))!;
      assert.ok(client);
      assert.equal(t.authenticate('c', 's'.repeat(17)), undefined);
      assert.equal(t.authenticate('x', 's'.repeat(16)), undefined);
      const { access_token } = await t.issue(client);
      assert.deepEqual(await t.verify(access_token), { user: 'c', project: 'p', role: 'reader', isAdmin: false });
      now += 59_999;
      assert.ok(await t.verify(access_token));
      now += 1;
      assert.equal(await t.verify(access_token), undefined);
      // Another shared key (another database) does not know it.
      const other = new AccessTokens([{ clientId: 'c', secret: 's'.repeat(16), project: 'p', roles: ['reader'] }], 60, async () => randomBytes(32), () => now - 1000);
      assert.equal(await other.verify(access_token), undefined);
    });
  });

  describe('configuration', () => {
    const base = { host: '127.0.0.1', port: 0, dataDir: os.tmpdir(), auth: 'tokens' as const, tokensFile: '/nonexistent', logLevel: 'silent' };
    const build = (oauth2: unknown) => buildConfig({ oauth2 }, base, 'depot.yaml');
    it('defaults: no clients, tokens of an hour', () => {
      assert.deepEqual(buildConfig({}, base).oauth2, { tokenTtlSeconds: 3600, clients: [] });
      assert.deepEqual(build({ clients: [{ clientId: 'a', clientSecret: 'x'.repeat(16), project: 'p' }] }).oauth2.clients[0].roles, ['reader']);
    });
    it('refused: both or neither secret, a short secret (inline or in the file), a missing file, a duplicate id, an unknown role or key', () => {
      const secretFile = path.join(dir, 'short');
      fs.writeFileSync(secretFile, 'short\n');
      const cases: [unknown, RegExp][] = [
        [{ clients: [{ clientId: 'a', project: 'p' }] }, /oauth2.clients\[0\]: give exactly one of clientSecret and clientSecretFile/],
        [{ clients: [{ clientId: 'a', clientSecret: 'x'.repeat(16), clientSecretFile: secretFile, project: 'p' }] }, /exactly one/],
        [{ clients: [{ clientId: 'a', clientSecret: 'short', project: 'p' }] }, /oauth2.clients\[0\].clientSecret/],
        [{ clients: [{ clientId: 'a', clientSecretFile: secretFile, project: 'p' }] }, /clientSecretFile: .*short holds 5 characters; a client secret needs 16 or more/],
        [{ clients: [{ clientId: 'a', clientSecretFile: path.join(dir, 'none'), project: 'p' }] }, /clientSecretFile: cannot read .*none: no such file/],
        [{ clients: [{ clientId: 'a', clientSecret: 'x'.repeat(16), project: 'p' }, { clientId: 'a', clientSecret: 'y'.repeat(16), project: 'q' }] }, /oauth2.clients\[1\].clientId: a is declared twice/],
        [{ clients: [{ clientId: 'a', clientSecret: 'x'.repeat(16), project: 'p', roles: ['root'] }] }, /oauth2.clients\[0\].roles\[0\]/],
        [{ clients: [{ clientId: 'a b', clientSecret: 'x'.repeat(16), project: 'p' }] }, /oauth2.clients\[0\].clientId/],
        [{ tokenTtlSeconds: 0 }, /oauth2.tokenTtlSeconds/],
        [{ clientz: [] }, /oauth2/],
      ];
      for (const [oauth2, message] of cases) assert.throws(() => build(oauth2), (e: any) => e instanceof ConfigError && message.test(e.message), JSON.stringify(oauth2));
    });
  });
});
