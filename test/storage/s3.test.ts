import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { S3ClientOptions, signV4 } from '../../src/storage/s3-client';
import { parseS3Options, S3BlobStore } from '../../src/storage/s3-store';
import { buildZip, sha256 } from '../helpers/csar-builder';
import { startTestDepot, TestDepot } from '../helpers/depot';
import { startTestS3, TestS3 } from '../helpers/s3';
import { repoRoot } from '../helpers/shared';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver');

/**
 * The s3 driver beyond the conformance suite: request signing against AWS's published examples,
 * error messages, multipart streaming, and the whole service on an object store (a `files` artifact
 * and an onboarded VNF package, both with Range downloads). The store is an in-process s3rver on
 * 127.0.0.1 unless DEPOT_TEST_S3_ENDPOINT names another (test/helpers/s3.ts).
 */
const AWS_EXAMPLE = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', region: 'us-east-1' };
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('s3 driver: Signature V4', () => {
  it('matches the AWS documentation examples (GetObject with Range, ListObjects)', () => {
    const get = signV4(
      { method: 'GET', path: '/test.txt', query: {}, headers: { host: 'examplebucket.s3.amazonaws.com', range: 'bytes=0-9', 'x-amz-content-sha256': EMPTY, 'x-amz-date': '20130524T000000Z' } },
      AWS_EXAMPLE,
    );
    assert.equal(get, 'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
    const list = signV4(
      { method: 'GET', path: '/', query: { 'max-keys': '2', prefix: 'J' }, headers: { host: 'examplebucket.s3.amazonaws.com', 'x-amz-content-sha256': EMPTY, 'x-amz-date': '20130524T000000Z' } },
      AWS_EXAMPLE,
    );
    assert.match(list, /Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7$/);
  });

  it('addresses path-style and virtual-hosted', () => {
    const opts = { bucket: 'depot', accessKeyId: 'k', secretAccessKey: 's' };
    const path = new S3BlobStore(parseS3Options({ ...opts, endpoint: 'http://127.0.0.1:9000', forcePathStyle: true }));
    assert.deepEqual(path.client.address('objects/ab'), { host: '127.0.0.1:9000', path: '/depot/objects/ab' });
    const vhost = new S3BlobStore(parseS3Options({ ...opts, region: 'eu-west-1' }));
    assert.deepEqual(vhost.client.address('objects/ab'), { host: 'depot.s3.eu-west-1.amazonaws.com', path: '/objects/ab' });
    assert.deepEqual(vhost.client.address(), { host: 'depot.s3.eu-west-1.amazonaws.com', path: '/' });
    path.close();
    vhost.close();
  });

  it('rejects incomplete configuration clearly', () => {
    assert.throws(() => parseS3Options({ accessKeyId: 'k', secretAccessKey: 's' }), /bucket is required/);
    assert.throws(() => parseS3Options({ bucket: 'b' }), /accessKeyId and secretAccessKey/);
    assert.throws(() => parseS3Options({ bucket: 'b', accessKeyId: 'k', secretAccessKey: 's', partSize: 1000 }), /partSize/);
    assert.equal(parseS3Options({ bucket: 'b', accessKeyId: 'k', secretAccessKeyFile: '/secret' }, () => 'from-file\n').secretAccessKey, 'from-file');
    assert.equal(parseS3Options({ bucket: 'b', accessKeyId: 'k', secretAccessKey: 's', prefix: 'depot' }).prefix, 'depot/');
    assert.equal(parseS3Options({ bucket: 'b', accessKeyId: 'k', secretAccessKey: 's', partSize: '64MiB' }).partSize, 64 * 2 ** 20);
  });
});

describe('s3 driver: virtual-hosted addressing', () => {
  it('connects to bucket.endpoint and works end to end (s3rver virtual hosts, names resolved to 127.0.0.1 by the test)', async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-s3rver-vhost-'));
    const server = new S3rver({ port: 0, address: '127.0.0.1', directory, silent: true, serviceEndpoint: 'test', configureBuckets: [{ name: 'depot' }] });
    const { port } = await server.run();
    const asked: string[] = [];
    // Never DNS: every name is 127.0.0.1 (RFC 6761 .test names would not resolve anyway).
    const lookup = ((hostname: string, options: { all?: boolean }, cb: (...args: unknown[]) => void) => {
      asked.push(hostname);
      if (options?.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
      else cb(null, '127.0.0.1', 4);
    }) as unknown as NonNullable<S3ClientOptions['lookup']>;
    const store = new S3BlobStore({ ...parseS3Options({ endpoint: `http://s3.test:${port}`, bucket: 'depot', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: false }), lookup });
    try {
      await store.ping();
      const data = crypto.randomBytes(1000);
      const w = await store.stage();
      w.stream.end(data);
      await w.commit(sha256(data));
      assert.deepEqual(await buffer(await store.read(sha256(data), { start: 10, end: 19 })), data.subarray(10, 20));
      const listed: string[] = [];
      for await (const o of store.list()) listed.push(o.key);
      assert.deepEqual(listed, [sha256(data)]);
      assert.ok(asked.length > 0 && asked.every((h) => h === 'depot.s3.test'), asked.join());
    } finally {
      store.close();
      await server.close();
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('s3 driver: https', () => {
  it('talks TLS to an endpoint whose certificate a private CA signed (caFile), and refuses it without', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-s3-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    } catch {
      this.skip();
    }
    const server = new S3rver({ port: 0, address: '127.0.0.1', directory: path.join(dir, 'data'), silent: true, key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')), configureBuckets: [{ name: 'depot' }] });
    const { port } = await server.run();
    const base = { endpoint: `https://127.0.0.1:${port}`, bucket: 'depot', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true, retries: 0 };
    const trusted = new S3BlobStore(parseS3Options({ ...base, caFile: path.join(dir, 'cert.pem') }));
    const untrusted = new S3BlobStore(parseS3Options(base));
    try {
      await trusted.ping();
      const data = crypto.randomBytes(6 * 2 ** 20);
      const w = await trusted.stage();
      w.stream.end(data);
      await w.commit(sha256(data));
      assert.equal(sha256(await buffer(await trusted.read(sha256(data)))), sha256(data));
      await assert.rejects(() => untrusted.ping(), /s3 HeadBucket depot at https:\/\/127\.0\.0\.1:\d+: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED)/);
    } finally {
      trusted.close();
      untrusted.close();
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('s3 driver against a store', function () {
  let s3: TestS3;
  let store: S3BlobStore;
  before(async () => {
    s3 = await startTestS3();
    store = new S3BlobStore(parseS3Options({ ...s3.options, partSize: 5 * 2 ** 20 }));
  });
  after(async () => {
    store?.close();
    await s3?.close();
  });

  it('errors name the operation, the status and the cause, never the secret', async () => {
    const secret = 'not-the-right-secret-' + crypto.randomBytes(4).toString('hex');
    // s3rver checks the access key but not V4 signatures (the vectors above cover signing); a real
    // store (DEPOT_TEST_S3_ENDPOINT) answers SignatureDoesNotMatch to the wrong secret as well.
    const wrong = new S3BlobStore(parseS3Options({ ...s3.options, accessKeyId: 'NOBODY', secretAccessKey: secret, retries: 0 }));
    const err = await wrong.ping().then(() => undefined, (e: Error) => e);
    wrong.close();
    assert.ok(err, 'unknown credentials are refused');
    assert.ok(err.message.startsWith(`s3 HeadBucket ${s3.options.bucket}: HTTP 403`), err.message);
    if (process.env.DEPOT_TEST_S3_ENDPOINT) {
      const badSecret = new S3BlobStore(parseS3Options({ ...s3.options, secretAccessKey: secret, retries: 0 }));
      await assert.rejects(() => badSecret.ping(), (e: Error) => /HTTP 403/.test(e.message) && !e.message.includes(secret));
      badSecret.close();
    }
    assert.ok(!err.message.includes(secret) && !JSON.stringify(err).includes(secret) && !(err.stack ?? '').includes(secret));
    assert.ok(!JSON.stringify(wrong).includes(secret), 'the store object shows no secret');

    const missing = new S3BlobStore(parseS3Options({ ...s3.options, bucket: 'no-such-bucket-' + crypto.randomBytes(3).toString('hex'), retries: 0 }));
    await assert.rejects(() => missing.ping(), /HeadBucket no-such-bucket-\w+: HTTP 404 NoSuchBucket: the bucket does not exist \(create the bucket first/);
    missing.close();

    const down = new S3BlobStore(parseS3Options({ ...s3.options, endpoint: 'http://127.0.0.1:9', retries: 0 }));
    await assert.rejects(() => down.ping(), (e: Error) => e.message.startsWith(`s3 HeadBucket ${s3.options.bucket} at http://127.0.0.1:9: ECONNREFUSED`));
    down.close();
  });

  it('streams a large blob as a multipart upload with bounded buffering, byte-exact back', async () => {
    const size = 23 * 2 ** 20 + 12345;
    const seed = crypto.randomBytes(1 << 20);
    const hash = crypto.createHash('sha256');
    // 64 KiB chunks generated on demand: the source is never in memory whole.
    let sent = 0;
    const source = new Readable({
      read() {
        if (sent >= size) return this.push(null);
        const n = Math.min(65536, size - sent);
        const chunk = Buffer.from(seed.subarray(sent % (1 << 20), (sent % (1 << 20)) + n));
        const fill = n - chunk.length;
        const full = fill > 0 ? Buffer.concat([chunk, seed.subarray(0, fill)]) : chunk;
        hash.update(full);
        sent += n;
        this.push(full);
      },
    });
    const w = await store.stage();
    const before = process.memoryUsage().arrayBuffers;
    await new Promise<void>((resolve, reject) => source.pipe(w.stream).on('finish', resolve).on('error', reject));
    const key = hash.digest('hex');
    await w.commit(key);
    assert.ok(process.memoryUsage().arrayBuffers - before < 80 * 2 ** 20, 'buffered at most a few parts');
    assert.equal((await store.stat(key))?.size, size);
    const back = crypto.createHash('sha256');
    for await (const c of await store.read(key)) back.update(c);
    assert.equal(back.digest('hex'), key);
    // A range across the first part boundary (5 MiB).
    const M5 = 5 * 2 ** 20;
    const part = await buffer(await store.read(key, { start: M5 - 3, end: M5 + 2 }));
    assert.equal(part.length, 6);
    await store.delete(key);
  });

  it('commits above copyThreshold with UploadPartCopy (the > 5 GiB path), byte-exact (real store only: s3rver lacks it)', async function () {
    if (!process.env.DEPOT_TEST_S3_ENDPOINT) this.skip();
    const big = new S3BlobStore(parseS3Options({ ...s3.options, partSize: 5 * 2 ** 20, copyThreshold: 2 ** 20, copyPartSize: 5 * 2 ** 20 }));
    try {
      const data = crypto.randomBytes(12 * 2 ** 20 + 1);
      const key = sha256(data);
      for (let i = 0; i < 2; i++) {
        // The second commit of the same key copies the object onto itself the same way.
        const w = await big.stage();
        w.stream.end(data);
        await w.commit(key);
      }
      assert.equal(sha256(await buffer(await big.read(key))), key);
      assert.deepEqual(await buffer(await big.read(key, { start: 5 * 2 ** 20 - 2, end: 5 * 2 ** 20 + 1 })), data.subarray(5 * 2 ** 20 - 2, 5 * 2 ** 20 + 2));
      await big.delete(key);
    } finally {
      big.close();
    }
  });

  it('sweepStaging aborts abandoned multipart uploads, spares fresh ones (real store only: s3rver lacks ListMultipartUploads)', async function () {
    if (!process.env.DEPOT_TEST_S3_ENDPOINT) this.skip();
    const key = store.staging + crypto.randomUUID();
    const uploadId = await store.client.createMultipart(key);
    await store.client.uploadPart(key, uploadId, 1, crypto.randomBytes(1000));
    const other = new S3BlobStore(parseS3Options(s3.options));
    try {
      const pending = async () => {
        let n = 0;
        for await (const u of other.client.listMultipart(other.staging)) if (u.uploadId === uploadId) n++;
        return n;
      };
      assert.equal(await pending(), 1);
      await other.sweepStaging(3_600_000);
      assert.equal(await pending(), 1, 'a fresh upload is spared');
      assert.ok((await other.sweepStaging(0)) >= 1);
      assert.equal(await pending(), 0, 'the abandoned upload is aborted');
    } finally {
      other.close();
    }
  });

  it('a failing source aborts the upload and leaves nothing staged', async () => {
    const w = await store.stage();
    const source = new Readable({ read() {} });
    const done = new Promise<void>((resolve) => {
      w.stream.on('error', () => resolve());
      w.stream.on('close', () => resolve());
    });
    source.pipe(w.stream);
    source.push(crypto.randomBytes(6 * 2 ** 20));
    await new Promise((r) => setTimeout(r, 300));
    w.stream.destroy(new Error('client went away'));
    await done;
    await w.abort();
    let staged = 0;
    for await (const _ of store.client.list(store.staging)) staged++;
    assert.equal(staged, 0);
  });
});

const VNFD = fs.readFileSync(path.join(repoRoot, 'test/fixtures/tosca/valid/single_file_v3/Definitions/vnfd.yaml'), 'utf8');
const META = 'TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\nCreated-By: Depot tests\nEntry-Definitions: Definitions/vnfd.yaml\nETSI-Entry-Manifest: manifest.mf\n';

async function csar(image: Buffer): Promise<Buffer> {
  const vnfd = VNFD.replace('0d3b8f5e-2a55-4d43-9f59-6a1c5e0b7c11', crypto.randomUUID())
    .replace(/hash: [0-9a-f]{64}/, `hash: ${sha256(image)}`)
    .replace('size: 17 B', `size: ${image.length} B`);
  const files = { 'TOSCA-Metadata/TOSCA.meta': META, 'Definitions/vnfd.yaml': vnfd, 'Files/images/depot-test-1.0.qcow2': image };
  return buildZip(files, {
    manifest: { metadata: { vnf_provider_id: 'Depot', vnf_product_name: 'Depot Test VNF', vnf_release_date_time: '2026-11-24T10:00:00Z', vnf_package_version: '1.0' } },
    entries: { 'Files/images/depot-test-1.0.qcow2': { compress: false } },
  });
}

describe('Depot on an s3 store (files artifacts and VNF packages through the API)', function () {
  let s3: TestS3;
  let d: TestDepot;
  let probe: S3BlobStore;
  before(async () => {
    s3 = await startTestS3();
    d = await startTestDepot({
      gcIntervalSeconds: 0,
      stores: { objects: { ...s3.options, partSize: 5 * 2 ** 20 } },
      types: { files: { store: 'objects' }, vnf_packages: { store: 'objects' } },
    });
    probe = new S3BlobStore(parseS3Options(s3.options));
  });
  after(async () => {
    probe?.close();
    await d?.close();
    await s3?.close();
  });

  async function inBucket(): Promise<Set<string>> {
    const out = new Set<string>();
    for await (const o of probe.list()) out.add(o.key);
    return out;
  }

  it('uploads a files artifact to the bucket and serves it whole and by Range; GC removes it after deletion', async () => {
    const created = await d.request('POST', '/artifacts/files', { json: { name: 's3-' + crypto.randomBytes(3).toString('hex') } });
    assert.equal(created.status, 201);
    const a = (await created.json()) as any;
    const data = crypto.randomBytes(11 * 2 ** 20 + 3);
    const put = await d.request('PUT', `/artifacts/files/${a.id}/content`, { body: data, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(put.status, 200, await put.text());
    assert.ok((await inBucket()).has(sha256(data)), 'the object is in the bucket under its SHA-256');

    const whole = await d.request('GET', `/artifacts/files/${a.id}/content`);
    assert.equal(whole.status, 200);
    assert.equal(sha256(Buffer.from(await whole.arrayBuffer())), sha256(data));
    const M5 = 5 * 2 ** 20;
    const r = await d.request('GET', `/artifacts/files/${a.id}/content`, { headers: { Range: `bytes=${M5 - 10}-${M5 + 9}` } });
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-range'), `bytes ${M5 - 10}-${M5 + 9}/${data.length}`);
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), data.subarray(M5 - 10, M5 + 10));
    const first = await d.request('GET', `/artifacts/files/${a.id}/content`, { headers: { Range: 'bytes=0-0' } });
    assert.equal(first.status, 206);
    assert.deepEqual(Buffer.from(await first.arrayBuffer()), data.subarray(0, 1));

    assert.equal((await d.request('DELETE', `/artifacts/files/${a.id}`)).status, 204);
    const gc = await d.request('POST', '/admin/gc?graceSeconds=0', { as: d.users.admin });
    assert.equal(gc.status, 200, await gc.text());
    assert.ok(!(await inBucket()).has(sha256(data)), 'garbage collected from the bucket');
  });

  it('onboards a VNF package whose bytes live in the bucket (no local file), and serves it', async () => {
    const image = crypto.randomBytes(2 * 2 ** 20 + 5);
    const zip = await csar(image);
    const created = (await (await d.request('POST', '/vnfpkgm/v1/vnf_packages', { json: {} })).json()) as any;
    const put = await d.request('PUT', `/vnfpkgm/v1/vnf_packages/${created.id}/package_content`, { body: zip, headers: { 'Content-Type': 'application/zip' } });
    assert.equal(put.status, 202, await put.text());
    let info: any;
    for (let i = 0; i < 300; i++) {
      info = await (await d.request('GET', `/vnfpkgm/v1/vnf_packages/${created.id}`)).json();
      if (info.onboardingState === 'ONBOARDED' || info.onboardingState === 'ERROR') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(info.onboardingState, 'ONBOARDED', JSON.stringify(info.onboardingFailureDetails ?? info));
    assert.ok((await inBucket()).has(sha256(image)), 'the image is an object of its own in the bucket');

    const full = await d.request('GET', `/vnfpkgm/v1/vnf_packages/${created.id}/package_content`);
    assert.equal(full.status, 200);
    assert.equal(sha256(Buffer.from(await full.arrayBuffer())), sha256(zip));
    const offset = zip.indexOf(image.subarray(0, 64));
    const r1 = await d.request('GET', `/vnfpkgm/v1/vnf_packages/${created.id}/package_content`, { headers: { Range: `bytes=${offset - 10}-${offset + 9}` } });
    assert.equal(r1.status, 206);
    assert.deepEqual(Buffer.from(await r1.arrayBuffer()), zip.subarray(offset - 10, offset + 10));
    const img = await d.request('GET', `/vnfpkgm/v1/vnf_packages/${created.id}/artifacts/Files/images/depot-test-1.0.qcow2`, { headers: { Range: 'bytes=1048570-1048589' } });
    assert.equal(img.status, 206);
    assert.deepEqual(Buffer.from(await img.arrayBuffer()), image.subarray(1048570, 1048590));
    const vnfd = await d.request('GET', `/vnfpkgm/v1/vnf_packages/${created.id}/vnfd`, { headers: { Accept: 'text/plain' } });
    assert.equal(vnfd.status, 200);
  });
});
