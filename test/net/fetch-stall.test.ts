import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { fetchUriToWritable, FetchUriError } from '../../src/net/fetch-uri';

/** A sink that keeps count; `delayMs` per chunk makes it a slow store (backpressure). */
const sink = (delayMs = 0) => {
  let bytes = 0;
  const w = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (delayMs) setTimeout(done, delayMs);
      else done();
    },
  });
  return { w, bytes: () => bytes };
};

/** Issue 9 finding 1: a fetch that makes no progress fails after the stall time, not after timeoutSeconds. */
describe('fetchUriToWritable: stalled servers (issue 9)', function () {
  let server: http.Server;
  let base: string;
  const timers = new Set<NodeJS.Timeout>();
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/silent') {
        res.writeHead(200, { 'Content-Length': '100000' });
        res.write(Buffer.alloc(10, 1)); // ... and nothing more
      } else if (req.url === '/trickle') {
        res.writeHead(200, { 'Content-Length': '100000' });
        const t = setInterval(() => res.write(Buffer.from([1])), 100); // 10 B/s: a byte often enough for any idle timeout
        timers.add(t);
        res.on('close', () => clearInterval(t));
      } else if (req.url === '/fast') {
        res.writeHead(200, { 'Content-Length': String(256 * 1024) });
        res.end(Buffer.alloc(256 * 1024, 2));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    timers.forEach(clearInterval);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const opts = { maxBytes: 1 << 30, allow: ['127.0.0.0/8'], stall: { stallMs: 600, minBytesPerSecond: 100 } };

  async function stalled(path: string): Promise<FetchUriError> {
    const started = Date.now();
    const err = await fetchUriToWritable(`${base}${path}`, sink().w, opts).then(() => undefined, (e) => e);
    assert.ok(err instanceof FetchUriError, `a FetchUriError, got ${err}`);
    assert.equal(err.code, 'STALLED', err.message);
    assert.match(err.message, /stalled: \d+ byte\(s\) in [\d.]+ s \(at least 60 needed\)/);
    assert.ok(Date.now() - started < 3000, `failed after ${Date.now() - started} ms`);
    return err;
  }

  it('a server that sends a few bytes and then nothing fails STALLED after the stall time', async () => {
    await stalled('/silent');
  });

  it('a server trickling a byte every 100 ms (under minBytesPerSecond) fails STALLED too', async () => {
    await stalled('/trickle');
  });

  it('a slow destination (backpressure) is not the server\'s stall', async () => {
    const slow = sink(100); // 100 ms per chunk: the whole body takes longer than the stall time
    const started = Date.now();
    const r = await fetchUriToWritable(`${base}/fast`, slow.w, { ...opts, stall: { stallMs: 300, minBytesPerSecond: 1 << 20 } });
    assert.equal(r.bytes, 256 * 1024);
    assert.equal(slow.bytes(), 256 * 1024);
    assert.ok(Date.now() - started > 300, 'the reader was behind for longer than the stall time');
  });
});
