import type { Sequelize } from 'sequelize';

/**
 * A blob may be a composite of stored objects: `segments` lists [{key, offset, length}] whose
 * concatenation is the blob's bytes. A CSAR is kept that way after onboarding: its small "skeleton"
 * (zip headers, deflated files) plus the objects of its large stored entries (VM images), which are
 * content-addressed, so an image shared by several package versions is stored once, and the package
 * is still served byte-exact.
 */
export async function up(sequelize: Sequelize): Promise<void> {
  await sequelize.query(`
    ALTER TABLE blobs ADD COLUMN segments jsonb;
    CREATE INDEX blobs_segments ON blobs USING gin (segments jsonb_path_ops) WHERE segments IS NOT NULL;
  `);
}

export async function down(sequelize: Sequelize): Promise<void> {
  await sequelize.query(`DROP INDEX IF EXISTS blobs_segments; ALTER TABLE blobs DROP COLUMN IF EXISTS segments`);
}
