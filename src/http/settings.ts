import type { Context } from 'koa';

/** What request handling reads from the configuration (README: configuration reference). */
export interface HttpSettings {
  http: { maxJsonDepth: number };
}

export const DEFAULT_MAX_JSON_DEPTH = 64;

/** The settings the app put on the request; defaults when a router runs without them (unit tests). */
export function httpSettings(ctx: Context): HttpSettings {
  return (ctx.state.http as HttpSettings | undefined) ?? { http: { maxJsonDepth: DEFAULT_MAX_JSON_DEPTH } };
}
