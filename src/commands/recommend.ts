import { Flags } from '@oclif/core';
import { RecoCommand } from '../cli/base-command.js';
import { clientExists, clientUserHistory, movieDetails } from '../core/db/repositories/training-data.js';
import { RecoError } from '../core/errors.js';
import { publicUserId, USER_ID_PATTERN } from '../server/user-ids.js';

export default class Recommend extends RecoCommand {
  static override summary = "Recommend movies for one of a client's users with the active model";
  static override description =
    'Uses the model the API serves (the active version in the registry; the popularity fallback when none is trained yet) on the ratings stored for that user. --user is the user id as the client (platform) knows it, as in ratings.csv and in the API.';
  static override examples = [
    '<%= config.bin %> recommend --client initial --user 1',
    '<%= config.bin %> recommend --client netflix --user 42 -n 20 --json',
    '<%= config.bin %> recommend --client acme --user acct:42',
  ];
  static override flags = {
    client: Flags.string({ description: 'username of the client (platform) the user belongs to', required: true }),
    user: Flags.string({
      description: "the user's id at that client: its own id (1–128 of A-Z a-z 0-9 . _ : @ -) or an integer",
      required: true,
    }),
    n: Flags.integer({ char: 'n', description: 'how many movies', default: 10, min: 1, max: 100 }),
  };

  async run() {
    const { flags } = await this.parse(Recommend);
    if (!USER_ID_PATTERN.test(flags.user))
      throw new RecoError(`--user ${JSON.stringify(flags.user)} is not a user id`, {
        hint: 'a user id is 1–128 letters, digits and . _ : @ - (an integer is its decimal form)',
      });
    const { buildFallbackModel, loadActiveModel } = await import('../core/training/registry.js');
    return this.withDb(async (db) => {
      if (!(await clientExists(db, flags.client)))
        throw new RecoError(`no client named ${flags.client}`, { hint: 'see reco clients list' });
      const history = await clientUserHistory(db, flags.client, flags.user);
      if (!history) throw new RecoError(`client ${flags.client} has no user ${flags.user}`);
      const loaded = (await loadActiveModel(db)) ?? (await buildFallbackModel(db));
      const recs = loaded.model.recommend({ movieIds: history.movieIds, ratings: history.ratings }, flags.n);
      const details = await movieDetails(
        db,
        recs.map((r) => r.movieId),
      );
      const out = recs.map((r, i) => ({
        rank: i + 1,
        movie_id: r.movieId,
        title: details.get(r.movieId)?.title ?? '(not in the catalogue)',
        genres: details.get(r.movieId)?.genres ?? [],
        score: r.score,
      }));
      this.say(
        `${flags.client} user ${flags.user}: ${history.movieIds.length} ratings; model ${loaded.algorithm} ${loaded.version}`,
      );
      for (const r of out)
        this.say(
          `${String(r.rank).padStart(3)}. ${r.title} [${r.genres.join('|')}] (movie ${r.movie_id}, score ${r.score.toFixed(4)})`,
        );
      if (out.length === 0) this.say('(no recommendations: the model knows no movie this user has not rated)');
      return {
        client: flags.client,
        user_id: publicUserId(flags.user),
        model: { algorithm: loaded.algorithm, version: loaded.version },
        rated: history.movieIds.length,
        recommendations: out,
      };
    });
  }
}
