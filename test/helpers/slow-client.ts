import * as http from 'node:http';

/** Loopback clients and servers that are slow on purpose (stall and fairness tests). */

export interface SlowPut {
  /** the answer, if one came before the connection closed */
  answer: Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders } | undefined>;
  /** stops sending (and closes the connection) */
  stop(): void;
}

/**
 * A PUT whose body stalls: the headers and `first` go out at once, then `trickle` (if given) one
 * byte every `everyMs` until stopped. Loopback only.
 */
export function slowPut(base: string, urlPath: string, token: string, headers: Record<string, string>, first: Buffer, trickle?: { everyMs: number }): SlowPut {
  const url = new URL(`${base}${urlPath}`);
  const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'PUT', headers: { Authorization: `Bearer ${token}`, ...headers } });
  let timer: NodeJS.Timeout | undefined;
  const answer = new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders } | undefined>((resolve) => {
    req.on('error', () => resolve(undefined));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), headers: res.headers }));
      res.on('error', () => resolve(undefined));
    });
  });
  req.write(first);
  if (trickle) timer = setInterval(() => req.write(Buffer.from([0x41])), trickle.everyMs);
  void answer.finally(() => clearInterval(timer));
  return { answer, stop: () => { clearInterval(timer); req.destroy(); } };
}

export interface TrickleServer {
  base: string;
  /** paths requested so far */
  readonly requests: string[];
  /** files served at once, by path */
  readonly files: Map<string, Buffer>;
  /** ends every connection (a trickling answer included) and stops listening */
  close(): Promise<void>;
}

/**
 * An HTTP server on 127.0.0.1 whose `/trickle/...` answers announce a megabyte and then send one
 * byte every `everyMs` (fast enough for any idle timeout, far too slow to finish); `files` are
 * served whole at once; anything else is a 404.
 */
export async function trickleServer(everyMs: number): Promise<TrickleServer> {
  const requests: string[] = [];
  const files = new Map<string, Buffer>();
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    requests.push(req.url!);
    const file = files.get(req.url!);
    if (file) {
      res.writeHead(200, { 'Content-Type': 'application/zip', 'Content-Length': file.length });
      return res.end(file);
    }
    if (!req.url!.startsWith('/trickle/')) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'Content-Type': 'application/zip', 'Content-Length': String(1 << 20) });
    res.write(Buffer.from('PK\x03\x04'));
    const t = setInterval(() => res.write(Buffer.from([0])), everyMs);
    timers.add(t);
    res.on('close', () => {
      clearInterval(t);
      timers.delete(t);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    files,
    async close() {
      timers.forEach(clearInterval);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
