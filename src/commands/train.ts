import { Flags } from '@oclif/core';
import { RecoCommand } from '../cli/base-command.js';
import { progressBar } from '../cli/progress.js';
import { formatTable } from '../cli/table.js';
import { ExitCode } from '../core/exit-codes.js';
import { ALGORITHM_NAMES, AUTO_CANDIDATES } from '../core/training/algorithms.js';
import { DEFAULT_TOLERANCE } from '../core/training/registry.js';

export default class Train extends RecoCommand {
  static override summary = "Train a model on the trusted clients' ratings in the database and register it";
  static override description = `Reads the ratings of trusted clients only (the ingest client, and API clients trusted with reco clients trust; see docs/models.md), scores the algorithm (or, with auto, every algorithm) on a holdout split of them (split user, seed 42, k 10; see docs/evaluation.md), refits the best on all of them, writes models/<version>/ (model.bin, metadata.json) under RECO_MODELS_DIR and stores it with its artifact in the database registry. The new version becomes active unless its holdout nDCG@10 is below the active model's by more than --tolerance; --force activates it anyway. A running reco serve picks up the activation within seconds. Past runs: reco models list.`;
  static override examples = [
    '<%= config.bin %> train',
    '<%= config.bin %> train --algorithm ease --json',
    '<%= config.bin %> train --algorithm segments --force   # activate even if it scores worse',
  ];
  static override flags = {
    algorithm: Flags.string({
      char: 'a',
      description: 'algorithm to train',
      options: [...ALGORITHM_NAMES],
      default: 'auto',
    }),
    force: Flags.boolean({ description: 'activate the new model even if it scores worse than the active one' }),
    tolerance: Flags.string({
      description: `how much lower (nDCG@10, absolute) the new model may score and still be activated`,
      default: String(DEFAULT_TOLERANCE),
    }),
    seed: Flags.integer({ description: 'seed of the holdout split and of seeded algorithms', default: 42 }),
  };

  async run() {
    const { trainModel } = await import('../core/training/train.js');
    const { flags } = await this.parse(Train);
    const tolerance = Number(flags.tolerance);
    if (!Number.isFinite(tolerance) || tolerance < 0)
      this.error('--tolerance must be a number ≥ 0', { exit: ExitCode.BAD_INPUT });
    const modelsDir = this.settings.modelsDir;
    // Steps reported by trainModel: read, count, 2 per holdout candidate, (auto's pick), refit, register.
    const candidates = flags.algorithm === 'auto' ? AUTO_CANDIDATES.length : 1;
    const bar = progressBar({
      label: 'train',
      total: 4 + 2 * candidates + (flags.algorithm === 'auto' ? 1 : 0),
      enabled: !this.jsonEnabled(),
      unit: 'steps',
    });
    const onBar = process.stderr.isTTY && !this.jsonEnabled();
    let step = 0;
    return this.withDb(async (db) => {
      const r = await trainModel(db, {
        algorithm: flags.algorithm,
        modelsDir,
        force: flags.force,
        tolerance,
        seed: flags.seed,
        onProgress: (m) => (onBar ? bar.update(++step) : this.note(`  ${m}`)),
      }).finally(() => bar.stop());
      this.say(
        `Trained ${r.version} (${r.algorithm}) on ${r.dataCounts.ratings} ratings in ${r.timings.totalSeconds.toFixed(1)} s${r.dataCounts.untrusted_ratings ? ` (${r.dataCounts.untrusted_ratings} ratings of untrusted clients left out)` : ''}`,
      );
      if (r.candidates.length > 1) {
        this.say('Holdout (split user, seed ' + flags.seed + ', k 10):');
        this.say(
          formatTable(
            r.candidates.map((c) => ({
              ...c,
              ndcg: c.ndcg.toFixed(4),
              precision: c.precision.toFixed(4),
              recall: c.recall.toFixed(4),
              chosen: c.algorithm === r.algorithm ? '← chosen' : '',
            })),
            [
              { key: 'algorithm' },
              { key: 'ndcg', header: 'nDCG@10', align: 'right' },
              { key: 'precision', header: 'P@10', align: 'right' },
              { key: 'recall', header: 'R@10', align: 'right' },
              { key: 'chosen', header: '' },
            ],
          ),
        );
      } else {
        this.say(
          `Holdout: nDCG@10 ${r.metrics.ndcg_at_10.toFixed(4)}  P@10 ${r.metrics.precision_at_10.toFixed(4)}  R@10 ${r.metrics.recall_at_10.toFixed(4)}`,
        );
      }
      this.say(r.decision.reason.charAt(0).toUpperCase() + r.decision.reason.slice(1));
      this.say(`Artifact: ${r.artifactDir} (${(r.artifactBytes / 1e6).toFixed(1)} MB)`);
      return {
        version: r.version,
        algorithm: r.algorithm,
        params: r.params,
        metrics: r.metrics,
        activated: r.activated,
        decision: r.decision.reason,
        previous_version: r.previousVersion ?? null,
        candidates: r.candidates,
        data_counts: r.dataCounts,
        timings: r.timings,
        artifact_dir: r.artifactDir,
        artifact_bytes: r.artifactBytes,
      };
    });
  }
}
