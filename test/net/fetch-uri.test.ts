import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { LookupAddress } from 'node:dns';
import { fetchUriToWritable, FetchUriError, redactUri } from '../../src/net/fetch-uri';
import type { FetchUriErrorCode, FetchUriOptions } from '../../src/net/fetch-uri';

/*
 * Only loopback traffic is allowed on the test machine. Socket.prototype.connect is wrapped for the
 * whole file: every connect attempt is recorded, and any target other than loopback is failed
 * without touching the network -- so a regression in the SSRF checks shows up as a recorded
 * attempt instead of real traffic.
 */
const attempts: string[] = [];
const LOOPBACK_NAMES = new Set(['127.0.0.1', '::1', 'localhost', 'pkg.test', 'mirror.test', 'other.test']);
const originalConnect = net.Socket.prototype.connect;

// Hooks at the root of a file apply to the whole mocha run: install the guard only around this
// file's own tests, so other suites (e.g. s3 virtual-hosted names resolved to loopback) are unaffected.
const guarded = (ctx: Mocha.Context) => ctx.currentTest?.file === __filename;
beforeEach(function () {
  if (!guarded(this)) return;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    const host = typeof first === 'object' && first !== null ? String((first as { host?: string }).host ?? 'localhost') : String(args[1] ?? 'localhost');
    attempts.push(host);
    if (host === 'stall.test') {
      // a SYN into the void: stays "connecting" forever, writes are queued
      (this as unknown as { connecting: boolean }).connecting = true;
      return this;
    }
    if (!LOOPBACK_NAMES.has(host)) {
      process.nextTick(() => this.destroy(new Error(`test guard: blocked connect to ${host}`)));
      return this;
    }
    return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;
});
afterEach(() => {
  net.Socket.prototype.connect = originalConnect;
});

interface TestServer {
  port: number;
  url: string;
  connections: number;
  requests: http.IncomingMessage[];
  close(): Promise<void>;
}

async function serve(handler: http.RequestListener): Promise<TestServer> {
  const server = http.createServer((req, res) => {
    state.requests.push(req);
    handler(req, res);
  });
  const sockets = new Set<net.Socket>();
  const state: TestServer = {
    port: 0,
    url: '',
    connections: 0,
    requests: [],
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  server.on('connection', (s) => {
    state.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  return state;
}

class Sink extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void) {
    this.chunks.push(chunk);
    cb();
  }
  get text() {
    return Buffer.concat(this.chunks).toString();
  }
}

const ALLOW_LOOPBACK = ['127.0.0.0/8'];
const base: FetchUriOptions = { maxBytes: 1024 * 1024, allow: ALLOW_LOOPBACK };

async function expectError(p: Promise<unknown>, code: FetchUriErrorCode, message?: RegExp): Promise<FetchUriError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof FetchUriError, `expected FetchUriError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

const staticLookup =
  (table: Record<string, string[]>, calls?: string[]) =>
  async (host: string): Promise<LookupAddress[]> => {
    calls?.push(host);
    const list = table[host];
    if (!list) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: net.isIP(address) }));
  };

describe('net fetchUriToWritable', () => {
  let srv: TestServer;
  afterEach(async () => {
    await srv?.close();
  });
  beforeEach(() => {
    attempts.length = 0;
  });

  it('downloads a body into the writable (allowed loopback)', async () => {
    srv = await serve((_req, res) => {
      res.setHeader('content-type', 'application/zip');
      res.end('PK-content');
    });
    const sink = new Sink();
    const r = await fetchUriToWritable(`${srv.url}/pkg.zip?token=abc`, sink, base);
    assert.equal(sink.text, 'PK-content');
    assert.deepEqual(r, { bytes: 10, contentType: 'application/zip', contentLength: 10, uri: `${srv.url}/pkg.zip` });
  });

  it('refuses loopback unless allowed, without connecting', async () => {
    srv = await serve((_req, res) => res.end('x'));
    await expectError(fetchUriToWritable(`${srv.url}/`, new Sink(), { maxBytes: 10 }), 'FORBIDDEN_TARGET', /127\.0\.0\.1 is not a public address \(loopback\)/);
    assert.equal(srv.connections, 0);
    assert.deepEqual(attempts, []);
  });

  describe('refuses non-public literal targets before any connection', () => {
    const targets = [
      'http://10.0.0.1/x',
      'http://172.16.5.4/x',
      'http://192.168.0.10/x',
      'http://169.254.169.254/latest/meta-data/',
      'http://100.64.0.1/',
      'http://0.0.0.0/',
      'http://224.0.0.1/',
      'http://255.255.255.255/',
      'http://0x7f.1/', // WHATWG URL normalises to 127.0.0.1
      'http://2130706433/',
      'http://[::1]/',
      'http://[::]/',
      'http://[fd00::1]/',
      'http://[fe80::1]/',
      'http://[ff02::1]/',
      'http://[::ffff:10.0.0.1]/',
      'http://[::ffff:7f00:1]/',
      'http://[::7f00:1]/',
      'http://[64:ff9b::a00:1]/',
      'http://[2002:a00:1::]/',
      'https://10.0.0.1/x',
    ];
    for (const t of targets) {
      it(t, async () => {
        await expectError(fetchUriToWritable(t, new Sink(), { maxBytes: 10, lookup: async () => assert.fail('no DNS for literals') }), 'FORBIDDEN_TARGET');
        assert.deepEqual(attempts, []);
      });
    }
  });

  it('refuses a host name resolving to a non-public address (any of several)', async () => {
    const lookup = staticLookup({ 'evil.test': ['10.0.0.5'], 'mixed.test': ['8.8.8.8', '192.168.1.1'], 'v6.test': ['fd00::2'] });
    await expectError(fetchUriToWritable('http://evil.test/p', new Sink(), { maxBytes: 10, lookup }), 'FORBIDDEN_TARGET', /host 'evil.test' resolves to 10\.0\.0\.5/);
    await expectError(fetchUriToWritable('http://mixed.test/p', new Sink(), { maxBytes: 10, lookup }), 'FORBIDDEN_TARGET', /192\.168\.1\.1 .*\(private\)/);
    await expectError(fetchUriToWritable('https://v6.test/p', new Sink(), { maxBytes: 10, lookup }), 'FORBIDDEN_TARGET', /uniqueLocal/);
    assert.deepEqual(attempts, []);
  });

  it('connects to the vetted address only: a second (rebinding) DNS answer is never consulted', async () => {
    srv = await serve((_req, res) => res.end('ok'));
    const calls: string[] = [];
    let n = 0;
    const lookup = async (host: string): Promise<LookupAddress[]> => {
      calls.push(host);
      return [{ address: n++ === 0 ? '127.0.0.1' : '10.0.0.1', family: 4 }];
    };
    const sink = new Sink();
    await fetchUriToWritable(`http://pkg.test:${srv.port}/a`, sink, { ...base, lookup });
    assert.equal(sink.text, 'ok');
    assert.deepEqual(calls, ['pkg.test']);
    assert.equal(srv.requests[0].headers.host, `pkg.test:${srv.port}`);
  });

  it('allows a host name from the allow list whatever it resolves to', async () => {
    srv = await serve((_req, res) => res.end('ok'));
    const lookup = staticLookup({ 'mirror.test': ['127.0.0.1'] });
    await expectError(fetchUriToWritable(`http://mirror.test:${srv.port}/`, new Sink(), { maxBytes: 10, lookup }), 'FORBIDDEN_TARGET');
    const sink = new Sink();
    await fetchUriToWritable(`http://mirror.test:${srv.port}/`, sink, { maxBytes: 10, lookup, allow: ['mirror.test'] });
    assert.equal(sink.text, 'ok');
  });

  it('follows redirects, re-checking each hop', async () => {
    srv = await serve((req, res) => {
      if (req.url === '/a') res.writeHead(302, { location: '/b' }).end();
      else if (req.url === '/b') res.writeHead(307, { location: `http://127.0.0.1:${srv.port}/c` }).end();
      else res.end('final');
    });
    const sink = new Sink();
    const r = await fetchUriToWritable(`${srv.url}/a`, sink, base);
    assert.equal(sink.text, 'final');
    assert.equal(r.uri, `${srv.url}/c`);
  });

  it('refuses a redirect to a forbidden address before connecting to it', async () => {
    for (const target of ['http://10.0.0.1/x', 'http://[fd00::1]/', 'http://169.254.169.254/', 'http://internal.test/']) {
      srv = await serve((_req, res) => res.writeHead(301, { location: target }).end());
      const lookup = staticLookup({ 'internal.test': ['192.168.7.7'] });
      await expectError(fetchUriToWritable(`${srv.url}/start`, new Sink(), { ...base, lookup }), 'FORBIDDEN_TARGET');
      assert.deepEqual(attempts, ['127.0.0.1']);
      attempts.length = 0;
      await srv.close();
    }
  });

  it('refuses a redirect from an allowed host name to a non-allowed loopback name', async () => {
    srv = await serve((_req, res) => res.writeHead(302, { location: `http://other.test:${srv.port}/` }).end());
    const lookup = staticLookup({ 'mirror.test': ['127.0.0.1'], 'other.test': ['127.0.0.1'] });
    await expectError(fetchUriToWritable(`http://mirror.test:${srv.port}/`, new Sink(), { maxBytes: 10, lookup, allow: ['mirror.test'] }), 'FORBIDDEN_TARGET', /other\.test/);
  });

  it('refuses redirects to other schemes and bad locations', async () => {
    for (const location of ['ftp://127.0.0.1/x', 'file:///etc/passwd', 'gopher://127.0.0.1/']) {
      srv = await serve((_req, res) => res.writeHead(302, { location }).end());
      await expectError(fetchUriToWritable(`${srv.url}/`, new Sink(), base), 'BAD_URI', /unsupported scheme/);
      await srv.close();
    }
    srv = await serve((_req, res) => res.writeHead(302).end());
    await expectError(fetchUriToWritable(`${srv.url}/`, new Sink(), base), 'HTTP_STATUS', /302 without a Location/);
  });

  it('stops after maxRedirects', async () => {
    srv = await serve((req, res) => res.writeHead(302, { location: `${req.url}x` }).end());
    const e = await expectError(fetchUriToWritable(`${srv.url}/`, new Sink(), { ...base, maxRedirects: 3 }), 'HTTP_STATUS', /too many redirects \(more than 3\)/);
    assert.equal(e.status, 302);
    assert.equal(srv.requests.length, 4);
  });

  it('sends Basic credentials to the original origin only', async () => {
    const other = await serve((_req, res) => res.end('other'));
    try {
      srv = await serve((req, res) => {
        if (req.url === '/same') res.writeHead(302, { location: '/here' }).end();
        else if (req.url === '/away') res.writeHead(302, { location: `${other.url}/there` }).end();
        else res.end('here');
      });
      const auth = { userName: 'alice', password: 's3cr3t:pw' };
      await fetchUriToWritable(`${srv.url}/same`, new Sink(), { ...base, auth });
      const expected = `Basic ${Buffer.from('alice:s3cr3t:pw').toString('base64')}`;
      assert.equal(srv.requests[0].headers.authorization, expected);
      assert.equal(srv.requests[1].headers.authorization, expected);
      await fetchUriToWritable(`${srv.url}/away`, new Sink(), { ...base, auth });
      assert.equal(srv.requests[2].headers.authorization, expected);
      assert.equal(other.requests[0].headers.authorization, undefined);
    } finally {
      await other.close();
    }
  });

  it('takes userinfo from the URI as Basic credentials', async () => {
    srv = await serve((_req, res) => res.end('ok'));
    await fetchUriToWritable(`http://bob:p%40ss@127.0.0.1:${srv.port}/`, new Sink(), base);
    assert.equal(srv.requests[0].headers.authorization, `Basic ${Buffer.from('bob:p@ss').toString('base64')}`);
  });

  it('reports non-2xx with the status', async () => {
    srv = await serve((_req, res) => res.writeHead(404).end('nope'));
    const e = await expectError(fetchUriToWritable(`${srv.url}/missing`, new Sink(), base), 'HTTP_STATUS', /answered HTTP 404/);
    assert.equal(e.status, 404);
  });

  it('size cap: announced length and streamed body', async () => {
    srv = await serve((req, res) => {
      if (req.url === '/announced') res.writeHead(200, { 'content-length': '2048' }).end(Buffer.alloc(2048));
      else {
        res.write(Buffer.alloc(600));
        setTimeout(() => res.end(Buffer.alloc(600)), 20);
      }
    });
    await expectError(fetchUriToWritable(`${srv.url}/announced`, new Sink(), { ...base, maxBytes: 1000 }), 'TOO_LARGE', /announces 2048 bytes, more than the limit of 1000/);
    await expectError(fetchUriToWritable(`${srv.url}/chunked`, new Sink(), { ...base, maxBytes: 1000 }), 'TOO_LARGE', /more than the limit of 1000 bytes/);
    const sink = new Sink();
    await fetchUriToWritable(`${srv.url}/chunked`, sink, { ...base, maxBytes: 1200 });
    assert.equal(Buffer.concat(sink.chunks).length, 1200);
  });

  it('idle timeout: server never answers / stalls mid-body', async () => {
    srv = await serve((req, res) => {
      if (req.url === '/mid') res.write('partial'); // then silence
      // '/silent': no response at all
    });
    await expectError(fetchUriToWritable(`${srv.url}/silent`, new Sink(), { ...base, idleTimeoutMs: 150 }), 'TIMEOUT', /no data .* for 150 ms/);
    await expectError(fetchUriToWritable(`${srv.url}/mid`, new Sink(), { ...base, idleTimeoutMs: 150 }), 'TIMEOUT', /no data .* for 150 ms/);
  });

  it('overall timeout: a slow drip that never goes idle', async () => {
    srv = await serve((_req, res) => {
      const t = setInterval(() => res.write('.'), 20);
      res.on('close', () => clearInterval(t));
    });
    const t0 = Date.now();
    await expectError(fetchUriToWritable(`${srv.url}/drip`, new Sink(), { ...base, idleTimeoutMs: 1000, totalTimeoutMs: 300 }), 'TIMEOUT', /did not complete within 300 ms/);
    assert.ok(Date.now() - t0 < 1000);
  });

  it('cancellation through an AbortSignal', async () => {
    srv = await serve(() => {});
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await expectError(fetchUriToWritable(`${srv.url}/`, new Sink(), { ...base, signal: ac.signal }), 'NETWORK', /cancelled/);
  });

  it('network errors are NETWORK', async () => {
    srv = await serve(() => {});
    const port = srv.port;
    await srv.close();
    await expectError(fetchUriToWritable(`http://127.0.0.1:${port}/`, new Sink(), base), 'NETWORK', /ECONNREFUSED/);
    await expectError(fetchUriToWritable('http://nowhere.test/', new Sink(), { ...base, lookup: staticLookup({}) }), 'NETWORK', /cannot resolve host 'nowhere.test' \(ENOTFOUND\)/);
  });

  it('rejects malformed and non-http URIs', async () => {
    for (const uri of ['not a uri', '/relative/path', 'ftp://example.org/x', 'file:///etc/passwd', 'data:,x', 'http://']) {
      await expectError(fetchUriToWritable(uri, new Sink(), base), 'BAD_URI');
    }
    assert.deepEqual(attempts, []);
  });

  it('never echoes credentials in error messages', async () => {
    const password = 'Sup3r-S3cret!';
    srv = await serve((req, res) => {
      if (req.url === '/redir') res.writeHead(302, { location: `http://x:${encodeURIComponent(password)}@10.0.0.1/` }).end();
      else res.writeHead(403).end();
    });
    const messages: string[] = [];
    const collect = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (e) {
        messages.push((e as Error).message, String(e), JSON.stringify(e), (e as Error).stack ?? '');
      }
    };
    const auth = { userName: 'admin', password };
    await collect(fetchUriToWritable(`http://admin:${encodeURIComponent(password)}@127.0.0.1:${srv.port}/x`, new Sink(), base));
    await collect(fetchUriToWritable(`${srv.url}/x`, new Sink(), { ...base, auth }));
    await collect(fetchUriToWritable(`${srv.url}/redir`, new Sink(), { ...base, auth }));
    await collect(fetchUriToWritable(`http://admin:${encodeURIComponent(password)}@10.0.0.1/`, new Sink(), base));
    await collect(fetchUriToWritable(`http://admin:${encodeURIComponent(password)}@127.0.0.1:1/`, new Sink(), base));
    assert.equal(messages.length, 20);
    for (const m of messages) {
      assert.ok(!m.includes(password) && !m.includes(encodeURIComponent(password)), m);
      assert.ok(!m.includes('admin:'), m);
    }
  });

  it('connect timeout', async () => {
    const lookup = staticLookup({ 'stall.test': ['127.0.0.1'] });
    await expectError(
      fetchUriToWritable('http://stall.test/', new Sink(), { ...base, lookup, connectTimeoutMs: 100, idleTimeoutMs: 5000 }),
      'TIMEOUT',
      /connection to http:\/\/stall\.test\/ not established within 100 ms/,
    );
  });

  it('overall timeout also bounds a hanging DNS lookup', async () => {
    const lookup = () => new Promise<LookupAddress[]>(() => {});
    await expectError(fetchUriToWritable('http://slow-dns.test/', new Sink(), { ...base, lookup, totalTimeoutMs: 100 }), 'TIMEOUT');
  });

  describe('https', () => {
    const fixtures = path.join(__dirname, 'fixtures');
    const cert = readFileSync(path.join(fixtures, 'localhost.cert.pem'));
    const key = readFileSync(path.join(fixtures, 'localhost.key.pem'));
    let server: https.Server;
    let port = 0;
    const seen: http.IncomingHttpHeaders[] = [];
    before(async () => {
      server = https.createServer({ cert, key }, (req, res) => {
        seen.push(req.headers);
        res.end('secure');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    it('fetches over TLS with the certificate checked for the host name, not the pinned address', async () => {
      const sink = new Sink();
      const lookup = staticLookup({ 'pkg.test': ['127.0.0.1'] });
      await fetchUriToWritable(`https://pkg.test:${port}/p`, sink, { ...base, lookup, ca: cert, auth: { userName: 'u', password: 'p' } });
      assert.equal(sink.text, 'secure');
      assert.equal(seen.at(-1)?.host, `pkg.test:${port}`);
      assert.equal(seen.at(-1)?.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
    });

    it('still verifies certificates', async () => {
      await expectError(fetchUriToWritable(`https://127.0.0.1:${port}/p`, new Sink(), base), 'NETWORK', /SELF_SIGNED|UNABLE_TO_VERIFY|self.signed/i);
      const lookup = staticLookup({ 'other.test': ['127.0.0.1'] });
      await expectError(fetchUriToWritable(`https://other.test:${port}/p`, new Sink(), { ...base, lookup, ca: cert }), 'NETWORK', /ERR_TLS_CERT_ALTNAME_INVALID/);
    });
  });

  it('a failing destination surfaces its own error, not a FetchUriError', async () => {
    srv = await serve((_req, res) => res.end('data'));
    const diskFull = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    const dest = new Writable({ write: (_c, _e, cb) => cb(diskFull) });
    await assert.rejects(fetchUriToWritable(`${srv.url}/`, dest, base), (e: unknown) => e === diskFull);
  });

  it('redactUri strips userinfo and query', () => {
    assert.equal(redactUri('https://u:p@host.example:8443/a/b?sig=xyz#f'), 'https://host.example:8443/a/b');
  });
});
