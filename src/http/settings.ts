import type { Context } from 'koa';

/** What request handling reads from the configuration (README: configuration reference). */
export interface HttpSettings {
  http: { maxJsonDepth: number };
  /** The URL clients reach Depot at; links are relative without it. */
  publicUrl?: string;
  /** When a request body counts as stalled (requestBody). */
  stalls?: { requestBodySeconds: number; minBytesPerSecond: number };
}

export const DEFAULT_MAX_JSON_DEPTH = 64;

/** The settings the app put on the request; defaults when a router runs without them (unit tests). */
export function httpSettings(ctx: Context): HttpSettings {
  return (ctx.state.http as HttpSettings | undefined) ?? { http: { maxJsonDepth: DEFAULT_MAX_JSON_DEPTH } };
}

/**
 * A link to `pathAndQuery` (which starts with "/") as handed to a client: absolute under the
 * configured public URL, else relative. Never built from the Host header: the client chooses it,
 * and a link on another host would carry the next request (and its token) there.
 */
export function publicLink(ctx: Context, pathAndQuery: string): string {
  const base = httpSettings(ctx).publicUrl;
  return base ? `${base}${pathAndQuery}` : pathAndQuery;
}
