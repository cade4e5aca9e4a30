import fs from 'node:fs';
import { Flags } from '@oclif/core';
import { RecoCommand } from '../cli/base-command.js';
import { progressBar } from '../cli/progress.js';
import { dataPaths } from '../core/config.js';
import { countMovies } from '../core/db/repositories/movies-query.js';
import { RecoError } from '../core/errors.js';
import { serveFlags, serveOptions } from '../cli/flags.js';

export default class Quickstart extends RecoCommand {
  static override summary =
    'Load the initial data, train a model and serve the API: each step skipped when already done';
  static override description = `The first command of a fresh install. On the database configured (embedded by default, DATABASE_URL otherwise):
1. when the catalogue is empty, ingests <data dir>/initial_data (MovieLens ml-latest-small) for the client "default";
2. when no model is active, trains one (algorithm auto: the best by holdout nDCG@10) and activates it;
3. serves the API like \`reco serve\` until Ctrl-C or SIGTERM.
Each step says whether it ran or was skipped. Then see docs/api.md for the curl session (create a client, get a token, ask for recommendations).`;
  static override examples = [
    '<%= config.bin %> quickstart',
    '<%= config.bin %> quickstart --port 8080',
    'DATABASE_URL=postgres://reco@localhost/reco <%= config.bin %> quickstart',
  ];
  static override flags = {
    ...serveFlags,
    'no-serve': Flags.boolean({
      description: 'stop after loading and training (e.g. to prepare an image or a CI run)',
    }),
  };

  async run() {
    const { flags } = await this.parse(Quickstart);
    const config = this.settings;
    return this.withDb(
      async (db) => {
        // 1. Data
        const movies = await countMovies(db);
        let ingest: { skipped: boolean; accepted?: number; rejected?: number; movies: number } = {
          skipped: true,
          movies,
        };
        if (movies > 0) {
          this.note(`1/3 data: the catalogue has ${movies} movies already, skipping the initial load`);
        } else {
          const from = dataPaths(config.dataDir).initialData;
          if (!fs.existsSync(from)) {
            throw new RecoError(`the database is empty and ${from} does not exist`, {
              hint: 'set RECO_DATA_DIR to the folder holding initial_data/, or run reco ingest --from <folder>',
            });
          }
          this.note(`1/3 data: loading ${from} …`);
          const { ingest: run } = await import('../core/pipeline/index.js');
          const bar = progressBar({ label: 'ingest', total: 1, enabled: !this.jsonEnabled(), unit: 'bytes' });
          const summary = await run(db, {
            from,
            dataDir: config.dataDir,
            onProgress: (p) => {
              bar.setTotal(Math.max(1, p.bytesTotal));
              bar.update(p.bytesDone);
            },
          });
          bar.stop();
          ingest = {
            skipped: false,
            accepted: summary.accepted,
            rejected: summary.rejected,
            movies: await countMovies(db),
          };
          this.note(
            `    loaded ${summary.accepted} rows (${summary.rejected} rejected, see ${dataPaths(config.dataDir).rejected}) in ${(summary.durationMs / 1000).toFixed(1)} s`,
          );
        }

        // 2. Model
        const { activeModelVersion } = await import('../core/training/registry.js');
        const active = await activeModelVersion(db);
        let model: { skipped: boolean; version: string | null; algorithm?: string };
        if (active) {
          this.note(`2/3 model: ${active} is active, skipping training`);
          model = { skipped: true, version: active };
        } else {
          this.note('2/3 model: training (algorithm auto) …');
          const { trainModel } = await import('../core/training/train.js');
          const trained = await trainModel(db, {
            modelsDir: config.modelsDir,
            onProgress: (message) => this.note(`    ${message}`),
          });
          model = { skipped: false, version: trained.version, algorithm: trained.algorithm };
          const ndcg = trained.metrics.ndcg_at_10;
          this.note(
            `    trained ${trained.version} (${trained.algorithm}${ndcg !== undefined ? `, holdout nDCG@10 ${ndcg.toFixed(3)}` : ''})${trained.activated ? ' and activated it' : ''}`,
          );
        }
        if (flags['no-serve']) return { ingest, model, serve: null };

        // 3. Serve
        this.note('3/3 serve: starting the API …');
        const { serveUntilSignal } = await import('../server/run.js');
        const serve = await serveUntilSignal(db, config, {
          ...serveOptions(flags),
          logTo: this.jsonEnabled() ? 'stderr' : 'stdout',
          onListening: (url) =>
            this.note(
              `reco is ready: ${url} (docs at ${url}/docs; the curl session is in docs/api.md; Ctrl-C to stop)`,
            ),
        });
        return { ingest, model, serve };
      },
      { poolSize: this.settings.dbPoolSize, keepOpen: true },
    );
  }
}
