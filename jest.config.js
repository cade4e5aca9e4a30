/**
 * jest 30 + ts-jest in ESM mode (run with NODE_OPTIONS=--experimental-vm-modules, see package.json).
 * ts-jest only transpiles (isolatedModules, no diagnostics): type-checking per file made cold files slow;
 * `npm run typecheck` checks the whole tree once instead, and .ci/run runs it before the tests.
 *
 * Four projects, each run alone with `npm run test:<name>` (`npm test` runs them all):
 *  - unit: no database, no child process;
 *  - cli: starts processes (the CLI, `reco serve`, dependency-cruiser, Chromium, a child Node);
 *  - k8s: the manifests, dashboards, alert rules, image and setup.sh;
 *  - db: everything else, on PGlite and PostgreSQL: the catch-all, so a new test file always runs somewhere.
 * A file belongs to the first of k8s, unit, cli, db whose globs match it (`npx jest --listTests` lists each once).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Absolute: jest replaces <rootDir> only at the start of a glob, not after a negating `!`.
const TEST_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'test');
const t = (glob) => `${TEST_DIR}/${glob}`;

const GLOBS = {
  k8s: [t('k8s/**/*.test.ts')],
  unit: [
    t('docs/**/*.test.ts'),
    t('evaluation/**/*.test.ts'),
    t('core/{batched-histogram,counter-batch}.test.ts'),
    t('models/{algorithms,auto,ease-session,item-weights,kth-largest,rp3beta,spd-inverse}.test.ts'),
    t('cli/{json-output,table}.test.ts'),
    t('pipeline/{csv-bytes,process-ratings,rating-load}.test.ts'),
    t('server/{answer-cache,catalogue-paths,cold-start-pool}.test.ts'),
    t('simulation/{data,learnable}.test.ts'),
    t('experiments/stats.test.ts'),
    t('reports/html.test.ts'),
  ],
  cli: [
    t('cli/**/*.test.ts'),
    t('faults/**/*.test.ts'),
    t('**/cli.test.ts'),
    t('**/*-cli.test.ts'),
    t('core/{batched-log,layers}.test.ts'),
    t('backup/integrity.test.ts'),
    t('server/{quickstart,openapi-lint}.test.ts'),
    t('simulation/{shaped-data,traffic}.test.ts'),
    t('reports/{charts,evaluation-html}.test.ts'), // headless Chromium
  ],
  db: [t('**/*.test.ts')],
};

const shared = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.jest.json', diagnostics: false }],
  },
  testTimeout: 60000,
};

const order = Object.keys(GLOBS);
export default {
  projects: order.map((name, i) => ({
    ...shared,
    displayName: name,
    testMatch: [...GLOBS[name], ...order.slice(0, i).flatMap((earlier) => GLOBS[earlier].map((g) => `!${g}`))],
  })),
  testTimeout: 60000,
  maxWorkers: 2,
};
