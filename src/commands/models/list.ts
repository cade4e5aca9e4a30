import { Flags } from '@oclif/core';
import { RecoCommand } from '../../cli/base-command.js';

export default class ModelsList extends RecoCommand {
  static override summary = 'List trained models (the experiment history), newest first';
  static override description = 'One line per reco train run: version, algorithm, holdout metrics (split user, seed 42, k 10), data size, artifact size, and which version is active (*). Activate another with reco models activate VERSION.';
  static override examples = ['<%= config.bin %> models list', '<%= config.bin %> models list --limit 5 --json'];
  static override flags = {
    limit: Flags.integer({ description: 'at most this many', default: 50, min: 1 }),
  };

  async run() {
    const { listModels } = await import('../../core/models/registry.js');
    const { flags } = await this.parse(ModelsList);
    return this.withDb(async (db) => {
      const rows = await listModels(db, flags.limit);
      if (rows.length === 0) this.say('No models yet: run reco train.');
      for (const m of rows) {
        const f = (k: string) => (typeof m.metrics[k] === 'number' ? m.metrics[k].toFixed(4) : '   -  ');
        this.say(
          `${m.active ? '*' : ' '} ${m.version.padEnd(34)} ${m.algorithm.padEnd(9)} nDCG@10 ${f('ndcg_at_10')}  P@10 ${f('precision_at_10')}  R@10 ${f('recall_at_10')}  ${m.data_counts.ratings ?? '?'} ratings  ${(m.artifact_bytes / 1e6).toFixed(1)} MB  ${new Date(m.created_at).toISOString()}`,
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
