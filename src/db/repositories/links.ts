import type { Sequelize, Transaction } from 'sequelize';
import type { Principal } from '../../common/principal';
import { Sql } from '../sql';
import { visibleSql } from './artifacts';

export interface IncomingLink {
  source_id: string;
  field: string;
  key: string;
  type_name: string;
}

/** `artifact_shares` (who an artifact is shared with) and `artifact_links` (one row per internal link). */
export class LinksRepository {
  private readonly sql: Sql;

  constructor(sequelize: Sequelize) {
    this.sql = new Sql(sequelize);
  }

  async replaceShares(t: Transaction, id: string, projects: string[]): Promise<void> {
    await this.sql.exec('DELETE FROM artifact_shares WHERE artifact_id = :id', { id }, t);
    for (const project of new Set(projects)) await this.sql.exec('INSERT INTO artifact_shares (artifact_id, project) VALUES (:id, :project)', { id, project }, t);
  }

  async deleteFrom(t: Transaction, sourceId: string): Promise<void> {
    await this.sql.exec('DELETE FROM artifact_links WHERE source_id = :id', { id: sourceId }, t);
  }

  async insert(t: Transaction, sourceId: string, field: string, key: string, targetId: string): Promise<void> {
    await this.sql.exec('INSERT INTO artifact_links (source_id, field, key, target_id) VALUES (:id, :field, :key, :tid)', { id: sourceId, field, key, tid: targetId }, t);
  }

  /** Every link pointing at the artifact, whoever can see its source (integrity, not display). */
  incoming(t: Transaction, targetId: string): Promise<IncomingLink[]> {
    return this.sql.select<IncomingLink>(
      'SELECT l.source_id, l.field, l.key, a.type_name FROM artifact_links l JOIN artifacts a ON a.id = l.source_id WHERE l.target_id = :id', { id: targetId }, t,
    );
  }

  async deleteTo(t: Transaction, targetId: string): Promise<void> {
    await this.sql.exec('DELETE FROM artifact_links WHERE target_id = :id', { id: targetId }, t);
  }

  /** The sources of links to the artifact that the principal can see, oldest first. */
  linkedFrom(p: Principal, targetId: string): Promise<{ id: string; type_name: string; field: string; key: string }[]> {
    const r: Record<string, unknown> = { id: targetId };
    return this.sql.select(`SELECT a.id, a.type_name, l.field, l.key FROM artifact_links l JOIN artifacts a ON a.id = l.source_id WHERE l.target_id = :id AND ${visibleSql(p, r)} ORDER BY a.created_at`, r);
  }
}
