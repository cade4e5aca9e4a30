import { Args } from '@oclif/core';
import { RecoCommand } from '../../cli/base-command.js';

export default class ModelsActivate extends RecoCommand {
  static override summary = 'Make a trained model version the one the API serves';
  static override description = 'Flips the active flag in the registry and notifies running servers (they swap models without a restart, or within their poll interval). Use it to roll back to an earlier version; versions are listed by reco models list.';
  static override examples = ['<%= config.bin %> models activate 20261126T212501Z-ease-3f9a'];
  static override args = {
    version: Args.string({ required: true, description: 'a version from reco models list' }),
  };

  async run() {
    const { activateModel } = await import('../../core/training/registry.js');
    const { args } = await this.parse(ModelsActivate);
    return this.withDb(async (db) => {
      const r = await activateModel(db, args.version);
      this.say(r.changed ? `Activated ${r.version}${r.previousVersion ? ` (was ${r.previousVersion})` : ''}.` : `${r.version} was already active.`);
      return { version: r.version, previous_version: r.previousVersion ?? null, changed: r.changed };
    });
  }
}
