import type * as Pg from 'pg';

let pg: typeof Pg | undefined;

/**
 * The `pg` module for Sequelize (`dialectModule`), loaded without its Cloudflare Workers sniffing:
 * on Node 20, which has no global `navigator`, pg probes `new Response(…)` as it loads, and touching
 * `Response` makes Node load its whole fetch implementation (undici), ~6 MB resident for the life of
 * a server that never fetches. `Response` is hidden for the duration of that one `require`. (Node 21+
 * has `navigator`, and pg stops there.)
 */
export function pgDriver(): typeof Pg {
  if (pg) return pg;
  const response = Object.getOwnPropertyDescriptor(globalThis, 'Response');
  Object.defineProperty(globalThis, 'Response', { value: undefined, configurable: true, writable: true });
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    pg = require('pg') as typeof Pg;
  } finally {
    if (response) Object.defineProperty(globalThis, 'Response', response);
    else delete (globalThis as { Response?: unknown }).Response;
  }
  return pg;
}
