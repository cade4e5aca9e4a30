import { Args, Flags } from '@oclif/core';
import { RecoCommand } from '../../cli/base-command.js';
import { setClientTrusted } from '../../core/db/repositories/clients.js';
import { RecoError } from '../../core/errors.js';

export default class ClientsTrust extends RecoCommand {
  static override summary = "Let a client's ratings train the models (or, with --revoke, stop them)";
  static override description =
    "Only trusted clients' ratings train the models and form the holdout that decides activation; an untrusted client's users are still served from their own histories. Clients made by reco ingest are trusted; API clients are not until trusted here. Takes effect at the next reco train. See docs/models.md.";
  static override examples = [
    '<%= config.bin %> clients trust netflix',
    '<%= config.bin %> clients trust netflix --revoke',
  ];
  static override args = {
    username: Args.string({ required: true, description: 'the client username' }),
  };
  static override flags = {
    revoke: Flags.boolean({ description: 'mark the client untrusted again' }),
  };

  async run() {
    const { args, flags } = await this.parse(ClientsTrust);
    const trusted = !flags.revoke;
    return this.withDb(async (db) => {
      if (!(await setClientTrusted(db, args.username, trusted)))
        throw new RecoError(`no client "${args.username}" (see reco clients list)`);
      this.say(
        trusted
          ? `Client ${args.username} is trusted: its ratings train the models from the next reco train.`
          : `Client ${args.username} is no longer trusted: the next reco train ignores its ratings.`,
      );
      return { username: args.username, trusted };
    });
  }
}
