import type { Sequelize } from 'sequelize';

/** Service-wide settings shared by every Depot process on the database (e.g. the paging-marker key). */
export async function up(sequelize: Sequelize): Promise<void> {
  await sequelize.query(`CREATE TABLE settings (key varchar(64) PRIMARY KEY, value text NOT NULL)`);
}

export async function down(sequelize: Sequelize): Promise<void> {
  await sequelize.query(`DROP TABLE IF EXISTS settings`);
}
