/**
 * The allowed import directions of src/ (docs/architecture.md). `npm run lint:deps` checks them; .ci/run and
 * test/docs/layers.test.ts run it. A rule that fails names the import that broke it.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules form layers: no import cycle, not even through type-only imports.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'core-not-above',
      severity: 'error',
      comment: 'The library knows nothing of its shells: src/core never imports src/server, src/commands or src/cli.',
      from: { path: '^src/core/' },
      to: { path: '^src/(server|commands|cli)/' },
    },
    {
      name: 'server-not-commands',
      severity: 'error',
      comment: 'The HTTP server is used by commands, never the other way round.',
      from: { path: '^src/server/' },
      to: { path: '^src/(commands|cli)/' },
    },
    {
      name: 'cli-not-commands',
      severity: 'error',
      comment: 'src/cli is what the commands share; it imports none of them.',
      from: { path: '^src/cli/' },
      to: { path: '^src/(commands|server)/' },
    },
    {
      name: 'database-drivers-in-db-only',
      severity: 'error',
      comment: 'Only src/core/db talks to the database drivers (SQL lives in src/core/db).',
      from: { path: '^src/', pathNot: '^src/core/db/' },
      to: { path: 'node_modules/(pg|@electric-sql/pglite|pg-copy-streams)/' },
    },
    {
      name: 'charts-in-reports-only',
      severity: 'error',
      comment: 'Only src/core/reports renders charts (vega, vega-lite); the rest hands it data and specs.',
      from: { path: '^src/', pathNot: '^src/core/reports/' },
      to: { path: 'node_modules/vega(-lite)?/' },
    },
    {
      name: 'reports-render-what-they-are-given',
      severity: 'error',
      comment: 'core/reports turns results into HTML; it never reads the database itself.',
      from: { path: '^src/core/reports/' },
      to: { path: '^src/core/db/' },
    },
    {
      name: 'models-evaluation-below-training',
      severity: 'error',
      comment: 'core/training (train, auto selection, registry) sits above core/models and core/evaluation.',
      from: { path: '^src/core/(models|evaluation)/' },
      to: { path: '^src/core/training/' },
    },
    {
      name: 'models-below-evaluation',
      severity: 'error',
      comment: 'core/evaluation scores models; the models never import it.',
      from: { path: '^src/core/models/' },
      to: { path: '^src/core/evaluation/' },
    },
    {
      name: 'data-is-the-bottom',
      severity: 'error',
      comment: 'core/data (interactions, the seeded random generator) imports nothing else of src.',
      from: { path: '^src/core/data/' },
      to: { path: '^src/', pathNot: '^src/core/data/' },
    },
    {
      name: 'db-below-the-flows',
      severity: 'error',
      comment: 'The database layer is below every flow: it never imports pipeline, models, evaluation, training, simulation or backup.',
      from: { path: '^src/core/db/' },
      to: { path: '^src/core/(pipeline|models|evaluation|training|simulation|backup|data)/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'Every import resolves (a moved file left no stale path behind).',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
  },
};
