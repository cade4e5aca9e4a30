import path from 'node:path';
import { Flags } from '@oclif/core';
import { RecoCommand } from '../cli/base-command.js';
import { progressBar, type Progress } from '../cli/progress.js';
import { createBackup, verifyArchive } from '../core/backup/index.js';
import { dataPaths } from '../core/config.js';

function summary(m: { tables: { name: string; rows: number; sha256: string }[] }) {
  return m.tables.map((t) => ({ name: t.name, rows: t.rows, sha256: t.sha256 }));
}

export default class BackupDb extends RecoCommand {
  static override summary = 'Back up the database to a verified, compressed archive';
  static override description = `Takes a consistent snapshot of every table (one repeatable-read transaction, so ingest or the API may keep writing), writes it atomically as <out>/reco-backup-<UTC time>.reco.gz with a manifest (schema version, engine, row count and SHA-256 per table), and prints where it went. The archive is the same from the embedded engine and from PostgreSQL: restore it on either with \`reco restore-db\`.
The archive is written with mode 0600 and, when RECO_BACKUP_KEY is set, signed (HMAC-SHA-256 of the manifest).
--verify FILE checks an archive (gzip integrity, every checksum and row count, and the signature when RECO_BACKUP_KEY is set) without a database. The format is described in docs/backup.md.`;
  static override examples = [
    '<%= config.bin %> backup-db',
    '<%= config.bin %> backup-db --out /var/backups/reco --keep 7',
    'DATABASE_URL=postgres://reco@db/reco <%= config.bin %> backup-db --format sql   # the archive plus a pg_dump file',
    '<%= config.bin %> backup-db --verify data/backups/reco-backup-20261126T204333123Z.reco.gz',
    '<%= config.bin %> backup-db --json | jq -r .file',
  ];
  static override flags = {
    out: Flags.string({ char: 'o', description: 'directory for the archive [default: $RECO_DATA_DIR/backups]' }),
    keep: Flags.integer({
      description: 'keep only the newest N archives in --out (the new one counts; older ones are deleted)',
      min: 1,
    }),
    format: Flags.string({
      description:
        'archive: the reco archive only; sql: also a plain pg_dump file beside it (PostgreSQL with pg_dump installed)',
      options: ['archive', 'sql'],
      default: 'archive',
    }),
    verify: Flags.string({
      description: 'check this archive (checksums, row counts, truncation) and exit; no database is opened',
      exclusive: ['out', 'keep', 'format'],
    }),
  };

  async run() {
    const { flags } = await this.parse(BackupDb);
    if (flags.verify) {
      const v = await verifyArchive(path.resolve(flags.verify), { key: this.settings.backupKey });
      const rows = v.manifest.tables.reduce((n, t) => n + t.rows, 0);
      const signed = v.signature === 'valid' ? ' and the signature is valid' : '';
      this.say(
        `OK: ${v.file} — ${v.manifest.tables.length} tables, ${rows} rows, schema version ${v.manifest.schema.version}, from ${v.manifest.engine} at ${v.manifest.createdAt}; every checksum matches${signed}.`,
      );
      if (v.signature === 'unchecked')
        this.note('The archive is signed, but RECO_BACKUP_KEY is not set: the signature was not checked.');
      return {
        ok: true,
        signature: v.signature,
        file: v.file,
        bytes: v.size,
        createdAt: v.manifest.createdAt,
        engine: v.manifest.engine,
        schemaVersion: v.manifest.schema.version,
        recoVersion: v.manifest.reco.version,
        rows,
        tables: summary(v.manifest),
      };
    }
    const outDir = path.resolve(flags.out ?? dataPaths(this.settings.dataDir).backups);
    return this.withDb(
      async (db) => {
        // Started at the first table, so nothing is drawn before a refusal or a prompt.
        let bar: Progress | undefined;
        let r;
        try {
          r = await createBackup(db, {
            outDir,
            keep: flags.keep,
            key: this.settings.backupKey,
            sqlDump: flags.format === 'sql' ? { databaseUrl: this.settings.databaseUrl } : undefined,
            onProgress: (p) => {
              bar ??= progressBar({
                label: 'Backing up',
                total: p.total,
                enabled: !this.jsonEnabled(),
                unit: 'tables',
              });
              bar.update(p.done, { table: p.table });
            },
          });
        } finally {
          bar?.stop();
        }
        const rows = r.manifest.tables.reduce((n, t) => n + t.rows, 0);
        this.say(
          `Backed up ${r.manifest.tables.length} tables (${rows} rows, schema version ${r.manifest.schema.version}) to ${r.file} (${(r.size / 1024).toFixed(0)} KiB) in ${(r.durationMs / 1000).toFixed(1)} s.`,
        );
        if (r.sqlDump?.file) this.say(`pg_dump file: ${r.sqlDump.file}`);
        if (r.sqlDump?.skipped) this.note(`No SQL dump: ${r.sqlDump.skipped}.`);
        for (const f of r.pruned) this.note(`Pruned ${f}`);
        return {
          file: r.file,
          bytes: r.size,
          durationMs: r.durationMs,
          createdAt: r.manifest.createdAt,
          engine: r.manifest.engine,
          schemaVersion: r.manifest.schema.version,
          rows,
          tables: summary(r.manifest),
          signed: r.signed,
          pruned: r.pruned,
          sqlDump: r.sqlDump ?? null,
        };
      },
      { command: 'reco backup-db' },
    );
  }
}
