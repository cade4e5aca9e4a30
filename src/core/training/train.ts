import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { recordJob } from '../db/repositories/jobs.js';
import { ratingsHeapBytes } from '../db/repositories/ratings.js';
import {
  movieGenres,
  streamTrainingRatings,
  trainingRatingCount,
  untrustedRatingCount,
} from '../db/repositories/training-data.js';
import type { Database } from '../db/types.js';
import { RecoError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { EMBEDDED_MAX_RATINGS, storedRatingsFromHeap } from '../pipeline/embedded-limit.js';
import { TripletBuilder } from '../evaluation/dataset.js';
import { metricsRecord, type EvaluationRow } from '../evaluation/protocol.js';
import type { SplitKind } from '../evaluation/split.js';
import { selectBest } from './auto.js';
import { AUTO_CANDIDATES, getAlgorithm } from './algorithms.js';
import { TRUSTED_HOLDOUT, registerModel, type ActivationDecision } from './registry.js';
import type { Catalogue } from '../models/types.js';
import type { Interactions } from '../data/interactions.js';

export interface TrainOptions {
  /** An algorithm name or 'auto' (default): every algorithm on the holdout, the best by nDCG@10. */
  algorithm?: string;
  modelsDir: string;
  /** Activate even when the new model scores worse than the active one. */
  force?: boolean;
  /** How much worse (nDCG@10, absolute) a new model may be and still replace the active one. */
  tolerance?: number;
  seed?: number;
  /** Parameters of the algorithm (e.g. { lambda: 300 } for ease). */
  params?: Record<string, unknown>;
  /** The most holdout users scored (default HOLDOUT_USERS). */
  holdoutUsers?: number;
  /** The embedded engine's limit in ratings (default EMBEDDED_MAX_RATINGS; tests set a small one). */
  embeddedRatingLimit?: number;
  onProgress?: (message: string) => void;
}

export interface TrainResult {
  version: string;
  algorithm: string;
  params: Record<string, unknown>;
  /** Holdout figures of the chosen model (split user, seed, k 10): ndcg_at_10, precision_at_10, … */
  metrics: Record<string, number>;
  /** Every candidate's holdout row (one row unless auto). */
  candidates: EvaluationRow[];
  activated: boolean;
  decision: ActivationDecision;
  previousVersion: string | undefined;
  /** What was trained on; `untrusted_ratings` were left out (their clients are not trusted: docs/models.md). */
  dataCounts: { users: number; movies: number; ratings: number; untrusted_ratings: number };
  timings: { loadSeconds: number; selectSeconds: number; fitSeconds: number; totalSeconds: number };
  artifactBytes: number;
  artifactDir: string;
}

/**
 * The holdout scores at most HOLDOUT_USERS users (a seeded sample of those with test ratings): ranking the whole
 * catalogue for each of 162k users took minutes per candidate at 25M ratings, and 20,000 users put a 95 %
 * interval of about ±0.004 around nDCG@10. Every candidate is still fitted on the whole training part.
 */
export const HOLDOUT_USERS = 20_000;

/**
 * The embedded engine hands the training read's COPY over as one blob, which past EMBEDDED_MAX_RATINGS is not
 * measured to fit in memory (embedded-limit.ts). Ingest and restore-db refuse to go past the limit, but API writes
 * can: so training refuses with advice instead of running out of memory. The heap's size answers at once for any
 * database well within the limit; only above it are the training ratings counted (seconds at that size).
 */
async function assertEmbeddedReadable(db: Database, limit: number): Promise<void> {
  if (storedRatingsFromHeap(await ratingsHeapBytes(db)) <= limit) return;
  const n = await trainingRatingCount(db);
  if (n <= limit) return;
  throw new RecoError(
    `the embedded database holds ${n.toLocaleString('en-US')} ratings to train on, over its limit of ${limit.toLocaleString('en-US')}, past which reading them is not known to fit in memory; set DATABASE_URL to a PostgreSQL database for this size`,
    {
      exitCode: ExitCode.DATABASE,
      hint: 'move the data there: reco backup-db here, then reco restore-db with DATABASE_URL set',
    },
  );
}

const HOLDOUT: { split: SplitKind; k: number } = { split: 'user', k: 10 };

/**
 * The training ratings (trusted clients' only: an API client cannot steer other tenants' models or the holdout
 * that gates activation) and the catalogue's genres, from the database. On the embedded engine, refused past its
 * size limit before anything is read.
 */
export async function loadTrainingSet(
  db: Database,
  options: { embeddedRatingLimit?: number } = {},
): Promise<{ interactions: Interactions; catalogue: Catalogue }> {
  if (db.engine === 'pglite') await assertEmbeddedReadable(db, options.embeddedRatingLimit ?? EMBEDDED_MAX_RATINGS);
  const triplets = new TripletBuilder();
  await streamTrainingRatings(db, (u, m, r, t) => triplets.push(u, m, r, t));
  if (triplets.length === 0) {
    const untrusted = await untrustedRatingCount(db);
    if (untrusted === 0)
      throw new RecoError('there are no ratings in the database to train on', {
        hint: 'load some first: reco ingest --from data/initial_data',
      });
    throw new RecoError(
      `none of the ${untrusted} ratings in the database is of a trusted client, so there is nothing to train on`,
      {
        hint: 'load the daily files with reco ingest, or trust a client whose ratings should train: reco clients trust NAME',
      },
    );
  }
  return { interactions: triplets.build(), catalogue: { genres: await movieGenres(db) } };
}

/**
 * `reco train`: reads every rating, scores the candidate algorithm(s) on a holdout split (docs/evaluation.md,
 * split user, k 10), refits the chosen one on all ratings, writes models/<version>/{model.bin,metadata.json},
 * and registers it with its artifact; it becomes active unless it is worse than the active model by more
 * than the tolerance (or --force). Recorded in job_runs as 'train'.
 */
export function trainModel(db: Database, options: TrainOptions): Promise<TrainResult> {
  return recordJob(
    db,
    'train',
    () => train(db, options),
    (r) => ({
      version: r.version,
      algorithm: r.algorithm,
      activated: r.activated,
      ndcg_at_10: r.metrics.ndcg_at_10,
      ratings: r.dataCounts.ratings,
      seconds: r.timings.totalSeconds,
    }),
  );
}

async function train(db: Database, options: TrainOptions): Promise<TrainResult> {
  const say = options.onProgress ?? (() => {});
  const seed = options.seed ?? 42;
  const name = options.algorithm ?? 'auto';
  const candidates = name === 'auto' ? AUTO_CANDIDATES : [getAlgorithm(name)];
  const t0 = performance.now();

  say('reading ratings from the database');
  const { interactions, catalogue } = await loadTrainingSet(db, options);
  const t1 = performance.now();
  const dataCounts = {
    users: interactions.nUsers,
    movies: interactions.nItems,
    ratings: interactions.indices.length,
    untrusted_ratings: await untrustedRatingCount(db),
  };
  say(
    `${dataCounts.ratings} ratings of ${dataCounts.users} users on ${dataCounts.movies} movies (${dataCounts.untrusted_ratings} ratings of untrusted clients left out)`,
  );

  const params = options.params && name !== 'auto' ? { [name]: options.params } : undefined;
  const { report, winner } = await selectBest(interactions, catalogue, candidates, {
    ...HOLDOUT,
    sampleUsers: options.holdoutUsers ?? HOLDOUT_USERS,
    seed,
    params,
    onProgress: (m) => say(`holdout: ${m}`),
  });
  const t2 = performance.now();
  if (name === 'auto') say(`auto picked ${winner.algorithm} (holdout nDCG@10 ${winner.ndcg.toFixed(4)})`);

  say(`fitting ${winner.algorithm} on all ratings`);
  const model = getAlgorithm(winner.algorithm).create({ seed, ...(name === 'auto' ? {} : (options.params ?? {})) });
  await model.fit(interactions, catalogue);
  const t3 = performance.now();
  const artifact = model.serialize();

  const version = newVersion(winner.algorithm);
  const metrics = metricsRecord(winner, HOLDOUT.k);
  const timings = {
    loadSeconds: (t1 - t0) / 1000,
    selectSeconds: (t2 - t1) / 1000,
    fitSeconds: (t3 - t2) / 1000,
    totalSeconds: 0,
  };
  const modelParams = { ...model.params, ...(name === 'auto' ? { selected_by: 'auto' } : {}) };
  const artifactDir = path.join(options.modelsDir, version);
  const metadata = {
    version,
    algorithm: winner.algorithm,
    params: modelParams,
    metrics,
    evaluation: {
      split: HOLDOUT.split,
      k: HOLDOUT.k,
      seed,
      holdout: TRUSTED_HOLDOUT,
      users: { scored: report.counts.evaluatedUsers, with_test: report.counts.usersWithTest },
      candidates: report.rows,
    },
    data_counts: dataCounts,
    timings,
    artifact: { file: 'model.bin', bytes: artifact.length },
    created_at: new Date().toISOString(),
  };
  fs.mkdirSync(artifactDir, { recursive: true });
  fs.writeFileSync(path.join(artifactDir, 'model.bin'), artifact);
  timings.totalSeconds = (performance.now() - t0) / 1000;
  fs.writeFileSync(path.join(artifactDir, 'metadata.json'), `${JSON.stringify(metadata, null, 2)}\n`);

  say(`registering ${version}`);
  const registered = await registerModel(
    db,
    {
      version,
      algorithm: winner.algorithm,
      params: modelParams,
      metrics,
      dataCounts,
      timings,
      artifact,
      holdout: TRUSTED_HOLDOUT,
    },
    { tolerance: options.tolerance, force: options.force },
  );
  timings.totalSeconds = (performance.now() - t0) / 1000;
  return {
    version,
    algorithm: winner.algorithm,
    params: modelParams,
    metrics,
    candidates: report.rows,
    activated: registered.activated,
    decision: registered.decision,
    previousVersion: registered.previousVersion,
    dataCounts,
    timings,
    artifactBytes: artifact.length,
    artifactDir,
  };
}

/** Sortable and unique: 20261126T212501Z-ease-3f9a. */
function newVersion(algorithm: string): string {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${algorithm}-${randomBytes(2).toString('hex')}`;
}
