import { QueryTypes, Sequelize, Transaction } from 'sequelize';

/** The two ways repositories talk to PostgreSQL: named parameters always, the caller's transaction when given. */
export class Sql {
  constructor(readonly sequelize: Sequelize) {}

  select<T extends object>(sql: string, replacements: Record<string, unknown>, transaction?: Transaction): Promise<T[]> {
    return this.sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT, transaction });
  }

  exec(sql: string, replacements: Record<string, unknown>, transaction?: Transaction): Promise<unknown> {
    return this.sequelize.query(sql, { replacements, transaction });
  }

  /** An UPDATE, answering how many rows it changed. */
  async update(sql: string, replacements: Record<string, unknown>, transaction?: Transaction): Promise<number> {
    const [, affected] = await this.sequelize.query(sql, { replacements, type: QueryTypes.UPDATE, transaction });
    return affected;
  }
}
