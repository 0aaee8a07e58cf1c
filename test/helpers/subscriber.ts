import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A SOL005 notification subscriber for tests: an HTTP server on 127.0.0.1 that answers the
 * endpoint test (GET, 204 unless told otherwise) and records every notification POSTed to it.
 */

export interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
}

export class Subscriber {
  readonly received: Received[] = [];
  /** path → status of the endpoint test GET (default 204) */
  readonly getStatus = new Map<string, number>();
  /** path → number of POSTs still to fail with 500 */
  readonly failures = new Map<string, number>();
  private server!: http.Server;
  base = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const path = req.url ?? '';
        this.received.push({ method: req.method ?? '', path, headers: req.headers, body: text ? JSON.parse(text) : undefined });
        if (req.method === 'GET') {
          res.statusCode = this.getStatus.get(path) ?? 204;
          return res.end();
        }
        const left = this.failures.get(path) ?? 0;
        if (left > 0) {
          this.failures.set(path, left - 1);
          res.statusCode = 500;
          return res.end('try later');
        }
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  posts(path: string): Received[] {
    return this.received.filter((r) => r.method === 'POST' && r.path === path);
  }

  async waitPosts(path: string, n: number, timeoutMs = 20_000): Promise<Received[]> {
    const until = Date.now() + timeoutMs;
    while (this.posts(path).length < n) {
      if (Date.now() > until) throw new Error(`${path}: ${this.posts(path).length} of ${n} notifications after ${timeoutMs} ms: ${JSON.stringify(this.posts(path).map((p) => p.body))}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return this.posts(path);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
