import type { Sequelize } from 'sequelize';

/**
 * The generic artifact repository. Type-specific values live in `fields` (JSONB) so that adding an
 * artifact type needs no migration; what must be enforced under concurrency is enforced here, by
 * constraints, not by application code: name/version uniqueness, link integrity, one blob per path.
 */
export async function up(sequelize: Sequelize): Promise<void> {
  await sequelize.query(`
    CREATE TABLE artifacts (
      id            uuid PRIMARY KEY,
      type_name     varchar(64)  NOT NULL,
      owner         varchar(255) NOT NULL,
      name          varchar(255) NOT NULL,
      version       varchar(255) NOT NULL,
      version_key   varchar(255) COLLATE "C" NOT NULL,
      status        varchar(16)  NOT NULL DEFAULT 'drafted',
      visibility    varchar(16)  NOT NULL DEFAULT 'private',
      description   text         NOT NULL DEFAULT '',
      tags          jsonb        NOT NULL DEFAULT '[]',
      metadata      jsonb        NOT NULL DEFAULT '{}',
      fields        jsonb        NOT NULL DEFAULT '{}',
      revision      integer      NOT NULL DEFAULT 1,
      created_at    timestamptz  NOT NULL DEFAULT now(),
      updated_at    timestamptz  NOT NULL DEFAULT now(),
      activated_at  timestamptz
    );
    -- Build metadata does not count (SemVer 2.0 §10), hence version_key and not version.
    CREATE UNIQUE INDEX artifacts_unique_private ON artifacts (type_name, owner, name, version_key);
    CREATE UNIQUE INDEX artifacts_unique_public ON artifacts (type_name, name, version_key) WHERE visibility = 'public';
    CREATE INDEX artifacts_list ON artifacts (type_name, name, version_key);
    CREATE INDEX artifacts_owner ON artifacts (owner, type_name);
    CREATE INDEX artifacts_created ON artifacts (type_name, created_at, id);

    CREATE TABLE artifact_shares (
      artifact_id uuid NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
      project     varchar(255) NOT NULL,
      PRIMARY KEY (artifact_id, project)
    );
    CREATE INDEX artifact_shares_project ON artifact_shares (project);

    -- A link row exists for every internal link value; RESTRICT turns "delete a linked artifact" into
    -- a constraint error, which the engine answers with 409 unless an admin forces it.
    CREATE TABLE artifact_links (
      source_id  uuid NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
      field      varchar(64)  NOT NULL,
      key        varchar(255) NOT NULL DEFAULT '',
      target_id  uuid NOT NULL REFERENCES artifacts(id) ON DELETE RESTRICT,
      PRIMARY KEY (source_id, field, key)
    );
    CREATE INDEX artifact_links_target ON artifact_links (target_id);

    CREATE TABLE blobs (
      id            uuid PRIMARY KEY,
      artifact_id   uuid NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
      field         varchar(64) NOT NULL,
      path          varchar(2048) NOT NULL DEFAULT '',
      status        varchar(16) NOT NULL,
      store         varchar(32) NOT NULL,
      content_key   varchar(128),
      content_offset bigint,
      size          bigint NOT NULL DEFAULT 0,
      -- bytes reserved against the quota while an upload is in flight (status saving)
      reserved      bigint NOT NULL DEFAULT 0,
      digests       jsonb  NOT NULL DEFAULT '{}',
      content_type  varchar(255),
      heartbeat_at  timestamptz NOT NULL DEFAULT now(),
      created_at    timestamptz NOT NULL DEFAULT now(),
      updated_at    timestamptz NOT NULL DEFAULT now(),
      UNIQUE (artifact_id, field, path)
    );
    CREATE INDEX blobs_content ON blobs (store, content_key);
    CREATE INDEX blobs_saving ON blobs (status) WHERE status = 'saving';

    CREATE TABLE quotas (
      project      varchar(255) NOT NULL,
      type_name    varchar(64)  NOT NULL DEFAULT '*',
      max_artifacts bigint,
      max_bytes    bigint,
      PRIMARY KEY (project, type_name)
    );

    CREATE TABLE jobs (
      id           uuid PRIMARY KEY,
      kind         varchar(64) NOT NULL,
      artifact_id  uuid REFERENCES artifacts(id) ON DELETE CASCADE,
      state        varchar(16) NOT NULL DEFAULT 'queued',
      attempts     integer NOT NULL DEFAULT 0,
      payload      jsonb NOT NULL DEFAULT '{}',
      last_error   text,
      lease_until  timestamptz,
      created_at   timestamptz NOT NULL DEFAULT now(),
      updated_at   timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX jobs_claim ON jobs (state, created_at);

    CREATE TABLE blob_chunks (
      key   varchar(200) NOT NULL,
      seq   integer NOT NULL,
      data  bytea NOT NULL,
      PRIMARY KEY (key, seq)
    );
    CREATE TABLE blob_objects (
      key        varchar(200) PRIMARY KEY,
      size       bigint NOT NULL,
      mtime      timestamptz NOT NULL DEFAULT now()
    );
  `);
}

export async function down(sequelize: Sequelize): Promise<void> {
  await sequelize.query(`DROP TABLE IF EXISTS blob_objects, blob_chunks, jobs, quotas, blobs, artifact_links, artifact_shares, artifacts CASCADE`);
}
