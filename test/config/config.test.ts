import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';
import { buildConfig, ConfigError, DepotConfig, loadConfig } from '../../src/config';
import { DRIVER_SCHEMAS, fileSchema } from '../../src/config/sections';

const ROOT = path.resolve(__dirname, '../..');
const base: Parameters<typeof buildConfig>[1] = { host: '127.0.0.1', port: 0, dataDir: '/tmp/d', databaseUrl: undefined, auth: 'tokens', tokensFile: '/tmp/d/tokens.yaml', logLevel: 'info' };

describe('configuration: schema-checked at start', () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-config-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** loadConfig with DEPOT_CONFIG pointing at a file holding `text`; returns the error message. */
  function fileError(text: string, env: Record<string, string> = {}): string {
    const file = path.join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
    fs.writeFileSync(file, text);
    try {
      loadConfig({ DEPOT_DATA_DIR: dir, DEPOT_CONFIG: file, ...env });
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      assert.ok(err.message.startsWith(`${file}: `), err.message);
      return err.message.slice(file.length + 2);
    }
    assert.fail('the configuration was accepted');
  }

  it('an unknown key is an error naming the file and the key (nested, top level, in a store)', () => {
    assert.match(fileError('onboarding:\n  workerz: 2\n'), /^onboarding\.workerz: unknown key \(known: policy, maxEntries/);
    assert.match(fileError('gcInterval: 0\n'), /^gcInterval: unknown key/);
    assert.match(fileError('types:\n  files:\n    maxBlobsize: 1GiB\n'), /^types\.files\.maxBlobsize: unknown key/);
    assert.match(fileError('stores:\n  objects: { driver: s3, bucket: b, bukcet: c }\n'), /^stores\.objects\.bukcet: unknown key \(known: driver, endpoint, bucket/);
    assert.match(fileError('stores:\n  bulk: { driver: fs, root: /srv, partSize: 5MiB }\n'), /^stores\.bulk\.partSize: unknown key \(known: driver, root\)/);
  });

  it('a size that is not a size, a NaN, a wrong type, a bad enum: each names its key and the value', () => {
    assert.equal(fileError('onboarding:\n  maxUncompressedBytes: 12 parsecs\n'), 'onboarding.maxUncompressedBytes: must be a size (bytes, or e.g. 10MiB, 20GiB), got "12 parsecs"');
    assert.equal(fileError('types:\n  files: { maxBlobSize: -1 }\n'), 'types.files.maxBlobSize: must be a size (bytes, or e.g. 10MiB, 20GiB), got -1');
    assert.equal(fileError('stores:\n  s3: { bucket: b, partSize: 1MiB }\n'), 'stores.s3.partSize: must be a size (bytes, or e.g. 10MiB, 20GiB) in [5MiB, 5GiB], got "1MiB"');
    assert.equal(fileError('onboarding:\n  maxCompressionRatio: .nan\n'), 'onboarding.maxCompressionRatio: must be a number > 0, got NaN');
    assert.equal(fileError('notifications:\n  timeoutSeconds: .inf\n'), 'notifications.timeoutSeconds: must be a number > 0, got Infinity');
    assert.equal(fileError('onboarding:\n  workers: 0\n'), 'onboarding.workers: must be an integer >= 1, got 0');
    assert.equal(fileError('onboarding:\n  workers: four\n'), 'onboarding.workers: must be an integer >= 1, got "four"');
    assert.equal(fileError('uploadFromUri:\n  allow: 10.0.0.0/8\n'), 'uploadFromUri.allow: must be a list, got "10.0.0.0/8"');
    assert.equal(fileError('onboarding:\n  policy: lenient\n'), 'onboarding.policy: must be one of default, strict, got "lenient"');
    assert.match(fileError('types:\n  files:\n    hooks: [{ event: post_uplod, command: [x] }]\n'), /^types\.files\.hooks\[0\]\.event: must be one of pre_create, .*, got "post_uplod"$/);
    assert.equal(fileError('types:\n  files:\n    hooks: [{ event: post_upload }]\n'), 'types.files.hooks[0]: give a command or a module');
    assert.match(fileError('types:\n  files: { store: objcts }\n'), /^types\.files\.store: no store "objcts"/);
    assert.match(fileError('stores:\n  objects: { bucket: b }\n'), /^stores\.objects\.driver: is required/);
    assert.match(fileError('- a\n- b\n'), /^\(top level\): must be a mapping/);
    assert.equal(fileError('a: [1\nb: 2\n'), 'line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]');
  });

  it('environment variables are checked and named', () => {
    const envError = (env: Record<string, string>) => {
      try {
        loadConfig({ DEPOT_DATA_DIR: dir, ...env });
      } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err.message;
      }
      assert.fail('accepted');
    };
    assert.equal(envError({ DEPOT_PORT: 'abc' }), 'DEPOT_PORT: must be an integer in [0, 65535], got "abc"');
    assert.equal(envError({ DEPOT_PORT: '70000' }), 'DEPOT_PORT: must be an integer in [0, 65535], got "70000"');
    assert.equal(envError({ DEPOT_AUTH: 'basic' }), 'DEPOT_AUTH: must be one of tokens, none, got "basic"');
    assert.match(envError({ DEPOT_LOG_LEVEL: 'loud' }), /^DEPOT_LOG_LEVEL: must be one of fatal, error, warn, info/);
    assert.equal(envError({ DEPOT_DATABASE_URL: 'mysql://db/x' }), 'DEPOT_DATABASE_URL: must be a postgres:// URL, got "mysql://db/x"');
    assert.equal(envError({ DEPOT_CONFIG: path.join(dir, 'absent.yaml') }), `DEPOT_CONFIG: cannot read ${path.join(dir, 'absent.yaml')}: no such file`);
    // empty means unset
    assert.equal(loadConfig({ DEPOT_DATA_DIR: dir, DEPOT_PORT: '', DEPOT_DATABASE_URL: '' }).port, 9890);
  });

  it('fills the defaults, reads sizes, leaves the given object alone; empty sections are defaults', () => {
    const file = { types: { files: { maxBlobSize: '64KiB' } }, onboarding: { maxUncompressedBytes: '1 GiB' }, notifications: null };
    const copy = structuredClone(file);
    const c: DepotConfig = buildConfig(file, base);
    assert.deepEqual(file, copy);
    assert.deepEqual(c.types.files, { maxBlobSize: 64 * 1024, hooks: [] });
    assert.equal(c.onboarding.maxUncompressedBytes, 2 ** 30);
    assert.deepEqual({ ...c.onboarding, maxUncompressedBytes: 0 }, { policy: 'default', maxEntries: 100_000, maxUncompressedBytes: 0, maxCompressionRatio: 200, workers: 1, jobLeaseSeconds: 60, maxAttempts: 3 });
    assert.deepEqual(c.uploadFromUri, { allow: [], timeoutSeconds: 600, maxBytes: 64 * 2 ** 30, maxRedirects: 5 });
    assert.deepEqual(c.notifications, { allow: [], workers: 4, maxAttempts: 10, retryBaseSeconds: 2, retryMaxSeconds: 3600, timeoutSeconds: 10 });
    assert.equal(c.uploadStaleSeconds, 300);
    assert.equal(c.gcIntervalSeconds, 3600);
    assert.equal(c.host, base.host);
  });

  it("README's configuration example is accepted, and README names every key the schema knows", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const example = /Configuration file:\n\n```yaml\n([\s\S]*?)```/.exec(readme);
    assert.ok(example, 'README has a "Configuration file:" yaml block');
    const c = buildConfig(YAML.parse(example[1]), base, 'README');
    assert.equal(c.types.vnf_packages.maxBlobSize, 20 * 2 ** 30);
    const keys = new Set<string>();
    const walk = (s: any) => {
      if (!s || typeof s !== 'object') return;
      for (const [k, v] of Object.entries<any>(s.properties ?? {})) {
        keys.add(k);
        walk(v);
      }
      walk(s.additionalProperties);
      walk(s.items);
    };
    walk(fileSchema);
    for (const d of Object.values(DRIVER_SCHEMAS)) walk(d);
    const undocumented = [...keys].filter((k) => !new RegExp(`\\b${k}\\b`).test(readme));
    assert.deepEqual(undocumented, []);
  });

  it('the server entry prints one line, no stack, and exits 2 on a bad configuration file', function () {
    this.timeout(60_000);
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, 'onboarding:\n  workers: 0\n');
    const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', path.join(ROOT, 'src/main.ts')], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, DEPOT_CONFIG: file, DEPOT_DATA_DIR: dir, DEPOT_PORT: '0' },
    });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `config error: ${file}: onboarding.workers: must be an integer >= 1, got 0\n`);
    assert.equal(r.stdout, '');
    const env = spawnSync(process.execPath, ['--require', 'tsx/cjs', path.join(ROOT, 'src/main.ts')], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, DEPOT_CONFIG: '', DEPOT_DATA_DIR: dir, DEPOT_PORT: 'x' },
    });
    assert.equal(env.status, 2, env.stderr);
    assert.equal(env.stderr, 'config error: DEPOT_PORT: must be an integer in [0, 65535], got "x"\n');
  });

  it('bin/depot (the compiled CLI) prints the same one line and exits 2', () => {
    const file = path.join(dir, 'bad-cli.yaml');
    fs.writeFileSync(file, 'gcIntervalSeconds: soon\n');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/depot'), 'gc'], { cwd: os.tmpdir(), encoding: 'utf8', env: { ...process.env, DEPOT_CONFIG: file, DEPOT_DATA_DIR: dir } });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `config error: ${file}: gcIntervalSeconds: must be a number >= 0, got "soon"\n`);
  });
});
