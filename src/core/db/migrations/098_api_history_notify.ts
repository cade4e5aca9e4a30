import type { Migration } from './types.js';

/**
 * The history-change NOTIFY of an API write, sent in the write's own statement (src/core/db/repositories), so that
 * it is delivered at the write's commit, atomically with it, without a transaction of its own: reco_notify_history
 * sends the users on migration 031's channel, in payloads under PostgreSQL's 8,000-byte limit (350 ids of at most
 * 20 characters each), and returns how many it sent. A payload is `<origin>;<ids>` when the writer gives an origin
 * (at most 64 characters: the server's, so that it can tell its own writes, which it has already accounted for,
 * from others'), else the ids alone, as migration 031's triggers send them. The write functions themselves still
 * notify nothing (migration 073): their callers wrap them.
 */
export const migration: Migration = {
  version: 98,
  name: 'api_history_notify',
  sql: `
CREATE FUNCTION reco_notify_history(p_users bigint[], p_origin text) RETURNS integer LANGUAGE sql VOLATILE AS $$
  SELECT count(pg_notify('reco_history_changed', coalesce(left(p_origin, 64) || ';', '') || c.ids))::integer
    FROM (SELECT string_agg(x.u::text, ',' ORDER BY x.i) AS ids
            FROM unnest(p_users) WITH ORDINALITY AS x(u, i)
           GROUP BY (x.i - 1) / 350) AS c
$$;
`,
};
