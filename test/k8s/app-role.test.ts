import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { openDatabase } from '../../src/core/db/open.js';
import type { Database } from '../../src/core/db/types.js';
import { serverStats } from '../../src/core/db/repositories/server-stats.js';
import { call, seedCatalogue, startTestServer } from '../server/fixtures.js';
import { ADMIN_URL, createPgDatabase, tempDir } from '../helpers/engines.js';
import { ROOT } from '../helpers/cli.js';
import { hasCommand } from './support.js';

/**
 * The PostgreSQL role of the application in Kubernetes (k8s/postgres/app-role.sql, applied by setup.sh's
 * ensure_app_role): not a superuser, no DDL; the owner migrates. The API and the jobs work with it; creating a table does not.
 */
(hasCommand('psql') ? describe : describe.skip)('the application role of k8s/postgres/app-role.sql', () => {
  const role = `reco_app_t_${randomBytes(4).toString('hex')}`;
  let database: { url: string; drop(): Promise<void> };
  let owner: Database;
  let app: Database;

  const appUrl = () => {
    const u = new URL(database.url);
    u.username = role;
    u.password = 'app0password';
    return u.toString();
  };

  beforeAll(async () => {
    database = await createPgDatabase();
    // The owner migrates (the API's init container), then setup.sh applies the role's SQL.
    owner = await openDatabase({ databaseUrl: database.url, dataDir: tempDir() });
    // setup.sh's own function, with kubectl answering as the cluster would: the Secret's values, and `exec` running
    // the command locally (the PostgreSQL pod's environment: POSTGRES_USER and POSTGRES_DB, the owner's socket).
    const u = new URL(database.url);
    const env = {
      ...process.env,
      PGHOST: u.hostname,
      PGPORT: u.port || '5432',
      POSTGRES_USER: decodeURIComponent(u.username || 'postgres'),
      POSTGRES_DB: u.pathname.slice(1),
      APP_ROLE: role,
    };
    const fakeKubectl = `
      kubectl() {
        case "$*" in
          *"get secret reco-db-app"*POSTGRES_APP_USER*) printf %s "$APP_ROLE" | base64 ;;
          *"get secret reco-db-app"*POSTGRES_APP_PASSWORD*) printf %s app0password | base64 ;;
          *"exec -i statefulset/reco-postgres -c postgres -- "*) while [ "$1" != "--" ]; do shift; done; shift; "$@" ;;
          *) echo "unexpected kubectl $*" >&2; return 1 ;;
        esac
      }`;
    const ensure = () =>
      spawnSync('bash', ['-c', `set -euo pipefail; source ./setup.sh; ${fakeKubectl}; ensure_app_role`], {
        cwd: ROOT,
        env,
        encoding: 'utf8',
      });
    const first = ensure();
    if (first.status !== 0) throw new Error(`ensure_app_role: ${first.stderr}`);
    // Idempotent: setup.sh runs it on every deploy.
    const again = ensure();
    expect(again.stderr).not.toMatch(/ERROR|unexpected/);
    expect(again.status).toBe(0);
    // Opening an up-to-date database migrates nothing, so the role without DDL rights opens it.
    app = await openDatabase({ databaseUrl: appUrl(), dataDir: tempDir() });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await owner?.close();
    await database?.drop();
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  test('is not a superuser and cannot create or drop tables', async () => {
    const me = await app.query<{ rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean }>(
      'SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user',
    );
    expect(me.rows[0]).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false });
    await expect(app.query('CREATE TABLE intruder (id int)')).rejects.toThrow(/permission denied/);
    await expect(app.query('DROP TABLE ratings')).rejects.toThrow(/must be owner|permission denied/);
  });

  test('serves the API: registration, login, a new user with a history, the metrics', async () => {
    await seedCatalogue(owner);
    const server = await startTestServer(app);
    try {
      expect(
        (await call(server.url!, 'POST', '/create-client', { json: { username: 'acme', password: 'long enough pw' } }))
          .status,
      ).toBe(201);
      const token = (
        await call(server.url!, 'POST', '/token', { json: { username: 'acme', password: 'long enough pw' } })
      ).body.access_token;
      const r = await call(server.url!, 'POST', '/recommendations', {
        token,
        json: { history: [{ movie_id: 1, rating: 5 }], n: 3 },
      });
      expect(r.status).toBe(200);
      expect((await call(server.url!, 'GET', '/metrics')).body).toMatch(/^reco_catalogue_ratings 1$/m);
    } finally {
      await server.close();
    }
    expect((await serverStats(app)).catalogue.users).toBe(1);
  });

  test('can use the tables a later migration creates as the owner', async () => {
    await owner.query('CREATE TABLE later_feature (id bigserial PRIMARY KEY, note text)');
    await app.query(`INSERT INTO later_feature (note) VALUES ('x')`);
    expect((await app.query('SELECT count(*)::int AS n FROM later_feature')).rows[0]).toEqual({ n: 1 });
  });
});
