import type { Sequelize } from 'sequelize';

/**
 * One subscription table and one outbox for every SOL005 API that notifies (VNF package
 * management `vnfpkgm`, NSD management `nsd`): a subscription belongs to its API and major; a
 * notification row carries the `Version` it is sent with (its body is that version's data model),
 * so one dispatcher delivers every API's notifications.
 */
export async function up(sequelize: Sequelize): Promise<void> {
  await sequelize.query(`
    ALTER TABLE pkgm_subscriptions ADD COLUMN api varchar(16) NOT NULL DEFAULT 'vnfpkgm';
    DROP INDEX pkgm_subscriptions_unique;
    CREATE UNIQUE INDEX pkgm_subscriptions_unique ON pkgm_subscriptions (api, project, api_major, md5(callback_uri), md5(filter_key));
    DROP INDEX pkgm_subscriptions_list;
    CREATE INDEX pkgm_subscriptions_list ON pkgm_subscriptions (api, project, api_major, created_at, id);
    ALTER TABLE pkgm_notifications ADD COLUMN api_version varchar(16);
    -- rows still to be sent were written for VNF package management (1.3.0 under /v1, 2.1.0 under /v2)
    UPDATE pkgm_notifications n SET api_version = CASE s.api_major WHEN 1 THEN '1.3.0' ELSE '2.1.0' END
      FROM pkgm_subscriptions s WHERE s.id = n.subscription_id AND n.state IN ('pending', 'sending');
  `);
}

export async function down(sequelize: Sequelize): Promise<void> {
  await sequelize.query(`
    ALTER TABLE pkgm_notifications DROP COLUMN IF EXISTS api_version;
    DELETE FROM pkgm_subscriptions WHERE api <> 'vnfpkgm';
    DROP INDEX pkgm_subscriptions_list;
    CREATE INDEX pkgm_subscriptions_list ON pkgm_subscriptions (project, api_major, created_at, id);
    DROP INDEX pkgm_subscriptions_unique;
    CREATE UNIQUE INDEX pkgm_subscriptions_unique ON pkgm_subscriptions (project, api_major, md5(callback_uri), md5(filter_key));
    ALTER TABLE pkgm_subscriptions DROP COLUMN api;
  `);
}
