/**
 * Raised for any malformed SOL013 query construct (filter, attribute selector, paging marker).
 * The HTTP layer maps it to 400 ProblemDetails; `detail` is meant to be shown to the API consumer,
 * so it never contains anything beyond what the consumer sent.
 */
export class Sol013Error extends Error {
  override readonly name = 'Sol013Error';
  readonly status = 400;
  constructor(readonly detail: string) {
    super(detail);
  }
}
