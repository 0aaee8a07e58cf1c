import { Sol013Error } from '../sol013';
import { badRequest } from './problem';

/** Runs a pure SOL013 step (filter, selectors, paging marker): its errors are the client's, a 400. */
export function sol013<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Sol013Error) throw badRequest(e.detail ?? e.message);
    throw e;
  }
}
