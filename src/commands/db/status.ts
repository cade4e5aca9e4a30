import { RecoCommand } from '../../cli/base-command.js';
import { formatTable } from '../../cli/table.js';
import { migrationStatus } from '../../core/db/index.js';
import { rowCounts, serverVersion } from '../../core/db/repositories/status.js';

export default class DbStatus extends RecoCommand {
  static override summary = 'Show the database engine, location, migrations and row counts';
  static override description =
    'Without DATABASE_URL reco uses the embedded PostgreSQL (PGlite) under $RECO_DATA_DIR/db; with it, that PostgreSQL server. This command does not migrate, so it shows pending migrations as they are.';
  static override examples = ['<%= config.bin %> db status', '<%= config.bin %> db status --json'];

  async run() {
    await this.parse(DbStatus);
    return this.withDb(
      async (db) => {
        const status = await migrationStatus(db);
        const counts = await rowCounts(db);
        const version = await serverVersion(db);
        const result = {
          engine: db.engine,
          location: db.location,
          serverVersion: version,
          schemaVersion: status.current,
          latestVersion: status.latest,
          applied: status.applied.map((a) => ({ version: a.version, name: a.name, appliedAt: a.applied_at })),
          pending: status.pending.map((p) => ({ version: p.version, name: p.name })),
          changed: status.changed.map((c) => ({ version: c.version, name: c.name })),
          rowCounts: counts,
        };
        this.say(`engine     ${db.engine} (PostgreSQL ${version})`);
        this.say(`location   ${db.location}`);
        this.say(
          `schema     version ${status.current} of ${status.latest}${status.current > status.latest ? ' (NEWER than this reco: upgrade reco)' : ''}`,
        );
        this.say(`applied    ${status.applied.map((a) => `${a.version} ${a.name}`).join(', ') || 'none'}`);
        if (status.changed.length)
          this.say(
            `CHANGED    ${status.changed.map((c) => `${c.version} ${c.name}`).join(', ')} (the migration file differs from what was applied: every other command refuses to start)`,
          );
        this.say(
          `pending    ${status.pending.map((p) => `${p.version} ${p.name}`).join(', ') || 'none'}${status.pending.length ? ' (run `reco db migrate`, or any command)' : ''}`,
        );
        this.say('');
        this.say(
          formatTable(
            Object.entries(counts).map(([table, rows]) => ({ table, rows: rows ?? '(missing)' })),
            [{ key: 'table' }, { key: 'rows', align: 'right' }],
          ),
        );
        return result;
      },
      { migrate: false },
    );
  }
}
