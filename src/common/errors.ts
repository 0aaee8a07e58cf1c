/**
 * Errors as data. Domain code (engine, types, pipeline, repositories) throws a DomainError with a
 * stable `code` and a `detail` naming the field, file or line at fault; it knows nothing of HTTP.
 * The HTTP layer maps each code to one status and a ProblemDetails `type` URI (src/http/problem.ts);
 * the catalog, with its statuses and URIs, is docs/errors.md. Clients may switch on the code.
 */
export type ErrorCode =
  /** A value the caller sent is not acceptable: a field, query parameter, patch operation, path. */
  | 'INVALID_INPUT'
  /** The caller's role or project may not do this (read-only field, admin-only operation, ...). */
  | 'FORBIDDEN'
  /** The artifact's lifecycle forbids the change (immutable once active, deactivated, activation rules). */
  | 'LIFECYCLE_RULE'
  /** The project owns as many artifacts as its quota allows. */
  | 'QUOTA_EXCEEDED'
  /** No such resource, or not visible to the caller (another project's existence is private). */
  | 'NOT_FOUND'
  /** The resource is not in the state the operation needs (yet): e.g. a package not ONBOARDED. */
  | 'LIFECYCLE_CONFLICT'
  /** A blob of the artifact is being uploaded; retry when it is done. */
  | 'UPLOAD_IN_PROGRESS'
  /** The upload stalled past uploadStaleSeconds and was rolled back while it was still streaming. */
  | 'UPLOAD_ROLLED_BACK'
  /** A JSON Patch `test` operation failed. */
  | 'PATCH_TEST_FAILED'
  /** A unique constraint was hit; `constraint` names it. */
  | 'UNIQUE_VIOLATION'
  /** A foreign key was hit; `constraint` names it. */
  | 'FOREIGN_KEY_VIOLATION'
  /** The artifact is the target of links; `linkedFrom` lists them. */
  | 'LINKED'
  /** If-Match does not match the current ETag. */
  | 'PRECONDITION_FAILED'
  /** The content is over a size limit (blob, folder, request body). */
  | 'TOO_LARGE'
  /** The content would pass the project's byte quota. */
  | 'STORAGE_QUOTA_EXCEEDED'
  /** A hook rejected the request; `findings` lists why. */
  | 'HOOK_REJECTED'
  /** A client-supplied endpoint (a notification callback) failed its test. */
  | 'CALLBACK_FAILED';

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    /** Extension members of the answer, e.g. `findings`, `linkedFrom`, `constraint`. */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

export const invalidInput = (detail: string, extra?: Record<string, unknown>) => new DomainError('INVALID_INPUT', detail, extra);
export const forbidden = (detail: string) => new DomainError('FORBIDDEN', detail);
export const notFound = (detail: string) => new DomainError('NOT_FOUND', detail);
export const lifecycleRule = (detail: string) => new DomainError('LIFECYCLE_RULE', detail);
export const lifecycleConflict = (detail: string) => new DomainError('LIFECYCLE_CONFLICT', detail);
export const tooLarge = (detail: string) => new DomainError('TOO_LARGE', detail);

export const isDomainError = (e: unknown, code?: ErrorCode): e is DomainError => e instanceof DomainError && (code === undefined || e.code === code);
