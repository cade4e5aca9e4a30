import fs from 'node:fs';
import path from 'node:path';
import { Flags } from '@oclif/core';
import { RecoCommand } from '../../cli/base-command.js';
import { progressBar } from '../../cli/progress.js';
import { canPrompt, promptInput } from '../../cli/prompts.js';
import { dataPaths } from '../../core/config.js';
import { RecoError } from '../../core/errors.js';
import { loadSimulationSource } from '../../core/db/repositories/simulation.js';
import { defaultCatalogueFile, readCatalogueFile, type SimMovie } from '../../core/simulation/catalogue.js';
import { dayAfter, DEFAULT_START } from '../../core/simulation/dates.js';
import { plannedDays, simulateData } from '../../core/simulation/data.js';
import { SHAPES, writeShapedData, type ShapeName } from '../../core/simulation/shaped-data.js';

export default class SimulateData extends RecoCommand {
  static override summary = 'Write realistic daily MovieLens-format files for reco ingest';
  static override description = `Writes simulation_data/YYYY/MM/DD/{movies.csv,ratings.csv} for each day: users in a few taste groups over genres, long-tail movie popularity, ratings = taste + noise in 0.5 steps, activity by user and hour of day, returning and new users, a few new movies a day. movies.csv holds the whole catalogue as of that day (the catalogue "updated each day").

The catalogue is the database's movies table, or data/initial_data/movies.csv when the database is empty or absent (or --catalogue FILE). --start defaults to the day after the latest rating in the database, else ${DEFAULT_START} (the day after the last rating of MovieLens ml-latest-small). Same seed and catalogue → byte-identical files. Simulated users have ids from 1000001 (present from the start) and 20000000 up (new users), so they never collide with MovieLens users.

--bad-rows RATE adds that share of extra rows that reco ingest must reject, spread evenly over the rejection reasons; --json reports how many of each kind went into each file.

With --shape (ml-latest-small, ml-1m, ml-10m, ml-20m, ml-25m) or --ratings/--movies/--users, it writes instead one data set of that shape in the initial_data format — DIR/movies.csv, DIR/ratings.csv (users 1…N, movies 1…M) — and DIR/world.json, from which reco evaluate --from DIR rebuilds the world and ranks by its true tastes (the oracle row). --niche makes users love small niches of ~40 movies. Streams (1M ratings in seconds, bounded memory); same options → same bytes.`;
  static override examples = [
    '<%= config.bin %> simulate data --days 3 --seed 7',
    '<%= config.bin %> simulate data --days 30 --users 2000 --new-movies 5 --bad-rows 0.02 --json > simulation.json',
    '<%= config.bin %> simulate data --start 2024-01-01 --catalogue data/initial_data/movies.csv --out /tmp/sim --force',
    '<%= config.bin %> simulate data --shape ml-25m --out /data/ml25m-like',
    '<%= config.bin %> simulate data --ratings 1500000 --movies 30000 --users 18000 --niche --seed 7 --out /tmp/niche',
  ];
  static override flags = {
    days: Flags.integer({
      description: 'number of days to write (default 1; asked for on a terminal)',
      min: 1,
      max: 3650,
    }),
    start: Flags.string({
      description: 'first day, YYYY-MM-DD (default: the day after the latest rating, else 2018-09-25)',
    }),
    users: Flags.integer({
      description: 'users present from the start (returning users; default 500), or the users of --shape',
      min: 1,
    }),
    shape: Flags.string({
      description: 'write one data set of this MovieLens shape (initial_data format) instead of days',
      options: Object.keys(SHAPES),
    }),
    ratings: Flags.integer({
      description: 'ratings of the data set (with --movies and --users; overrides --shape)',
      min: 1,
    }),
    movies: Flags.integer({ description: 'movies of the data set (overrides --shape)', min: 10 }),
    niche: Flags.boolean({
      description:
        'with --shape/--ratings: users love small niches (most of what fits them lies beyond the most rated movies)',
    }),
    'new-users': Flags.integer({
      description: 'new users arriving each day (default 4% of --users, at least 1)',
      min: 0,
      max: 1000,
    }),
    'new-movies': Flags.integer({ description: 'new movies released each day', default: 3, min: 0, max: 1000 }),
    'bad-rows': Flags.string({
      description: 'share of bad rows to inject in each file, 0–0.5 (e.g. 0.02)',
      default: '0',
    }),
    seed: Flags.integer({ description: 'random seed (default 42; asked for on a terminal)', min: 0 }),
    out: Flags.string({ description: 'output directory (default: $RECO_DATA_DIR/simulation_data)' }),
    catalogue: Flags.string({ description: 'read the catalogue from this movies.csv instead of the database' }),
    force: Flags.boolean({ description: 'replace days that already exist' }),
  };

  async run() {
    const { flags } = await this.parse(SimulateData);
    if (flags.shape || flags.ratings || flags.movies) return this.runShaped(flags);
    const interactive = canPrompt({ json: this.jsonEnabled() });
    const days =
      flags.days ??
      (interactive
        ? Number(await promptInput('How many days to simulate?', { default: '1', validate: wholeNumber }))
        : 1);
    const seed =
      flags.seed ??
      (interactive
        ? Number(await promptInput('Seed (same seed → same files)?', { default: '42', validate: wholeNumber }))
        : 42);
    const badRows = Number(flags['bad-rows']);

    const source = await this.loadSource(flags.catalogue);
    const start = flags.start ?? (source.latestRatingAt !== null ? dayAfter(source.latestRatingAt) : DEFAULT_START);
    const out = flags.out ?? dataPaths(this.settings.dataDir).simulationData;
    this.note(
      `Catalogue: ${source.movies.length} movies from ${source.from}; writing ${days} day(s) from ${start} to ${out}`,
    );
    // The clock only feeds this warning, never the files: ingest rejects ratings from the future.
    const lastDay = days >= 1 && days <= 3650 ? plannedDays(start, days).at(-1) : undefined;
    if (lastDay && lastDay > new Date().toISOString().slice(0, 10))
      this.note(
        `Warning: ${lastDay} is in the future; reco ingest will reject its ratings as timestamp_in_future until then`,
      );

    const bar = progressBar({ label: 'Simulating', total: days, enabled: !this.jsonEnabled(), unit: 'days' });
    let summary;
    try {
      summary = await simulateData({
        catalogue: source.movies,
        start,
        days,
        users: flags.users ?? 500,
        newUsers: flags['new-users'],
        newMovies: flags['new-movies'],
        badRows,
        seed,
        out,
        force: flags.force,
        onDay: (done) => bar.update(done),
      });
    } finally {
      bar.stop();
    }
    for (const d of summary.day_summaries) {
      const bad = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
      this.say(
        `${d.day}: ${d.files.ratings.good} ratings by ${d.users.active} users (${d.users.new} new), ${d.new_movie_ids.length} new movies` +
          (badRows > 0 ? `, ${bad(d.files.ratings.bad)} + ${bad(d.files.movies.bad)} bad rows` : '') +
          ` → ${d.dir}`,
      );
    }
    this.say(`Wrote ${summary.totals.ratings} ratings over ${days} day(s). Load them with: reco ingest`);
    return { catalogue: { source: source.from, movies: source.movies.length }, ...summary };
  }

  private async runShaped(flags: {
    shape?: string;
    ratings?: number;
    movies?: number;
    users?: number;
    niche: boolean;
    seed?: number;
    out?: string;
    force: boolean;
  }) {
    const preset = flags.shape ? SHAPES[flags.shape as ShapeName] : undefined;
    const ratings = flags.ratings ?? preset?.ratings;
    const movies = flags.movies ?? preset?.movies;
    const users = flags.users ?? preset?.users;
    if (ratings === undefined || movies === undefined || users === undefined)
      throw new RecoError('--ratings, --movies and --users are all needed without --shape');
    const out =
      flags.out ??
      path.join(dataPaths(this.settings.dataDir).root, 'synthetic', flags.shape ?? `r${ratings}-m${movies}-u${users}`);
    const seed = flags.seed ?? 42;
    this.note(
      `Writing ${ratings} ratings of ${users} users over ${movies} movies${flags.niche ? ' (niche world)' : ''}, seed ${seed}, to ${out}`,
    );
    const bar = progressBar({ label: 'Simulating', total: users, enabled: !this.jsonEnabled(), unit: 'users' });
    const summary = await writeShapedData({
      ratings,
      movies,
      users,
      seed,
      niche: flags.niche,
      out,
      force: flags.force,
      onProgress: (done) => bar.update(done),
    }).finally(() => bar.stop());
    this.say(
      `Wrote ${summary.ratings} ratings, ${summary.movies} movies, ${summary.users} users in ${summary.seconds.toFixed(1)} s → ${out}. Load them with: reco ingest --from ${out}; compare models with the oracle: reco evaluate --from ${out}`,
    );
    return summary;
  }

  /** --catalogue, else the database when there is one with movies, else initial_data. Never creates a database. */
  private async loadSource(
    file?: string,
  ): Promise<{ movies: SimMovie[]; latestRatingAt: number | null; from: string }> {
    if (!file) {
      const hasDb = Boolean(this.settings.databaseUrl) || fs.existsSync(dataPaths(this.settings.dataDir).embeddedDb);
      if (hasDb) {
        const fromDb = await this.withDb((db) => loadSimulationSource(db));
        if (fromDb.movies.length > 0) return { ...fromDb, from: 'database' };
      }
    }
    const path = file ?? defaultCatalogueFile(this.settings.dataDir);
    return { movies: readCatalogueFile(path), latestRatingAt: null, from: path };
  }
}

function wholeNumber(v: string): string | true {
  return /^\d+$/.test(v.trim()) ? true : 'a whole number, please';
}
