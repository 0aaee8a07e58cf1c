import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A subscriber endpoint on 127.0.0.1 that answers 204 to everything (the SOL005 callback test passes). */
export async function silentSubscriber(): Promise<{ callback: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    res.statusCode = 204;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    callback: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
