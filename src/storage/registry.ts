import * as path from 'node:path';
import type { Sequelize } from 'sequelize';
import { BlobStore } from './blob-store';
import { ContentStore } from './content-store';
import { DatabaseBlobStore } from './database-store';
import { FsBlobStore } from './fs-store';
import { parseS3Options, S3BlobStore } from './s3-store';

/**
 * The one place where storage drivers are registered (as Verdaccio and the Docker registry do for
 * theirs). A driver factory gets its own options from the config file's `stores.<name>` section.
 */
export type DriverFactory = (ctx: { dataDir: string; sequelize: Sequelize; options: Record<string, unknown> }) => BlobStore;

const drivers: Record<string, DriverFactory> = {
  fs: ({ dataDir, options }) => new FsBlobStore(path.resolve(String(options.root ?? path.join(dataDir, 'blobs')))),
  database: ({ sequelize }) => new DatabaseBlobStore(sequelize),
  s3: ({ options }) => new S3BlobStore(parseS3Options(options)),
};

export class StoreRegistry {
  private readonly stores = new Map<string, ContentStore>();

  constructor(private readonly ctx: { dataDir: string; sequelize: Sequelize; stores: Record<string, Record<string, unknown>> }) {}

  /** A store name is a driver name, or a name declared under `stores:` with a `driver:` key. */
  get(name: string): ContentStore {
    let store = this.stores.get(name);
    if (!store) {
      const options = this.ctx.stores[name] ?? {};
      const driverName = String(options.driver ?? name);
      const factory = drivers[driverName];
      if (!factory) throw new Error(`unknown blob store "${name}" (drivers: ${Object.keys(drivers).join(', ')})`);
      store = new ContentStore(name, factory({ dataDir: this.ctx.dataDir, sequelize: this.ctx.sequelize, options }));
      this.stores.set(name, store);
    }
    return store;
  }

  all(): ContentStore[] {
    return [...this.stores.values()];
  }
}
