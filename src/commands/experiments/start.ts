import { Args, Flags } from '@oclif/core';
import { RecoCommand } from '../../cli/base-command.js';
import { experimentJson } from '../../cli/experiments.js';

export default class ExperimentsStart extends RecoCommand {
  static override summary = 'Start an A/B test between registered model versions';
  static override description =
    "Each user of the experiment's client (or of every client) is assigned a variant by a hash of the experiment, client and user, so a user keeps the variant across requests, replicas and restarts; running servers load the variants' models without a restart. The first --variant is the control. At most one experiment runs per client, and one without --client covers every client. Read it with reco experiments report NAME; end it with reco experiments stop NAME [--promote VARIANT].";
  static override examples = [
    '<%= config.bin %> experiments start ease-vs-popular --variant control=20261126T212501Z-popular-1a2b --variant treatment=20261127T080000Z-ease-3f9a',
    '<%= config.bin %> experiments start small-rollout --client netflix --variant control=V1 --variant treatment=V2 --weights 90,10 --attribution-days 3',
  ];
  static override args = {
    name: Args.string({ required: true, description: 'a new name: 1–64 letters, digits and _ . -' }),
  };
  static override flags = {
    variant: Flags.string({
      description:
        'NAME=VERSION, a model version from reco models list; repeat it (two or more; the first is the control)',
      multiple: true,
      required: true,
      helpValue: 'NAME=VERSION',
    }),
    weights: Flags.string({
      description: 'traffic shares, one per variant in the order of --variant (e.g. 50,50 or 90,10) [default: equal]',
      helpValue: 'W1,W2,…',
    }),
    client: Flags.string({
      description: "only this client's users (a username from reco clients list) [default: every client]",
    }),
    'attribution-days': Flags.integer({
      description: 'days after a list is shown in which feedback on its movies counts for it',
      default: 7,
      min: 1,
      max: 365,
    }),
  };

  async run() {
    const { parseWeights, startExperiment } = await import('../../core/experiments/manage.js');
    const { args, flags } = await this.parse(ExperimentsStart);
    return this.withDb(async (db) => {
      const e = await startExperiment(db, {
        name: args.name,
        variants: flags.variant,
        weights: flags.weights === undefined ? undefined : parseWeights(flags.weights),
        client: flags.client,
        attributionDays: flags['attribution-days'],
      });
      const total = e.variants.reduce((a, v) => a + v.weight, 0);
      this.say(
        `Started experiment ${e.name} for ${e.clientUsername ? `client ${e.clientUsername}` : 'every client'}: ${e.variants
          .map((v) => `${v.name} = ${v.modelVersion} (${((100 * v.weight) / total).toFixed(0)} %)`)
          .join(', ')}.`,
      );
      return experimentJson(e);
    });
  }
}
