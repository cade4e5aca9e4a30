import { RecoCommand } from '../../cli/base-command.js';
import { migrate } from '../../core/db/index.js';

export default class DbMigrate extends RecoCommand {
  static override summary = 'Apply pending database migrations';
  static override description =
    'Every command migrates automatically before it touches the database; run this to do it on its own, e.g. before a deploy. Safe to run from several processes at once (an advisory lock serialises them).';
  static override examples = [
    '<%= config.bin %> db migrate',
    'DATABASE_URL=postgres://reco@db:5432/reco <%= config.bin %> db migrate --json',
  ];

  async run() {
    await this.parse(DbMigrate);
    return this.withDb(
      async (db) => {
        const applied = await migrate(db);
        if (applied.length === 0) this.say(`Schema is up to date (${db.engine}, ${db.location}).`);
        for (const m of applied) this.say(`applied ${m.version} ${m.name}`);
        return {
          engine: db.engine,
          location: db.location,
          applied: applied.map((m) => ({ version: m.version, name: m.name })),
        };
      },
      { migrate: false },
    );
  }
}
