/**
 * bench:backup — `reco backup-db` and `reco restore-db` of the full ml-latest-small database (9,742 movies,
 * 610 users, 100,836 ratings), on the embedded engine (PGlite, persisted to a temp directory as the CLI uses it)
 * and on the local PostgreSQL. Targets (docs/benchmarks/backup.md): backup and restore each under 10 s embedded,
 * under 5 s on PostgreSQL. Printed as ratios to the target, and to reference runs in the same process on the same
 * database: the raw COPY of every table out (hashing only, no gzip, no file) for the backup, and the load of the
 * same data by COPY from the MovieLens CSV files for the restore.
 *
 *   npm run bench:backup [-- --no-pglite] [--no-postgres]
 * RECO_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres) is the server to make databases on.
 */
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { createBackup, restoreBackup, tableDigests, verifyArchive } from '../src/core/backup/index.js';
import type { EngineName } from '../src/core/db/types.js';
import { runCli } from '../test/helpers/cli.js';
import { createPgDatabase, createTestDatabase, tempDir } from '../test/helpers/engines.js';
import { dataDigests, loadMovieLens } from '../test/backup/movielens.js';

const args = process.argv.slice(2);
const TARGET_S: Record<EngineName, number> = { pglite: 10, postgres: 5 };

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, (performance.now() - t0) / 1000];
}

async function benchEngine(engine: EngineName) {
  const source = await createTestDatabase(engine, { persist: true });
  const target = await createTestDatabase(engine, { persist: true });
  const dir = tempDir('reco-bench-backup-');
  try {
    const [loaded, loadS] = await timed(() => loadMovieLens(source.db));
    const [digests, copyOutS] = await timed(() => tableDigests(source.db));
    const [backup, backupS] = await timed(() => createBackup(source.db, { outDir: dir }));
    const [, verifyS] = await timed(() => verifyArchive(backup.file));
    const [restored, restoreS] = await timed(() => restoreBackup(target.db, backup.file));
    const same = JSON.stringify(dataDigests(await tableDigests(target.db))) === JSON.stringify(dataDigests(digests));
    if (!same) throw new Error(`${engine}: the restored database differs from the source`);
    const cli = await benchCli(engine, source);
    return {
      engine,
      loaded,
      rows: restored.rows,
      archiveBytes: backup.size,
      loadS,
      copyOutS,
      backupS,
      verifyS,
      restoreS,
      cli,
    };
  } finally {
    await source.drop();
    await target.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The commands end to end as an operator runs them: a new process (through tsx, as the tests run it; the built
 * CLI starts faster), opening the database, the work, closing. The embedded source is closed first (its lock).
 */
async function benchCli(engine: EngineName, source: Awaited<ReturnType<typeof createTestDatabase>>) {
  const out = tempDir('reco-bench-backup-cli-');
  const fresh =
    engine === 'pglite' ? { dataDir: tempDir('reco-bench-restore-'), drop: async () => {} } : await createPgDatabase();
  try {
    const env = engine === 'pglite' ? { RECO_DATA_DIR: source.dataDir! } : { DATABASE_URL: source.url! };
    if (engine === 'pglite') await source.db.close();
    const [b, backupS] = await timed(() => runCli(['backup-db', '--out', out, '--json'], { env }));
    if (b.code !== 0) throw new Error(`reco backup-db failed: ${b.stderr}`);
    const file = JSON.parse(b.stdout).file as string;
    const restoreEnv = 'url' in fresh ? { DATABASE_URL: fresh.url } : { RECO_DATA_DIR: fresh.dataDir };
    const [r, restoreS] = await timed(() => runCli(['restore-db', file, '--json'], { env: restoreEnv }));
    if (r.code !== 0) throw new Error(`reco restore-db failed: ${r.stderr}`);
    const [, startS] = await timed(() => runCli(['backup-db', '--help']));
    return { backupS, restoreS, startS };
  } finally {
    await fresh.drop();
    if ('dataDir' in fresh) fs.rmSync(fresh.dataDir, { recursive: true, force: true });
    fs.rmSync(out, { recursive: true, force: true });
  }
}

const engines = (['pglite', 'postgres'] as const).filter((e) => !args.includes(`--no-${e}`));
console.log(
  `machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}, node ${process.version}, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
const f = (s: number) => `${s.toFixed(2)} s`;
let failed = false;
for (const engine of engines) {
  const r = await benchEngine(engine);
  const target = TARGET_S[engine];
  console.log(
    `\n${engine}: ${r.loaded.movies} movies, ${r.loaded.users} users, ${r.loaded.ratings} ratings (${r.rows} rows restored in all tables); archive ${(r.archiveBytes / 1024).toFixed(0)} KiB`,
  );
  console.log(
    `  backup  ${f(r.backupS)}  = ${(r.backupS / target).toFixed(2)} × target (${target} s)  = ${(r.backupS / r.copyOutS).toFixed(2)} × raw COPY out (${f(r.copyOutS)})`,
  );
  console.log(
    `  restore ${f(r.restoreS)}  = ${(r.restoreS / target).toFixed(2)} × target (${target} s)  = ${(r.restoreS / r.loadS).toFixed(2)} × loading the CSV files by COPY (${f(r.loadS)})`,
  );
  console.log(`  (restore includes its full verification pass; verify alone ${f(r.verifyS)})`);
  console.log(
    `  CLI end to end (new process, open, work, close): reco backup-db ${f(r.cli.backupS)} = ${(r.cli.backupS / target).toFixed(2)} × target, reco restore-db ${f(r.cli.restoreS)} = ${(r.cli.restoreS / target).toFixed(2)} × target; of which process start (reco backup-db --help) ${f(r.cli.startS)}`,
  );
  const pass = r.backupS < target && r.restoreS < target && r.cli.backupS < target && r.cli.restoreS < target;
  failed ||= !pass;
  console.log(`  ${pass ? 'PASS' : 'FAIL'}: backup and restore each under ${target} s (core and CLI)`);
}
process.exitCode = failed ? 1 : 0;
