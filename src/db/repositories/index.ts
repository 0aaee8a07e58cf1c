import type { Sequelize } from 'sequelize';
import { Sql } from '../sql';
import { ArtifactsRepository } from './artifacts';
import { BlobsRepository } from './blobs';
import { ContentRepository } from './content';
import { LinksRepository } from './links';
import { QuotasRepository } from './quotas';

/** The repositories of the artifact engine and the content store (one Sql over one database). */
export interface Repositories {
  artifacts: ArtifactsRepository;
  blobs: BlobsRepository;
  links: LinksRepository;
  quotas: QuotasRepository;
  content: ContentRepository;
}

export function repositories(sequelize: Sequelize): Repositories {
  const sql = new Sql(sequelize);
  return {
    artifacts: new ArtifactsRepository(sql),
    blobs: new BlobsRepository(sql),
    links: new LinksRepository(sql),
    quotas: new QuotasRepository(sql),
    content: new ContentRepository(sql),
  };
}
