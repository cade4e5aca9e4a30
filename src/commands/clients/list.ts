import { RecoCommand } from '../../cli/base-command.js';
import { formatTable } from '../../cli/table.js';
import { listClients } from '../../core/db/repositories/clients.js';

export default class ClientsList extends RecoCommand {
  static override summary = 'List API clients and how many users each has';
  static override examples = ['<%= config.bin %> clients list', '<%= config.bin %> clients list --json'];

  async run() {
    await this.parse(ClientsList);
    return this.withDb(async (db) => {
      const clients = await listClients(db);
      if (clients.length === 0) this.say('No clients yet. Create one with `reco clients create USERNAME`.');
      else
        this.say(
          formatTable(
            clients.map((c) => ({
              ...c,
              login: c.has_password ? (c.disabled ? 'disabled' : 'yes') : 'no password',
              trains: c.trusted ? 'yes' : 'no',
            })),
            [
              { key: 'id', align: 'right' },
              { key: 'username' },
              { key: 'name' },
              { key: 'users', align: 'right' },
              { key: 'login' },
              { key: 'trains', header: 'trusted' },
              { key: 'created_at', header: 'created' },
            ],
          ),
        );
      return { clients: clients.map(({ has_password, ...c }) => ({ ...c, can_log_in: has_password && !c.disabled })) };
    });
  }
}
