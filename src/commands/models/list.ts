import { Flags } from '@oclif/core';
import { RecoCommand } from '../../cli/base-command.js';
import { formatTable } from '../../cli/table.js';

export default class ModelsList extends RecoCommand {
  static override summary = 'List trained models (the experiment history), newest first';
  static override description = 'A table with one row per reco train run: whether it is active (*), version, algorithm, holdout metrics (split user, seed 42, k 10), ratings trained on, artifact size and creation time. Activate another with reco models activate VERSION.';
  static override examples = ['<%= config.bin %> models list', '<%= config.bin %> models list --limit 5 --json'];
  static override flags = {
    limit: Flags.integer({ description: 'at most this many', default: 50, min: 1 }),
  };

  async run() {
    const { listModels } = await import('../../core/training/registry.js');
    const { flags } = await this.parse(ModelsList);
    return this.withDb(async (db) => {
      const rows = await listModels(db, flags.limit);
      if (rows.length === 0) this.say('No models yet: run reco train.');
      else {
        const metric = (m: (typeof rows)[number], k: string) => (typeof m.metrics[k] === 'number' ? m.metrics[k].toFixed(4) : '-');
        this.say(
          formatTable(
            rows.map((m) => ({
              active: m.active ? '*' : '',
              version: m.version,
              algorithm: m.algorithm,
              ndcg: metric(m, 'ndcg_at_10'),
              precision: metric(m, 'precision_at_10'),
              recall: metric(m, 'recall_at_10'),
              ratings: m.data_counts.ratings ?? '?',
              size: `${(m.artifact_bytes / 1e6).toFixed(1)} MB`,
              created: new Date(m.created_at).toISOString(),
            })),
            [
              { key: 'active', header: 'active' },
              { key: 'version' },
              { key: 'algorithm' },
              { key: 'ndcg', header: 'nDCG@10', align: 'right' },
              { key: 'precision', header: 'P@10', align: 'right' },
              { key: 'recall', header: 'R@10', align: 'right' },
              { key: 'ratings', align: 'right' },
              { key: 'size', align: 'right' },
              { key: 'created' },
            ],
          ),
        );
      }
      return {
        models: rows.map((m) => ({
          version: m.version,
          algorithm: m.algorithm,
          active: m.active,
          params: m.params,
          metrics: m.metrics,
          data_counts: m.data_counts,
          timings: m.timings,
          artifact_bytes: m.artifact_bytes,
          artifact_sha256: m.artifact_sha256,
          created_at: new Date(m.created_at).toISOString(),
          activated_at: m.activated_at ? new Date(m.activated_at).toISOString() : null,
        })),
      };
    });
  }
}
