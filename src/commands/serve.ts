import { Flags } from '@oclif/core';
import { RecoCommand } from '../cli/base-command.js';
import { serveFlags, serveOptions } from '../cli/flags.js';

export default class Serve extends RecoCommand {
  static override summary = 'Serve the recommendation API (JWT auth, Prometheus metrics)';
  static override description = `Serves POST /create-client, POST /token, POST /recommendations, GET /movies, GET /healthz, GET /readyz, GET /openapi.json and GET /docs (see docs/api.md), and GET /metrics (Prometheus) on a port of its own, --metrics-port (default 9464), on the same --host.
The active model of the registry is loaded at start and swapped in without a restart when \`reco train\` or \`reco models activate\` activates another one; until a model is trained, the popularity fallback answers.
Running experiments (reco experiments start) are loaded with their variants' models and followed the same way; each list served inside one is recorded as an impression (--impressions), older impressions are deleted hourly (--impressions-retention-days).
JSON access logs go to stdout (stderr with --json, whose result is printed on shutdown). SIGTERM or Ctrl-C stops gracefully: in-flight requests finish first.
When PostgreSQL (DATABASE_URL) cannot be reached at start, reco serve says why on stderr and retries with backoff for --db-wait seconds before it gives up.
Environment: RECO_JWT_SECRET (required when NODE_ENV=production; otherwise generated once into <data dir>/jwt-secret), RECO_ADMIN_TOKEN (gates /create-client), RECO_TOKEN_TTL (seconds, default 3600), RECO_DB_WAIT (--db-wait), RECO_DB_POOL_SIZE (connections of its PostgreSQL pool, all opened at start and kept, default 10), RECO_DB_PREPARED_STATEMENTS (on|off, default on: off behind a pooler in transaction mode), DATABASE_URL, RECO_DATA_DIR, LOG_LEVEL.
On the embedded database, reco serve holds the database while it runs: other commands then need DATABASE_URL or must wait.`;
  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --port 8080 --host 0.0.0.0',
    'curl -s localhost:9464/metrics',
    'RECO_ADMIN_TOKEN=$(openssl rand -hex 16) <%= config.bin %> serve',
    'curl -s localhost:8000/readyz',
  ];
  static override flags = {
    ...serveFlags,
    'db-wait': Flags.integer({
      description:
        'seconds to keep retrying (0.5 s, 1 s, 2 s … at most 5 s apart) while PostgreSQL is unreachable at start; 0 fails at once',
      default: 60,
      min: 0,
      env: 'RECO_DB_WAIT',
    }),
  };

  async run() {
    const { flags } = await this.parse(Serve);
    // Imported here, not at the top: the server (Express, auth, models) is for this command only.
    const { serveUntilSignal } = await import('../server/run.js');
    return this.withDb(
      (db) =>
        serveUntilSignal(db, this.settings, {
          ...serveOptions(flags),
          logTo: this.jsonEnabled() ? 'stderr' : 'stdout',
          onListening: (url, metricsUrl) =>
            this.note(
              `reco serve: listening on ${url} (API docs at ${url}/docs; metrics at ${metricsUrl}; Ctrl-C to stop)`,
            ),
        }),
      {
        poolSize: this.settings.dbPoolSize,
        keepOpen: true,
        connectWaitMs: flags['db-wait'] * 1000,
        // On stderr even with --json: an operator watching a start-up needs to see why it waits.
        onConnectRetry: (reason, delayMs) =>
          process.stderr.write(
            `reco serve: ${reason}; retrying in ${(delayMs / 1000).toFixed(1)} s (--db-wait ${flags['db-wait']} s)\n`,
          ),
      },
    );
  }
}
