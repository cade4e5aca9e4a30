import { Flags } from '@oclif/core';
import { RecoCommand } from '../../cli/base-command.js';
import { experimentJson } from '../../cli/experiments.js';
import { formatTable } from '../../cli/table.js';

export default class ExperimentsList extends RecoCommand {
  static override summary = 'List experiments, newest first';
  static override description =
    'One row per experiment: status, client, variants (name=version, weight), lists served so far, start and stop times, and the variant promoted when it was stopped.';
  static override examples = ['<%= config.bin %> experiments list', '<%= config.bin %> experiments list --json'];
  static override flags = {
    limit: Flags.integer({ description: 'at most this many', default: 100, min: 1 }),
  };

  async run() {
    const { listExperiments } = await import('../../core/experiments/manage.js');
    const { flags } = await this.parse(ExperimentsList);
    return this.withDb(async (db) => {
      const rows = await listExperiments(db, flags.limit);
      if (rows.length === 0)
        this.say(
          'No experiments yet: start one with reco experiments start NAME --variant control=VERSION --variant treatment=VERSION.',
        );
      else {
        const total = (e: (typeof rows)[number]) => e.variants.reduce((a, v) => a + v.weight, 0);
        this.say(
          formatTable(
            rows.map((e) => ({
              name: e.name,
              status: e.status,
              client: e.clientUsername ?? '(every client)',
              variants: e.variants
                .map((v) => `${v.name}=${v.modelVersion} ${((100 * v.weight) / total(e)).toFixed(0)}%`)
                .join(', '),
              lists: e.lists,
              started: e.startedAt.toISOString(),
              stopped: e.stoppedAt ? e.stoppedAt.toISOString() : '',
              promoted: e.promotedVariant ?? '',
            })),
            [
              { key: 'name' },
              { key: 'status' },
              { key: 'client' },
              { key: 'variants' },
              { key: 'lists', align: 'right' },
              { key: 'started' },
              { key: 'stopped' },
              { key: 'promoted' },
            ],
          ),
        );
      }
      return { experiments: rows.map(experimentJson) };
    });
  }
}
