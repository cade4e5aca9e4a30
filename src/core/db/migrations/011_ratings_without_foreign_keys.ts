import type { Migration } from './types.js';

/**
 * `ratings` loses its two foreign keys and its movie_id index (docs/ingest.md, "Schema"): their per-row checks
 * made a bulk load several times slower than COPY (docs/benchmarks/ingest.md), and no query filters ratings by
 * movie alone. Integrity is kept by construction instead:
 * - every writer of ratings checks, set-based and in its own transaction, that the users and movies it names
 *   exist, and takes the same FOR KEY SHARE row locks the foreign keys took (src/core/db/repositories/ratings.ts);
 * - the delete paths keep the old semantics in statement-level triggers, which cost nothing on insert:
 *   deleting users (directly, or through clients ON DELETE CASCADE) deletes their ratings; deleting a movie
 *   that has ratings is refused; TRUNCATE users empties ratings, TRUNCATE movies is refused while ratings has
 *   rows; renumbering a user or a rated movie, or pointing a rating at another user/movie that does not exist,
 *   is refused (row triggers limited to key changes, which no code makes).
 * Refusals raise SQLSTATE 23503 (foreign_key_violation), as the foreign keys did.
 */
export const migration: Migration = {
  version: 11,
  name: 'ratings_without_foreign_keys',
  sql: `
ALTER TABLE ratings DROP CONSTRAINT ratings_user_id_fkey;
ALTER TABLE ratings DROP CONSTRAINT ratings_movie_id_fkey;
DROP INDEX ratings_movie_id_idx;

CREATE FUNCTION reco_delete_ratings_of_deleted_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM ratings r USING reco_deleted_users d WHERE r.user_id = d.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER users_delete_ratings
  AFTER DELETE ON users REFERENCING OLD TABLE AS reco_deleted_users
  FOR EACH STATEMENT EXECUTE FUNCTION reco_delete_ratings_of_deleted_users();

CREATE FUNCTION reco_refuse_delete_of_rated_movies() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM ratings r JOIN reco_deleted_movies d ON d.movie_id = r.movie_id) THEN
    RAISE EXCEPTION 'delete on table "movies" violates the integrity of "ratings": the movie has ratings'
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER movies_refuse_delete_of_rated
  AFTER DELETE ON movies REFERENCING OLD TABLE AS reco_deleted_movies
  FOR EACH STATEMENT EXECUTE FUNCTION reco_refuse_delete_of_rated_movies();

CREATE FUNCTION reco_truncate_ratings_with_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM ratings) THEN
    TRUNCATE ratings;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER users_truncate_ratings
  AFTER TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION reco_truncate_ratings_with_users();

CREATE FUNCTION reco_refuse_truncate_of_rated_movies() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM ratings) THEN
    RAISE EXCEPTION 'truncate of table "movies" violates the integrity of "ratings": truncate ratings too'
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER movies_refuse_truncate_of_rated
  AFTER TRUNCATE ON movies
  FOR EACH STATEMENT EXECUTE FUNCTION reco_refuse_truncate_of_rated_movies();

CREATE FUNCTION reco_refuse_user_key_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM ratings WHERE user_id = OLD.id) THEN
    RAISE EXCEPTION 'update of the key of table "users" violates the integrity of "ratings": the user has ratings'
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE FUNCTION reco_refuse_movie_key_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM ratings WHERE movie_id = OLD.movie_id) THEN
    RAISE EXCEPTION 'update of the key of table "movies" violates the integrity of "ratings": the movie has ratings'
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER users_refuse_key_change
  BEFORE UPDATE OF id ON users
  FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION reco_refuse_user_key_change();
CREATE TRIGGER movies_refuse_key_change
  BEFORE UPDATE OF movie_id ON movies
  FOR EACH ROW WHEN (OLD.movie_id IS DISTINCT FROM NEW.movie_id) EXECUTE FUNCTION reco_refuse_movie_key_change();

CREATE FUNCTION reco_check_rating_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM users WHERE id = NEW.user_id FOR KEY SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'update on table "ratings" violates the integrity of "ratings": user % does not exist', NEW.user_id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  PERFORM 1 FROM movies WHERE movie_id = NEW.movie_id FOR KEY SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'update on table "ratings" violates the integrity of "ratings": movie % does not exist', NEW.movie_id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER ratings_check_key_change
  BEFORE UPDATE OF user_id, movie_id ON ratings
  FOR EACH ROW WHEN ((OLD.user_id, OLD.movie_id) IS DISTINCT FROM (NEW.user_id, NEW.movie_id))
  EXECUTE FUNCTION reco_check_rating_keys();
`,
};
