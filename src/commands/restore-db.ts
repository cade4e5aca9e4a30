import path from 'node:path';
import { Args, Flags } from '@oclif/core';
import { RecoCommand } from '../cli/base-command.js';
import { progressBar } from '../cli/progress.js';
import { restoreBackup } from '../core/backup/index.js';

export default class RestoreDb extends RecoCommand {
  static override summary = 'Restore the database from a reco backup archive';
  static override description = `Verifies the whole archive first (every checksum; a corrupted or truncated file is refused and nothing changes), migrates the database to the backup's schema version, then restores every table in one transaction (all or nothing), resets the id sequences, checks the row counts, and applies any newer migrations. A database that already holds data is refused unless --force, which replaces all of its data (the job_runs log of the target is kept).
Works across engines: an archive from the embedded engine restores into PostgreSQL (set DATABASE_URL) and back.`;
  static override examples = [
    '<%= config.bin %> restore-db data/backups/reco-backup-20261126T204333123Z.reco.gz',
    '<%= config.bin %> restore-db backup.reco.gz --force   # replace the data of a database in use',
    'DATABASE_URL=postgres://reco@db/reco <%= config.bin %> restore-db backup.reco.gz   # move an embedded install to PostgreSQL',
  ];
  static override args = {
    file: Args.string({ required: true, description: 'the archive (.reco.gz) written by reco backup-db' }),
  };
  static override flags = {
    force: Flags.boolean({ description: 'replace the data of a database that is not empty (in the same single transaction)' }),
  };

  async run() {
    const { args, flags } = await this.parse(RestoreDb);
    const file = path.resolve(args.file);
    // migrate:false: the target is migrated to the backup's schema version, not past it, before the data goes in.
    return this.withDb(async (db) => {
      const bar = progressBar({ label: 'Restoring', total: 1, enabled: !this.jsonEnabled(), unit: 'tables' });
      let r;
      try {
        r = await restoreBackup(db, file, {
          force: flags.force,
          onVerified: (m) => this.note(`Verified ${file}: ${m.tables.length} tables from ${m.engine}, ${m.createdAt}.`),
          onProgress: (p) => {
            bar.setTotal(p.total);
            bar.update(p.done, { table: p.table });
          },
        });
      } finally {
        bar.stop();
      }
      this.say(
        `Restored ${r.tables.length} tables (${r.rows} rows) from ${file} into ${db.engine === 'pglite' ? 'the embedded database' : 'PostgreSQL'} in ${(r.durationMs / 1000).toFixed(1)} s; ${r.sequences} sequences reset; schema version ${r.upgradedTo}.`,
      );
      return {
        file,
        engine: db.engine,
        backupCreatedAt: r.manifest.createdAt,
        backupEngine: r.manifest.engine,
        schemaVersion: r.upgradedTo,
        replaced: r.replaced,
        rows: r.rows,
        tables: r.tables,
        sequences: r.sequences,
        durationMs: r.durationMs,
      };
    }, { migrate: false, command: 'reco restore-db' });
  }
}
