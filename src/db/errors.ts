import { DomainError } from '../common/errors';

/** What a unique constraint protects, in the client's words; the constraint's name is added to it. */
const UNIQUE: Record<string, string> = {
  artifacts_unique_private: 'an artifact with this name and version already exists',
  artifacts_unique_public: 'a public artifact with this name and version already exists',
  quotas_pkey: 'a quota for this project and type is given twice',
  artifact_shares_pkey: 'the artifact is already shared with this project',
  pkgm_subscriptions_unique: 'a subscription with this callbackUri and filter already exists',
};

/**
 * PostgreSQL errors that are the client's doing, as domain errors naming the constraint that was
 * hit; anything else is not recognised (undefined) and stays an internal error.
 */
export function databaseError(err: any): DomainError | undefined {
  const code = err?.original?.code ?? err?.parent?.code;
  const constraint: string | undefined = err?.original?.constraint ?? err?.parent?.constraint;
  const named = constraint ? { constraint } : {};
  if (code === '23505') {
    const what = (constraint && UNIQUE[constraint]) ?? `a unique value is taken`;
    return new DomainError('UNIQUE_VIOLATION', `${what} (constraint ${constraint ?? 'unknown'})`, named);
  }
  if (code === '23503') {
    if (constraint === 'artifact_links_target_id_fkey') {
      return new DomainError('LINKED', `the artifact is referenced by other artifacts (links); remove the links first (constraint ${constraint})`, named);
    }
    return new DomainError('FOREIGN_KEY_VIOLATION', `a referenced row does not exist or is still referenced (constraint ${constraint ?? 'unknown'})`, named);
  }
  if (code === '22P02' || code === '22003' || code === '22001') return new DomainError('INVALID_INPUT', `invalid value: ${err?.original?.message ?? err.message}`);
  return undefined;
}
