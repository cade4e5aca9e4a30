import { Flags } from '@oclif/core';
import { RecoCommand } from '../cli/base-command.js';
import { progressBar } from '../cli/progress.js';
import {
  datasetCitation,
  loadDatasetDir,
  LONG_TAIL_RANK,
  SPLITS,
  worldOracle,
  type EvaluationReport,
} from '../core/evaluation/index.js';
import { checkReportPath, writeReportFile } from '../core/reports/file.js';
import { evaluate, ALGORITHM_NAMES } from '../core/training/algorithms.js';
import { readWorldBeside } from '../core/simulation/shaped-data.js';
import { loadTrainingSet } from '../core/training/train.js';
import { RecoError } from '../core/errors.js';
import { formatTable } from '../cli/table.js';
import { htmlFlag } from '../cli/flags.js';

export default class Evaluate extends RecoCommand {
  static override summary = 'Compare algorithms offline (the protocol of docs/evaluation.md)';
  static override description =
    'Splits the ratings (per user by default, seeded), fits each algorithm on the training part and ranks the movies each user has not rated for the test part. Prints P@k, R@k, nDCG@k, MAP@k, catalogue coverage, fit and recommend times per algorithm. --from is a MovieLens folder (movies.csv, ratings.csv) or "db" for the ratings in the database. A folder written by reco simulate data --shape holds world.json: the oracle of that world (each user ranked by the true choice probabilities) is then the first row. Nothing is registered: use reco train for that. --html FILE also writes the comparison as one HTML page with charts (metrics at k = 1…20, coverage, time) that opens offline.';
  static override examples = [
    '<%= config.bin %> evaluate --from data/initial_data',
    '<%= config.bin %> evaluate --from db --algorithms popular,ease --k 20',
    '<%= config.bin %> evaluate --from data/initial_data --split item --seed 7 --json',
    '<%= config.bin %> evaluate --from data/initial_data --algorithms popular,item-knn,ease --html evaluation.html',
    '<%= config.bin %> evaluate --from db --sample-users 20000   # large data: score 20,000 users, nDCG with its CI',
  ];
  static override flags = {
    from: Flags.string({ description: 'a MovieLens folder, or "db"', default: 'db' }),
    algorithms: Flags.string({ description: `comma-separated, from ${ALGORITHM_NAMES.join(', ')} (default: all)` }),
    split: Flags.string({ description: 'how test ratings are held out', options: [...SPLITS], default: 'user' }),
    k: Flags.integer({ description: 'length of each ranking', default: 10, min: 1, max: 1000 }),
    seed: Flags.integer({ description: 'seed of the split and of seeded algorithms', default: 42 }),
    'sample-users': Flags.integer({
      description:
        'score a seeded sample of this many users (models are still fitted on the whole training part); nDCG@k is then given with its 95 % confidence interval',
      min: 2,
    }),
    html: htmlFlag,
  };

  async run() {
    const { flags } = await this.parse(Evaluate);
    const names = flags.algorithms
      ? flags.algorithms
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [...ALGORITHM_NAMES];
    const unknown = names.filter((n) => !ALGORITHM_NAMES.includes(n));
    if (unknown.length)
      throw new RecoError(`unknown algorithm ${unknown.join(', ')}: choose from ${ALGORITHM_NAMES.join(', ')}`);
    if (flags.html) checkReportPath(flags.html);
    // The charting libraries load only for --html (half a second of imports).
    const reports = flags.html ? await import('../core/reports/evaluation-report.js') : undefined;
    const data =
      flags.from === 'db' ? await this.withDb((db) => loadTrainingSet(db)) : await loadDatasetDir(flags.from);
    // The oracle needs the file's own user ids, so only a folder (the database numbers users itself).
    const world = flags.from === 'db' ? undefined : readWorldBeside(flags.from);
    // Two steps per algorithm (fit, score); a bar on a terminal, notes on stderr otherwise.
    const onBar = process.stderr.isTTY && !this.jsonEnabled();
    const bar = progressBar({ label: 'evaluate', total: 2 * names.length, enabled: onBar, unit: 'steps' });
    let step = 0;
    const report = await evaluate(data.interactions, data.catalogue, names, {
      split: flags.split as (typeof SPLITS)[number],
      k: flags.k,
      seed: flags.seed,
      sampleUsers: flags['sample-users'],
      oracle: world ? worldOracle(world, data.interactions) : undefined,
      curve: reports?.CURVE_K,
      onProgress: (m) => (onBar ? bar.update(++step) : this.note(`  ${m}`)),
    }).finally(() => bar.stop());
    this.printTable(report, flags.from);
    if (flags.html && reports) {
      const citation = flags.from === 'db' ? undefined : datasetCitation(flags.from);
      writeReportFile(flags.html, await reports.renderEvaluationHtml(report, { source: flags.from, citation }));
      this.note(`wrote ${flags.html}`);
    }
    return { from: flags.from, ...report, ...(flags.html && { html: flags.html }) };
  }

  private printTable(r: EvaluationReport, from: string): void {
    const k = r.k;
    const sample =
      r.counts.evaluatedUsers < r.counts.usersWithTest
        ? ` (a seeded sample of the ${r.counts.usersWithTest}; nDCG with its 95 % confidence interval)`
        : '';
    this.say(
      `${from}: ${r.counts.ratings} ratings, ${r.counts.users} users, ${r.counts.movies} movies; split ${r.split}, seed ${r.seed}, k ${k}; ${r.counts.evaluatedUsers} users evaluated${sample} over ${r.counts.candidates} candidate movies`,
    );
    const rows = r.rows.map((x) => ({
      algorithm: x.algorithm,
      precision: x.precision.toFixed(4),
      recall: x.recall.toFixed(4),
      ndcg: x.ndcgCi95
        ? `${x.ndcg.toFixed(4)} [${x.ndcgCi95[0].toFixed(4)}, ${x.ndcgCi95[1].toFixed(4)}]`
        : x.ndcg.toFixed(4),
      map: x.map.toFixed(4),
      coverage: x.coverage.toFixed(3),
      longTail: x.longTail.toFixed(3),
      fit: x.fitSeconds.toFixed(2),
      recommend: x.recommendSeconds.toFixed(2),
    }));
    const right = (key: string, header: string) => ({ key, header, align: 'right' as const });
    this.say(
      formatTable(rows, [
        { key: 'algorithm' },
        right('precision', `P@${k}`),
        right('recall', `R@${k}`),
        right('ndcg', `nDCG@${k}`),
        right('map', `MAP@${k}`),
        right('coverage', 'coverage'),
        right('longTail', `beyond ${LONG_TAIL_RANK}`),
        right('fit', 'fit s'),
        right('recommend', 'recommend s'),
      ]),
    );
  }
}
