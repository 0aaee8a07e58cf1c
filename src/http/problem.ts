import type { Context, Next } from 'koa';
import { DomainError, ErrorCode, invalidInput, tooLarge } from '../common/errors';
import { databaseError } from '../db/errors';
import { dropBody } from './body';

/**
 * HTTP-only problems: raised by the HTTP layer itself (authentication, content negotiation,
 * methods, ranges, readiness), never by the domain.
 */
export type HttpCode =
  | 'UNAUTHENTICATED' | 'METHOD_NOT_ALLOWED' | 'NOT_ACCEPTABLE' | 'UNSUPPORTED_MEDIA_TYPE' | 'RANGE_NOT_SATISFIABLE'
  | 'BODY_STALLED' | 'NOT_IMPLEMENTED' | 'NOT_READY' | 'INTERNAL_ERROR';
export type ProblemCode = ErrorCode | HttpCode;

/** The one mapping of error codes to HTTP: status and title (documented in docs/errors.md). */
export const PROBLEMS: Record<ProblemCode, { status: number; title: string }> = {
  INVALID_INPUT: { status: 400, title: 'Invalid input' },
  UNAUTHENTICATED: { status: 401, title: 'Not authenticated' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  LIFECYCLE_RULE: { status: 403, title: 'Not allowed in this lifecycle state' },
  QUOTA_EXCEEDED: { status: 403, title: 'Artifact quota exceeded' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  NOT_ACCEPTABLE: { status: 406, title: 'Not acceptable' },
  LIFECYCLE_CONFLICT: { status: 409, title: 'Not in the state this operation needs' },
  UPLOAD_IN_PROGRESS: { status: 409, title: 'Upload in progress' },
  UPLOAD_ROLLED_BACK: { status: 409, title: 'Upload rolled back' },
  PATCH_TEST_FAILED: { status: 409, title: 'JSON Patch test failed' },
  UNIQUE_VIOLATION: { status: 409, title: 'Already exists' },
  FOREIGN_KEY_VIOLATION: { status: 409, title: 'Reference violated' },
  LINKED: { status: 409, title: 'Linked from other artifacts' },
  BODY_STALLED: { status: 408, title: 'Request body stalled' },
  PRECONDITION_FAILED: { status: 412, title: 'Precondition failed' },
  TOO_LARGE: { status: 413, title: 'Content too large' },
  STORAGE_QUOTA_EXCEEDED: { status: 413, title: 'Storage quota exceeded' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  RANGE_NOT_SATISFIABLE: { status: 416, title: 'Range not satisfiable' },
  HOOK_REJECTED: { status: 422, title: 'Rejected by a hook' },
  CALLBACK_FAILED: { status: 422, title: 'Callback endpoint test failed' },
  INTERNAL_ERROR: { status: 500, title: 'Internal error' },
  NOT_IMPLEMENTED: { status: 501, title: 'Not implemented' },
  NOT_READY: { status: 503, title: 'Not ready' },
};

/** The ProblemDetails `type` of a code: stable, one per code, e.g. .../problems/invalid-input. */
export const problemType = (code: ProblemCode) => `https://depot.invalid/problems/${code.toLowerCase().replace(/_/g, '-')}`;

export class HttpError extends Error {
  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

// Request-shape helpers of the HTTP layer (body, headers).
export const badRequest = invalidInput;
export { tooLarge };
export const unsupportedMediaType = (detail: string) => new HttpError('UNSUPPORTED_MEDIA_TYPE', detail);
export const notAcceptable = (detail: string) => new HttpError('NOT_ACCEPTABLE', detail);

/** Koa's own errors (status + expose) carry no code: the first code with that status stands for them. */
const codeOfStatus = (status: number) => (Object.keys(PROBLEMS) as ProblemCode[]).find((c) => PROBLEMS[c].status === status);

/** How a request's stream ends when its client closes the connection (Node's 'aborted', a reset, a cut pipe). */
const STREAM_ENDS = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * The client left before the answer: its connection is gone and the error is the one its request
 * stream ended with. Nothing went wrong in Depot (the upload was rolled back on the way out); the
 * same error from a store or a fetch, with the client still connected, stays an error.
 */
function clientLeft(ctx: Context, err: any): boolean {
  const gone = ctx.req.socket?.destroyed === true || (ctx.req.destroyed && !ctx.req.complete);
  return gone && (STREAM_ENDS.has(err?.code) || err?.message === 'aborted');
}

/**
 * How the errors of some paths are written instead of ProblemDetails: an API whose clients parse
 * a shape of their own (the Image API's). Status codes and headers stay the ones of the code.
 */
export interface ErrorDialect {
  paths: RegExp;
  write(ctx: Context, e: { status: number; title: string; detail: string; code: ProblemCode }): void;
}

export function problemMiddleware(log: { error: (o: object, m: string) => void; info: (o: object, m: string) => void }, dialects: readonly ErrorDialect[] = []) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new DomainError('NOT_FOUND', `no resource at ${ctx.path}`);
    } catch (raw: any) {
      let err: HttpError | DomainError | undefined = raw instanceof HttpError || raw instanceof DomainError ? raw : databaseError(raw);
      if (!err && typeof raw?.status === 'number' && raw.status >= 400 && raw.status < 500 && raw.expose && codeOfStatus(raw.status)) {
        err = new HttpError(codeOfStatus(raw.status)!, raw.message);
      }
      if (!err && clientLeft(ctx, raw)) {
        log.info({ id: ctx.state.requestId, method: ctx.method, path: ctx.path, reason: raw.code ?? raw.message }, 'client closed the connection before the answer');
        ctx.state.clientClosed = true;
        ctx.respond = false;
        return;
      }
      if (!err) {
        log.error({ err: raw, id: ctx.state.requestId, path: ctx.path, method: ctx.method }, 'unhandled error');
        err = new HttpError('INTERNAL_ERROR', `unexpected error (request ${ctx.state.requestId ?? '-'}); see the service log`);
      }
      // A client that stalls is the client's business, like one that leaves: info, not error.
      if (err.code === 'BODY_STALLED') log.info({ id: ctx.state.requestId, method: ctx.method, path: ctx.path, detail: err.detail }, 'request body stalled; the request is ended');
      // A half-read request body must not hold the connection open.
      dropBody(ctx);
      const { status, title } = PROBLEMS[err.code];
      ctx.status = status;
      if (err instanceof HttpError) for (const [k, v] of Object.entries(err.headers)) ctx.set(k, v);
      const dialect = dialects.find((d) => d.paths.test(ctx.path));
      if (dialect) return dialect.write(ctx, { status, title, detail: err.detail, code: err.code });
      ctx.type = 'application/problem+json';
      ctx.body = { type: problemType(err.code), title, status, detail: err.detail, instance: ctx.originalUrl, code: err.code, ...err.extra };
    }
  };
}
