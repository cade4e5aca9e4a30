-- The role that `reco serve` and the CronJobs connect as: reads and writes data, creates nothing, not a superuser.
-- Migrations run as the database owner (POSTGRES_USER of the Secret reco-postgres), in the API's init container.
-- Idempotent: setup.sh runs it on every deploy, after PostgreSQL is up and before the API is waited for:
--   psql -v app_role=… -v app_password=… -v owner=… -v dbname=… -f app-role.sql
-- Tables and sequences that later migrations create (as the owner) are covered by the default privileges.
SELECT format('CREATE ROLE %I LOGIN', :'app_role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_role') \gexec
ALTER ROLE :"app_role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'app_password';
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"dbname" TO :"app_role";
GRANT USAGE ON SCHEMA public TO :"app_role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app_role";
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO :"app_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO :"app_role";
-- Counters that are not data (login/registration rate limits, migration 042) live in the schema reco_transient,
-- outside backups. It is created here, owned by the owner, so the grants hold before the first migration runs.
SELECT format('CREATE SCHEMA IF NOT EXISTS reco_transient AUTHORIZATION %I', :'owner') \gexec
GRANT USAGE ON SCHEMA reco_transient TO :"app_role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA reco_transient TO :"app_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA reco_transient GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app_role";
