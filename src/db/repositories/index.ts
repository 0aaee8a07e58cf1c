import type { Sequelize } from 'sequelize';
import { ArtifactsRepository } from './artifacts';
import { BlobsRepository } from './blobs';
import { ContentRepository } from './content';
import { LinksRepository } from './links';
import { QuotasRepository } from './quotas';

/** The repositories of the artifact engine and the content store. */
export interface Repositories {
  artifacts: ArtifactsRepository;
  blobs: BlobsRepository;
  links: LinksRepository;
  quotas: QuotasRepository;
  content: ContentRepository;
}

export function repositories(sequelize: Sequelize): Repositories {
  return {
    artifacts: new ArtifactsRepository(sequelize),
    blobs: new BlobsRepository(sequelize),
    links: new LinksRepository(sequelize),
    quotas: new QuotasRepository(sequelize),
    content: new ContentRepository(sequelize),
  };
}
