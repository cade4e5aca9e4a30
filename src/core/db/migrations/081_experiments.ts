import type { Migration } from './types.js';

/**
 * A/B tests between registered models (docs/experiments.md).
 * - `experiments`: one row per test. `client_id` NULL covers every client. At most one running experiment per
 *   client, and an every-client one overlaps all: the unique index below covers the same client twice, the
 *   repository (under a lock) the every-client case.
 * - `experiment_variants`: the models under test and their traffic weights, in the order given.
 * - `impressions`: every list served inside an experiment (or every list, by the server's setting), written in
 *   batches off the request path. No foreign keys, like `ratings` (migration 011): deleting or truncating users
 *   takes their impressions with them through statement-level triggers, nothing per inserted row.
 */
export const migration: Migration = {
  version: 81,
  name: 'experiments',
  sql: `
CREATE TABLE experiments (
  id                         serial PRIMARY KEY,
  name                       text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
  client_id                  integer REFERENCES clients(id) ON DELETE CASCADE,
  status                     text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'stopped')),
  allocation                 text NOT NULL DEFAULT 'fixed' CHECK (allocation IN ('fixed')),
  attribution_window_seconds integer NOT NULL DEFAULT 604800 CHECK (attribution_window_seconds > 0),
  started_at                 timestamptz NOT NULL DEFAULT now(),
  stopped_at                 timestamptz,
  promoted_variant           text,
  CHECK ((status = 'stopped') = (stopped_at IS NOT NULL))
);
CREATE UNIQUE INDEX experiments_one_running_per_client ON experiments (coalesce(client_id, 0)) WHERE status = 'running';

CREATE TABLE experiment_variants (
  experiment_id integer NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
  name          text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
  model_version text NOT NULL REFERENCES models(version),
  weight        double precision NOT NULL CHECK (weight > 0),
  position      smallint NOT NULL,
  PRIMARY KEY (experiment_id, name),
  UNIQUE (experiment_id, position)
);

CREATE TABLE impressions (
  recommendation_id text NOT NULL,
  shown_at          timestamptz NOT NULL,
  client_id         integer NOT NULL,
  user_id           bigint NOT NULL,
  experiment_id     integer,
  variant           text,
  model_version     text NOT NULL,
  movie_ids         integer[] NOT NULL
);
CREATE INDEX impressions_experiment_idx ON impressions (experiment_id, shown_at) WHERE experiment_id IS NOT NULL;
CREATE INDEX impressions_user_idx ON impressions (user_id, shown_at);
CREATE INDEX impressions_recommendation_idx ON impressions (recommendation_id);
CREATE INDEX impressions_shown_at_idx ON impressions (shown_at);

CREATE FUNCTION reco_delete_impressions_of_deleted_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM impressions i USING reco_deleted_impression_users d WHERE i.user_id = d.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER users_delete_impressions
  AFTER DELETE ON users REFERENCING OLD TABLE AS reco_deleted_impression_users
  FOR EACH STATEMENT EXECUTE FUNCTION reco_delete_impressions_of_deleted_users();

CREATE FUNCTION reco_truncate_impressions_of_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Only when there is something left: a TRUNCATE of users that names impressions too (a restore) has emptied it.
  IF EXISTS (SELECT 1 FROM impressions) THEN
    TRUNCATE impressions;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER users_truncate_impressions
  AFTER TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION reco_truncate_impressions_of_users();
`,
};
