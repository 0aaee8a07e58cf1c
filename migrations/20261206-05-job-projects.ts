import type { Sequelize } from 'sequelize';

/**
 * Jobs are taken fairly across projects (src/db/repositories/jobs.ts, claimNext): each job row says
 * whose work it is (the owner of its artifact, filled on enqueue) and when it was last taken, so a
 * claim can skip projects at their limit and serve the project served least recently first.
 */
export async function up(sequelize: Sequelize): Promise<void> {
  await sequelize.query(`
    -- '' for a job without an artifact: one group of its own (equality, not IS NOT DISTINCT FROM, keeps the indexes usable)
    ALTER TABLE jobs ADD COLUMN project varchar(255) NOT NULL DEFAULT '';
    ALTER TABLE jobs ADD COLUMN started_at timestamptz;
    UPDATE jobs j SET project = a.owner FROM artifacts a WHERE a.id = j.artifact_id;
    CREATE INDEX jobs_running ON jobs (project, kind) WHERE state = 'running';
    CREATE INDEX jobs_project_started ON jobs (project, kind, started_at);
  `);
}

export async function down(sequelize: Sequelize): Promise<void> {
  await sequelize.query(`
    DROP INDEX IF EXISTS jobs_project_started;
    DROP INDEX IF EXISTS jobs_running;
    ALTER TABLE jobs DROP COLUMN IF EXISTS started_at;
    ALTER TABLE jobs DROP COLUMN IF EXISTS project;
  `);
}
