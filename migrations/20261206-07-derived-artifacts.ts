import type { Sequelize } from 'sequelize';

/**
 * Derived artifacts (ArtifactEngine.derive): artifacts another one brings with it, e.g. the software
 * images of an onboarded VNF package, served as Image API images. They follow their source's status,
 * visibility and sharing, are read-only, and go with it: the foreign key removes them (and, through
 * the existing cascades, their blob rows and shares) when the source row is deleted.
 */
export async function up(sequelize: Sequelize): Promise<void> {
  await sequelize.query(`
    ALTER TABLE artifacts ADD COLUMN derived_from uuid REFERENCES artifacts(id) ON DELETE CASCADE;
    CREATE INDEX artifacts_derived_from ON artifacts (derived_from) WHERE derived_from IS NOT NULL;
  `);
}

export async function down(sequelize: Sequelize): Promise<void> {
  await sequelize.query(`
    DROP INDEX IF EXISTS artifacts_derived_from;
    ALTER TABLE artifacts DROP COLUMN IF EXISTS derived_from;
  `);
}
