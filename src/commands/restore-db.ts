import path from 'node:path';
import { Args, Flags } from '@oclif/core';
import { RecoCommand } from '../cli/base-command.js';
import { progressBar, type Progress } from '../cli/progress.js';
import { canPrompt, promptConfirm } from '../cli/prompts.js';
import { NotEmptyError, restoreBackup } from '../core/backup/index.js';
import { RecoError } from '../core/errors.js';

export default class RestoreDb extends RecoCommand {
  static override summary = 'Restore the database from a reco backup archive';
  static override description = `Verifies the whole archive first (every checksum; a corrupted or truncated file is refused and nothing changes), migrates the database to the backup's schema version, then restores every table in one transaction (all or nothing), resets the id sequences, checks the row counts, and applies any newer migrations. A database that already holds data is refused unless --force, which replaces all of its data (the job_runs log of the target is kept).
When RECO_BACKUP_KEY is set, only archives signed with that key are restored.
Works across engines: an archive from the embedded engine restores into PostgreSQL (set DATABASE_URL) and back; the embedded engine refuses a backup of more than 32M ratings (exit 4: restore it into PostgreSQL).`;
  static override examples = [
    '<%= config.bin %> restore-db data/backups/reco-backup-20261126T204333123Z.reco.gz',
    '<%= config.bin %> restore-db backup.reco.gz --force   # replace the data of a database that holds data (asked on a terminal)',
    'DATABASE_URL=postgres://reco@db/reco <%= config.bin %> restore-db backup.reco.gz   # move an embedded install to PostgreSQL',
  ];
  static override args = {
    file: Args.string({ required: true, description: 'the archive (.reco.gz) written by reco backup-db' }),
  };
  static override flags = {
    force: Flags.boolean({
      description: 'replace the data of a database that is not empty (in the same single transaction)',
    }),
  };

  async run() {
    const { args, flags } = await this.parse(RestoreDb);
    const file = path.resolve(args.file);
    // migrate:false: the target is migrated to the backup's schema version, not past it, before the data goes in.
    return this.withDb(
      async (db) => {
        // Started at the first table, so nothing is drawn before a refusal or a prompt.
        let bar: Progress | undefined;
        const restore = (force: boolean) =>
          restoreBackup(db, file, {
            force,
            key: this.settings.backupKey,
            onVerified: (m, signature) => {
              this.note(
                `Verified ${file}: ${m.tables.length} tables from ${m.engine}, ${m.createdAt}${signature === 'valid' ? ', signature valid' : ''}.`,
              );
              if (signature === 'unchecked')
                this.note('The archive is signed, but RECO_BACKUP_KEY is not set: the signature was not checked.');
            },
            onProgress: (p) => {
              bar ??= progressBar({ label: 'Restoring', total: p.total, enabled: !this.jsonEnabled(), unit: 'tables' });
              bar.update(p.done, { table: p.table });
            },
          });
        let r;
        try {
          r = await restore(flags.force).catch(async (err) => {
            // A person at a terminal is asked instead of being sent back for --force; scripts get the error.
            if (!(err instanceof NotEmptyError) || !canPrompt({ json: this.jsonEnabled() })) throw err;
            const yes = await promptConfirm(
              `The database is not empty (${err.tables.join(', ')}). Replace all of its data with the backup's?`,
            );
            if (!yes) throw new RecoError('nothing restored: the database is not empty and you chose to keep it');
            return restore(true);
          });
        } finally {
          bar?.stop();
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
      },
      { migrate: false, command: 'reco restore-db' },
    );
  }
}
