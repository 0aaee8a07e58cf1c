import { QueryTypes, Sequelize, Transaction } from 'sequelize';
import { inTransaction } from '../database';

/** A claimed notification with what delivering it needs from its subscription. */
export interface OutboxItem {
  seq: string;
  subscription_id: string;
  body: Record<string, unknown>;
  attempts: number;
  callback_uri: string;
  api_major: number;
  /** the `Version` header the notification is sent with (its body is that version's data model) */
  api_version: string | null;
  authentication: { paramsBasic?: { userName?: string; password?: string } } | null;
}

const lease = `now() + (:lease * interval '1 second')`;

/**
 * The `pkgm_notifications` table: the transactional outbox of SOL005 notifications (of every API). A row goes
 * pending → sending (claimed under a lease) → delivered | pending again later | dead.
 */
export class OutboxRepository {
  constructor(private readonly sequelize: Sequelize) {}

  /** One notification for one subscription, in the transaction of the state change it reports. */
  async add(t: Transaction, notificationId: string, subscriptionId: string, body: Record<string, unknown>, apiVersion?: string): Promise<void> {
    await this.sequelize.query(`INSERT INTO pkgm_notifications (notification_id, subscription_id, body, api_version) VALUES (:id, :sub, :body, :version)`, {
      replacements: { id: notificationId, sub: subscriptionId, body: JSON.stringify(body), version: apiVersion ?? null }, transaction: t,
    });
  }

  /**
   * Takes the due row that is the oldest open one of its subscription (a subscriber sees its
   * notifications in order), pending or sending under a lease that ran out (its process died).
   * A subscriber project with `perProject` deliveries in flight (any process) is skipped: slow
   * subscribers of one project never hold every worker. Claims are serialised (a transaction-scoped
   * advisory lock), so two processes never both take a project's last slot.
   */
  async claimNext(leaseSeconds: number, perProject?: number): Promise<OutboxItem | undefined> {
    const limit = perProject === undefined ? '' : `
               AND (SELECT count(*) FROM pkgm_notifications o JOIN pkgm_subscriptions os ON os.id = o.subscription_id
                     WHERE os.project = sub.project AND o.state = 'sending' AND o.lease_until >= now()) < :perProject`;
    return inTransaction(this.sequelize, async (t) => {
      await this.sequelize.query(`SELECT pg_advisory_xact_lock(hashtextextended('pkgm_notifications.claim', 0))`, { transaction: t });
      const [row] = await this.sequelize.query<OutboxItem>(
        `WITH c AS (
           UPDATE pkgm_notifications SET state = 'sending', attempts = attempts + 1, lease_until = ${lease}
            WHERE seq = (
              SELECT n.seq FROM pkgm_notifications n JOIN pkgm_subscriptions sub ON sub.id = n.subscription_id
               WHERE n.next_attempt_at <= now() AND (n.state = 'pending' OR (n.state = 'sending' AND n.lease_until < now()))
                 AND NOT EXISTS (SELECT 1 FROM pkgm_notifications o WHERE o.subscription_id = n.subscription_id AND o.seq < n.seq AND o.state IN ('pending', 'sending'))${limit}
               ORDER BY n.next_attempt_at, n.seq FOR UPDATE OF n SKIP LOCKED LIMIT 1)
            RETURNING seq, subscription_id, body, attempts, api_version)
         SELECT c.seq, c.subscription_id, c.body, c.attempts, c.api_version, s.callback_uri, s.api_major, s.authentication
           FROM c JOIN pkgm_subscriptions s ON s.id = c.subscription_id`,
        { replacements: { lease: leaseSeconds, perProject: perProject ?? null }, type: QueryTypes.SELECT, transaction: t },
      );
      return row;
    });
  }

  async renewLease(seq: string, leaseSeconds: number): Promise<void> {
    await this.sequelize.query(`UPDATE pkgm_notifications SET lease_until = ${lease} WHERE seq = :seq AND state = 'sending'`, { replacements: { seq, lease: leaseSeconds } });
  }

  async markDelivered(seq: string): Promise<void> {
    await this.sequelize.query(`UPDATE pkgm_notifications SET state = 'delivered', delivered_at = now(), lease_until = NULL, last_error = NULL WHERE seq = :seq`, { replacements: { seq } });
  }

  /** Gives the row up: it is kept, with the last error, for inspection. */
  async markDead(seq: string, error: string): Promise<void> {
    await this.sequelize.query(`UPDATE pkgm_notifications SET state = 'dead', lease_until = NULL, last_error = :error WHERE seq = :seq`, { replacements: { seq, error } });
  }

  async retryLater(seq: string, error: string, delaySeconds: number): Promise<void> {
    await this.sequelize.query(
      `UPDATE pkgm_notifications SET state = 'pending', lease_until = NULL, last_error = :error, next_attempt_at = now() + (:delay * interval '1 second') WHERE seq = :seq`,
      { replacements: { seq, error, delay: delaySeconds } },
    );
  }

  /** Deletes delivered rows older than `days`; dead letters stay. */
  async sweepDelivered(days: number): Promise<void> {
    await this.sequelize.query(`DELETE FROM pkgm_notifications WHERE state = 'delivered' AND delivered_at < now() - (:days * interval '1 day')`, { replacements: { days } });
  }
}
