import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, ENGINES, tempDir, type TestDatabase } from '../helpers/engines.js';
import { loadByCopy, syntheticRatings } from './fixtures.js';

/** reco train / models / recommend / evaluate end to end: child processes on a database loaded by COPY. */
describe.each(ENGINES)('reco train and friends [%s]', (engine) => {
  const syn = syntheticRatings({ users: 80, movies: 100, perUser: 20 });
  const modelsDir = tempDir('reco-models-');
  let test: TestDatabase;
  let env: Record<string, string>;

  beforeAll(async () => {
    test = await createTestDatabase(engine, { persist: true });
    await loadByCopy(test.db, syn, 'acme');
    if (engine === 'pglite') await test.db.close(); // the CLI opens the embedded directory itself
    env = engine === 'pglite' ? { RECO_DATA_DIR: test.dataDir!, RECO_MODELS_DIR: modelsDir } : { DATABASE_URL: test.url!, RECO_MODELS_DIR: modelsDir, RECO_DATA_DIR: tempDir() };
  }, 60_000);
  afterAll(async () => {
    if (engine === 'pglite') fs.rmSync(test.dataDir!, { recursive: true, force: true });
    else await test.drop();
    fs.rmSync(modelsDir, { recursive: true, force: true });
  });

  let trained: any;
  it('reco train --json trains auto, prints the decision and writes the artifact', async () => {
    const r = await runCli(['train', '--json'], { env });
    expect(r.code).toBe(0);
    trained = JSON.parse(r.stdout);
    expect(trained).toMatchObject({ activated: true, decision: 'activated: no model was active', data_counts: { ratings: syn.rows.length, users: 80 } });
    expect(trained.candidates.map((c: any) => c.algorithm)).toEqual(['popular', 'segments', 'item-knn', 'ease', 'ease-session', 'rp3beta']);
    const best = trained.candidates.reduce((a: any, b: any) => (b.ndcg > a.ndcg ? b : a));
    expect(trained.algorithm).toBe(best.algorithm);
    expect(trained.metrics.ndcg_at_10).toBeCloseTo(best.ndcg, 10);
    expect(fs.existsSync(path.join(modelsDir, trained.version, 'model.bin'))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(modelsDir, trained.version, 'metadata.json'), 'utf8')).algorithm).toBe(trained.algorithm);
  }, 120_000);

  it('a worse algorithm is kept inactive, --force activates it; models list and activate roll back', async () => {
    const pop = await runCli(['train', '--algorithm', 'popular'], { env });
    expect(pop.code).toBe(0);
    expect(pop.stdout).toMatch(new RegExp(`Kept ${trained.version}: ndcg_at_10 [0-9.]+ is below`));
    const forced = JSON.parse((await runCli(['train', '--algorithm', 'popular', '--force', '--json'], { env })).stdout);
    expect(forced).toMatchObject({ activated: true, decision: 'activated: --force', previous_version: trained.version });
    const list = JSON.parse((await runCli(['models', 'list', '--json'], { env })).stdout).models;
    expect(list).toHaveLength(3);
    expect(list[0]).toMatchObject({ version: forced.version, active: true });
    expect(list.filter((m: any) => m.active)).toHaveLength(1);
    // A header row, then one aligned row per model: every value starts under its header.
    const lines = (await runCli(['models', 'list'], { env })).stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^active\s+version\s+algorithm\s+nDCG@10\s+P@10\s+R@10\s+ratings\s+size\s+created$/);
    expect(lines).toHaveLength(4);
    const at = (header: string) => lines[0].indexOf(header);
    for (const l of lines.slice(1)) {
      expect(l.slice(at('version'))).toMatch(/^\S+ /);
      expect(l.slice(at('algorithm'), at('nDCG@10'))).toMatch(/^(popular|segments|item-knn|ease|ease-session|rp3beta) +$/);
      expect(l.slice(at('created'))).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    expect(lines.filter((l) => l.startsWith('*'))).toEqual([expect.stringContaining(forced.version)]);
    const act = await runCli(['models', 'activate', trained.version], { env });
    expect(act.code).toBe(0);
    expect(act.stdout.trim()).toBe(`Activated ${trained.version} (was ${forced.version}).`);
    const bad = await runCli(['models', 'activate', 'nope'], { env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim()).toBe('Error: no model version nope (see reco models list)');
  }, 120_000);

  it('reco recommend uses the active model and never returns a rated movie', async () => {
    const user = syn.rows[0].userId;
    const rated = new Set(syn.rows.filter((r) => r.userId === user).map((r) => r.movieId));
    const r = await runCli(['recommend', '--client', 'acme', '--user', String(user), '-n', '5', '--json'], { env });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.model.version).toBe(trained.version);
    expect(out.recommendations).toHaveLength(5);
    for (const rec of out.recommendations) {
      expect(rated.has(rec.movie_id)).toBe(false);
      expect(rec.title).toMatch(/^Movie \d+ \(2000\)$/);
    }
    const missing = await runCli(['recommend', '--client', 'acme', '--user', '424242'], { env });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim()).toBe('Error: client acme has no user 424242');
    // A platform's own id is looked up as it is; one that is not an id is refused before any lookup.
    const platformId = await runCli(['recommend', '--client', 'acme', '--user', 'acct:7'], { env });
    expect(platformId.stderr.trim()).toBe('Error: client acme has no user acct:7');
    const notAnId = await runCli(['recommend', '--client', 'acme', '--user', 'acct 7'], { env });
    expect(notAnId.code).not.toBe(0);
    expect(notAnId.stderr).toMatch(/^Error: --user "acct 7" is not a user id/);
  }, 60_000);

  it('reco evaluate --from db prints the table for the chosen algorithms', async () => {
    const r = await runCli(['evaluate', '--from', 'db', '--algorithms', 'popular,item-knn', '--k', '5', '--json'], { env });
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep).toMatchObject({ from: 'db', split: 'user', k: 5, seed: 42 });
    expect(rep.rows.map((x: any) => x.algorithm)).toEqual(['popular', 'item-knn']);
    const human = await runCli(['evaluate', '--from', 'db', '--algorithms', 'popular'], { env });
    expect(human.stdout).toMatch(/algorithm\s+P@10\s+R@10\s+nDCG@10\s+MAP@10\s+coverage/);
    const bad = await runCli(['evaluate', '--algorithms', 'svd'], { env });
    expect(bad.stderr.trim()).toMatch(/^Error: unknown algorithm svd/);
  }, 60_000);
});

describe('reco train on an empty database', () => {
  it('fails with one line that says what to do', async () => {
    const dataDir = tempDir();
    try {
      const r = await runCli(['train'], { env: { RECO_DATA_DIR: dataDir, RECO_MODELS_DIR: path.join(dataDir, 'models') } });
      expect(r.code).not.toBe(0);
      // Progress notes go to stderr before it; the error is the one last line.
      expect(r.stderr.trim().split('\n').pop()).toBe('Error: there are no ratings in the database to train on (load some first: reco ingest --from data/initial_data)');
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('evaluate reads a MovieLens folder', async () => {
    const dir = tempDir();
    try {
      const syn = syntheticRatings({ users: 30, movies: 40, perUser: 10 });
      fs.writeFileSync(path.join(dir, 'movies.csv'), 'movieId,title,genres\n' + syn.movies.map((m) => `${m.movieId},${m.title},${m.genres.join('|')}\n`).join(''));
      fs.writeFileSync(path.join(dir, 'ratings.csv'), 'userId,movieId,rating,timestamp\n' + syn.rows.map((r) => `${r.userId},${r.movieId},${r.rating},${r.ts}\n`).join(''));
      const r = await runCli(['evaluate', '--from', dir, '--algorithms', 'popular,segments', '--split', 'item', '--json'], { env: { RECO_DATA_DIR: dir } });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).counts).toMatchObject({ ratings: 300, users: 30 });
      const none = await runCli(['evaluate', '--from', path.join(dir, 'nope')]);
      expect(none.stderr.trim()).toMatch(/^Error: no movies.csv in .*nope: expected a MovieLens folder/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

