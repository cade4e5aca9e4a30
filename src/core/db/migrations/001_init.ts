import type { Migration } from './types.js';

/** The schema of docs/architecture.md, "Database". SQL accepted by PostgreSQL 15, 16 and 18 (PGlite 0.5). */
export const migration: Migration = {
  version: 1,
  name: 'init',
  sql: `
CREATE TABLE clients (
  id            serial PRIMARY KEY,
  username      text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$'),
  password_hash text,                         -- NULL: the client cannot log in (e.g. created by ingest)
  name          text,
  email         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  disabled      boolean NOT NULL DEFAULT false
);

CREATE TABLE movies (
  movie_id   integer PRIMARY KEY,             -- MovieLens movieId
  title      text NOT NULL,
  genres     text[] NOT NULL DEFAULT '{}',
  year       smallint,                        -- parsed from the title, "Toy Story (1995)"
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  id              bigserial PRIMARY KEY,
  client_id       integer NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  external_id     bigint NOT NULL,            -- the user id as the client (platform) knows it
  characteristic  real[],                     -- genre profile, see docs/features.md
  rating_count    integer NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (client_id, external_id)
);

CREATE TABLE ratings (                        -- the seed's movies_users_rating
  user_id   bigint  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  movie_id  integer NOT NULL REFERENCES movies(movie_id),
  rating    real    NOT NULL CHECK (rating >= 0.5 AND rating <= 5 AND rating * 2 = floor(rating * 2)),
  rated_at  timestamptz NOT NULL,
  PRIMARY KEY (user_id, movie_id)
);
CREATE INDEX ratings_movie_id_idx ON ratings (movie_id);

-- Ingest ledger: one row per run, one per file loaded. A file is loaded at most once (by checksum).
CREATE TABLE ingest_runs (
  id            bigserial PRIMARY KEY,
  started_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz,
  status        text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
  source        text NOT NULL,
  client_id     integer REFERENCES clients(id) ON DELETE SET NULL,
  files_loaded  integer NOT NULL DEFAULT 0,
  files_skipped integer NOT NULL DEFAULT 0,
  rows_read     bigint NOT NULL DEFAULT 0,
  rows_accepted bigint NOT NULL DEFAULT 0,
  rows_rejected bigint NOT NULL DEFAULT 0,
  duration_ms   integer,
  error         text
);

CREATE TABLE ingest_files (
  id            bigserial PRIMARY KEY,
  run_id        bigint NOT NULL REFERENCES ingest_runs(id) ON DELETE CASCADE,
  day           date,                         -- NULL for a flat folder (e.g. initial_data)
  kind          text NOT NULL CHECK (kind IN ('movies', 'ratings')),
  path          text NOT NULL,
  sha256        text NOT NULL,
  client_id     integer REFERENCES clients(id) ON DELETE CASCADE,
  rows_read     bigint NOT NULL,
  rows_accepted bigint NOT NULL,
  rows_rejected bigint NOT NULL,
  duration_ms   integer,
  loaded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX ingest_files_once ON ingest_files (kind, sha256, coalesce(client_id, 0));

-- Model registry (replaces the seed's MLflow folder). The artifact lives in the database so that every
-- server replica can load it without a shared disk.
CREATE TABLE models (
  version         text PRIMARY KEY,
  algorithm       text NOT NULL,
  params          jsonb NOT NULL DEFAULT '{}',
  metrics         jsonb NOT NULL DEFAULT '{}',
  data_counts     jsonb NOT NULL DEFAULT '{}',
  timings         jsonb NOT NULL DEFAULT '{}',
  artifact        bytea NOT NULL,
  artifact_sha256 text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  active          boolean NOT NULL DEFAULT false,
  activated_at    timestamptz,
  note            text
);
CREATE UNIQUE INDEX models_one_active ON models (active) WHERE active;

-- Runs of the scheduled jobs (train, backup, …) so the server can export their age and outcome.
CREATE TABLE job_runs (
  id          bigserial PRIMARY KEY,
  job         text NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
  details     jsonb NOT NULL DEFAULT '{}',
  error       text
);
CREATE INDEX job_runs_job_started_idx ON job_runs (job, started_at DESC);
`,
};
