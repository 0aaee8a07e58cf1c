import Koa from 'koa';
import Router from '@koa/router';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { adminRoutes } from './admin';
import { artifactRoutes } from './artifacts/routes';
import type { ArtifactEngine } from './artifacts/engine';
import type { Authenticator } from './http/auth';
import type { HttpSettings } from './http/settings';
import { ErrorDialect, HttpError, problemMiddleware } from './http/problem';

export interface AppDeps {
  engine: ArtifactEngine;
  auth: Authenticator;
  log: Logger;
  /** Extra routers (e.g. SOL005), mounted before the generic ones. */
  routers?: Router[];
  /** Paths of those routers answered without a token. */
  publicPaths?: RegExp[];
  /** Paths whose errors are not ProblemDetails. */
  errorDialects?: ErrorDialect[];
  ready: () => Promise<void>;
  /** Read on each request (the configuration object itself may be passed). */
  http?: HttpSettings;
}

/** Koa assembly: request id, access log, ProblemDetails, auth, routers, 405/501 for the rest. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = false;
  app.silent = true;

  app.use(async (ctx, next) => {
    const id = ctx.get('X-Request-Id') || randomUUID();
    ctx.state.requestId = id;
    if (deps.http) ctx.state.http = deps.http;
    ctx.set('X-Request-Id', id);
    // An API answers JSON or user content, never a page: no sniffing, nothing to run or frame.
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
    const start = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const answered = ctx.state.clientClosed ? { clientClosed: true } : { status: ctx.status };
      deps.log.debug({ id, method: ctx.method, path: ctx.path, ...answered, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  });
  app.use(problemMiddleware(deps.log, deps.errorDialects));
  app.use(async (ctx, next) => {
    await next();
    // The router answers 405/501 with an empty body and an Allow header: make it a ProblemDetails.
    if ((ctx.status === 405 || ctx.status === 501) && !ctx.body) {
      const allow = ctx.response.get('Allow');
      throw new HttpError(ctx.status === 405 ? 'METHOD_NOT_ALLOWED' : 'NOT_IMPLEMENTED', ctx.status === 405 ? `${ctx.method} is not allowed here; allowed: ${allow}` : `method ${ctx.method} is not implemented`, allow ? { Allow: allow } : {});
    }
  });

  const ops = new Router();
  ops.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  ops.get('/readyz', async (ctx) => {
    try {
      await deps.ready();
      ctx.body = { status: 'ready' };
    } catch (err: any) {
      throw new HttpError('NOT_READY', `not ready: ${err.message}`);
    }
  });
  app.use(ops.routes()).use(ops.allowedMethods());

  const publicPaths = deps.publicPaths ?? [];
  app.use(deps.auth.middleware((path) => path === '/healthz' || path === '/readyz' || publicPaths.some((re) => re.test(path))));
  for (const r of [...(deps.routers ?? []), artifactRoutes(deps.engine), adminRoutes(deps.engine)]) app.use(r.routes()).use(r.allowedMethods());
  return app;
}
