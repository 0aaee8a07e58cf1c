import { QueryTypes, Sequelize } from 'sequelize';

/** The `settings` table: process-independent values (keys shared by every Depot process). */
export class SettingsRepository {
  constructor(private readonly sequelize: Sequelize) {}

  /**
   * The value of `key`, set to `initial()` first if it has none. The first process to insert
   * wins; every process then reads the same value.
   */
  async getOrInit(key: string, initial: () => string): Promise<string> {
    await this.sequelize.query(`INSERT INTO settings (key, value) VALUES (:key, :value) ON CONFLICT (key) DO NOTHING`, {
      replacements: { key, value: initial() },
    });
    const [row] = await this.sequelize.query<{ value: string }>(`SELECT value FROM settings WHERE key = :key`, { replacements: { key }, type: QueryTypes.SELECT });
    return row.value;
  }
}
