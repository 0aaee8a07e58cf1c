import type { Sequelize, Transaction } from 'sequelize';
import type { ArtifactRecord } from '../../artifacts/types';

export type NsdmNotificationType =
  | 'NsdOnboardingNotification' | 'NsdOnboardingFailureNotification' | 'NsdChangeNotification' | 'NsdDeletionNotification'
  | 'PnfdOnboardingNotification' | 'PnfdOnboardingFailureNotification' | 'PnfdDeletionNotification';

export async function recordNsdmEvent(_sequelize: Sequelize, _t: Transaction, _a: ArtifactRecord, _type: NsdmNotificationType): Promise<number> {
  return 0;
}
