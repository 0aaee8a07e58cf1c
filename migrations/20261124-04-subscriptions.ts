import type { Sequelize } from 'sequelize';

/**
 * SOL005 subscriptions and the transactional outbox of their notifications. A notification row is
 * inserted in the same transaction as the package state change it reports (one row per matching
 * subscription, all with the same notification id); the dispatcher claims rows with FOR UPDATE
 * SKIP LOCKED, one at a time per subscription (seq order), and retries with backoff until `dead`.
 * Deleting a subscription deletes its undelivered notifications (no notification after deletion).
 */
export async function up(sequelize: Sequelize): Promise<void> {
  await sequelize.query(`
    CREATE TABLE pkgm_subscriptions (
      id            uuid PRIMARY KEY,
      project       varchar(255) NOT NULL,
      created_by    varchar(255) NOT NULL,
      -- an admin's subscription hears about every project's packages (admins see every package)
      all_projects  boolean      NOT NULL DEFAULT false,
      api_major     smallint     NOT NULL,
      callback_uri  text         NOT NULL,
      filter        jsonb,
      -- canonical JSON of the filter: same callbackUri + same filter = duplicate (303)
      filter_key    text         NOT NULL,
      -- subscriber credentials (paramsBasic); never returned by the API
      authentication jsonb,
      created_at    timestamptz  NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX pkgm_subscriptions_unique ON pkgm_subscriptions (project, api_major, md5(callback_uri), md5(filter_key));
    CREATE INDEX pkgm_subscriptions_list ON pkgm_subscriptions (project, api_major, created_at, id);

    CREATE TABLE pkgm_notifications (
      seq             bigserial    PRIMARY KEY,
      notification_id uuid         NOT NULL,
      subscription_id uuid         NOT NULL REFERENCES pkgm_subscriptions(id) ON DELETE CASCADE,
      body            jsonb        NOT NULL,
      -- pending → sending → delivered | (pending again with a later next_attempt_at) | dead
      state           varchar(16)  NOT NULL DEFAULT 'pending',
      attempts        integer      NOT NULL DEFAULT 0,
      next_attempt_at timestamptz  NOT NULL DEFAULT now(),
      lease_until     timestamptz,
      last_error      text,
      created_at      timestamptz  NOT NULL DEFAULT now(),
      delivered_at    timestamptz
    );
    CREATE INDEX pkgm_notifications_due ON pkgm_notifications (subscription_id, seq) WHERE state IN ('pending', 'sending');
    CREATE INDEX pkgm_notifications_open ON pkgm_notifications (next_attempt_at, seq) WHERE state IN ('pending', 'sending');
  `);
}

export async function down(sequelize: Sequelize): Promise<void> {
  await sequelize.query(`DROP TABLE IF EXISTS pkgm_notifications; DROP TABLE IF EXISTS pkgm_subscriptions;`);
}
