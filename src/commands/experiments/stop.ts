import { Args, Flags } from '@oclif/core';
import { RecoCommand } from '../../cli/base-command.js';
import { experimentJson } from '../../cli/experiments.js';

export default class ExperimentsStop extends RecoCommand {
  static override summary = 'Stop an experiment, optionally promoting a variant';
  static override description =
    "Servers stop assigning variants (every user gets the active model again) and drop the variants' models. --promote VARIANT also activates that variant's model version in the registry, in the same transaction, as reco models activate does. A stopped experiment can still be promoted. Its report stays readable.";
  static override examples = [
    '<%= config.bin %> experiments stop ease-vs-popular',
    '<%= config.bin %> experiments stop ease-vs-popular --promote treatment',
  ];
  static override args = {
    name: Args.string({ required: true, description: 'a name from reco experiments list' }),
  };
  static override flags = {
    promote: Flags.string({ description: "activate this variant's model version", helpValue: 'VARIANT' }),
  };

  async run() {
    const { stopExperiment } = await import('../../core/experiments/manage.js');
    const { args, flags } = await this.parse(ExperimentsStop);
    return this.withDb(async (db) => {
      const r = await stopExperiment(db, args.name, flags.promote);
      if (r.stopped) this.say(`Stopped experiment ${r.experiment.name}.`);
      if (r.promoted) {
        const p = r.promoted;
        this.say(
          p.changed
            ? `Activated ${p.version} (variant ${p.variant})${p.previousVersion ? `, was ${p.previousVersion}` : ''}.`
            : `${p.version} (variant ${p.variant}) was already active.`,
        );
      }
      return { ...experimentJson(r.experiment), stopped: r.stopped, promoted: r.promoted };
    });
  }
}
