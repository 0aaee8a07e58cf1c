import { randomBytes } from 'node:crypto';
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

/**
 * A random 32-byte key under `key` in the settings table, shared by every Depot process (the first
 * creates it) and by the next start; read once, a failed read (database down) is tried again.
 */
export function sharedKey(sequelize: Sequelize, key: string): () => Promise<Buffer> {
  let cached: Promise<Buffer> | undefined;
  return () => {
    if (!cached) {
      const read = new SettingsRepository(sequelize).getOrInit(key, () => randomBytes(32).toString('base64')).then((v) => Buffer.from(v, 'base64'));
      read.catch(() => {
        if (cached === read) cached = undefined;
      });
      cached = read;
    }
    return cached;
  };
}
