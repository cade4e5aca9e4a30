import type { Migration } from './types.js';

/**
 * Client usernames are unique without regard to letter case, so "TENANT_A" cannot register beside "tenant_a"
 * and log in as a look-alike; lookups compare lower(username), which this index serves. Usernames are ASCII
 * (the CHECK of migration 1), so lower() is the same under every collation.
 * A database that already holds names differing only in case is not changed behind the operators' backs (the
 * names are credentials their platforms use): the migration fails, names every such group, and says how to
 * resolve it; nothing is applied until then.
 */
export const migration: Migration = {
  version: 41,
  name: 'client_username_case',
  sql: `
DO $$
DECLARE
  clashes text;
BEGIN
  SELECT string_agg(names, '; ' ORDER BY first_id) INTO clashes FROM (
    SELECT min(id) AS first_id, string_agg(format('"%s" (id %s)', username, id), ', ' ORDER BY id) AS names
      FROM clients GROUP BY lower(username) HAVING count(*) > 1
  ) d;
  IF clashes IS NOT NULL THEN
    RAISE EXCEPTION 'client usernames must differ in more than letter case, and these do not: %. Rename all but one of each group (UPDATE clients SET username = ''new-name'' WHERE id = N) and run the migrations again', clashes;
  END IF;
END
$$;

CREATE UNIQUE INDEX clients_username_lower_key ON clients (lower(username));
`,
};
