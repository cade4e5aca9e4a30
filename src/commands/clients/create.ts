import { Args, Flags } from '@oclif/core';
import { RecoCommand } from '../../cli/base-command.js';
import { canPrompt, promptPassword, readStdin } from '../../cli/prompts.js';
import { createClient } from '../../core/db/repositories/clients.js';
import { RecoError } from '../../core/errors.js';

export default class ClientsCreate extends RecoCommand {
  static override summary = 'Register an API client (a streaming platform)';
  static override description =
    'The client logs in to the API with this username and password (POST /token). The password is asked for on a terminal (hidden), or read from stdin with --password-stdin; it is stored as an argon2id hash only.';
  static override examples = [
    '<%= config.bin %> clients create netflix',
    'printf %s "$PASSWORD" | <%= config.bin %> clients create netflix --password-stdin --name "Netflix" --email ops@example.com',
    '<%= config.bin %> clients create netflix --trusted   # its ratings train the models (see reco clients trust)',
  ];
  static override args = {
    username: Args.string({ required: true, description: 'login name: 2–64 letters, digits and _ . @ -' }),
  };
  static override flags = {
    'password-stdin': Flags.boolean({ description: 'read the password from standard input instead of prompting' }),
    name: Flags.string({ description: 'display name of the platform' }),
    email: Flags.string({ description: 'contact e-mail' }),
    trusted: Flags.boolean({
      description:
        "train the models on this client's ratings (API clients are untrusted by default; see docs/models.md)",
    }),
  };

  async run() {
    const { args, flags } = await this.parse(ClientsCreate);
    let password: string;
    if (flags['password-stdin']) password = await readStdin();
    else if (canPrompt({ json: this.jsonEnabled() }))
      password = await promptPassword(`Password for ${args.username}:`, { confirm: true });
    else
      throw new RecoError(
        'no password given: pass --password-stdin and write the password to stdin (no terminal to prompt on)',
      );

    return this.withDb(async (db) => {
      const client = await createClient(db, {
        username: args.username,
        password,
        name: flags.name,
        email: flags.email,
        trusted: flags.trusted,
      });
      this.say(`Created client ${client.username} (id ${client.id}${client.trusted ? ', trusted' : ''}).`);
      return {
        client_id: client.id,
        username: client.username,
        name: client.name,
        email: client.email,
        trusted: client.trusted,
        created_at: client.created_at,
      };
    });
  }
}
