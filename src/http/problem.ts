import type { Context, Next } from 'koa';

/**
 * RFC 9457 / SOL013 ProblemDetails. Every error leaves the service in this shape; `detail` names the
 * field, file or line at fault, and extension members (e.g. `findings`) carry the rest.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

export const badRequest = (detail: string, extra?: Record<string, unknown>) => new HttpError(400, 'Bad Request', detail, extra);
export const forbidden = (detail: string) => new HttpError(403, 'Forbidden', detail);
export const notFound = (detail: string) => new HttpError(404, 'Not Found', detail);
export const conflict = (detail: string, extra?: Record<string, unknown>) => new HttpError(409, 'Conflict', detail, extra);
export const preconditionFailed = (detail: string) => new HttpError(412, 'Precondition Failed', detail);
export const tooLarge = (detail: string) => new HttpError(413, 'Content Too Large', detail);
export const unsupportedMediaType = (detail: string) => new HttpError(415, 'Unsupported Media Type', detail);
export const notAcceptable = (detail: string) => new HttpError(406, 'Not Acceptable', detail);

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 409: 'Conflict', 412: 'Precondition Failed', 413: 'Content Too Large',
  415: 'Unsupported Media Type', 416: 'Range Not Satisfiable', 422: 'Unprocessable Content', 500: 'Internal Server Error',
  501: 'Not Implemented', 503: 'Service Unavailable',
};

/** Database errors that are the client's doing map to 4xx; anything unexpected is a logged 500. */
function fromDatabase(err: any): HttpError | undefined {
  const code = err?.original?.code ?? err?.parent?.code;
  if (code === '23505') return conflict(`an artifact with this name and version already exists (${err?.original?.constraint ?? 'unique'})`);
  if (code === '23503') return conflict('the artifact is referenced by other artifacts (links); remove the links first');
  if (code === '22P02' || code === '22003' || code === '22001') return badRequest(`invalid value: ${err?.original?.message ?? err.message}`);
  return undefined;
}

export function problemMiddleware(log: { error: (o: object, m: string) => void }) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw notFound(`no resource at ${ctx.path}`);
    } catch (raw: any) {
      let err: HttpError | undefined = raw instanceof HttpError ? raw : fromDatabase(raw);
      if (!err && typeof raw?.status === 'number' && raw.status >= 400 && raw.status < 500 && raw.expose) {
        err = new HttpError(raw.status, TITLES[raw.status] ?? 'Error', raw.message);
      }
      if (!err) {
        log.error({ err: raw, path: ctx.path, method: ctx.method }, 'unhandled error');
        err = new HttpError(500, 'Internal Server Error', `unexpected error (request ${ctx.state.requestId ?? '-'}); see the service log`);
      }
      // A half-read request body must not hold the connection open.
      if (!ctx.req.readableEnded) ctx.req.resume();
      ctx.status = err.status;
      for (const [k, v] of Object.entries(err.headers)) ctx.set(k, v);
      ctx.type = 'application/problem+json';
      ctx.body = {
        type: err.extra.type ?? 'about:blank',
        title: err.title,
        status: err.status,
        detail: err.detail,
        instance: ctx.originalUrl,
        ...err.extra,
      };
    }
  };
}

export function methodNotAllowed(allowed: string[]): HttpError {
  return new HttpError(405, 'Method Not Allowed', `allowed methods: ${allowed.join(', ')}`, {}, { Allow: allowed.join(', ') });
}
