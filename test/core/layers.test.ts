import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The layers of docs/architecture.md: the import rules of .dependency-cruiser.cjs hold (npm run lint:deps), and
 * the constants that have one home are used from it. No database.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DEPCRUISE = path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

function sources(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

function cruise(...targets: string[]) {
  return spawnSync(
    process.execPath,
    [DEPCRUISE, ...targets, '--config', '.dependency-cruiser.cjs', '--output-type', 'err'],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
  );
}

describe('import rules', () => {
  test('src, test and bench keep the allowed import directions', () => {
    const r = cruise('src', 'test', 'bench');
    expect(r.stdout + r.stderr).not.toMatch(/error/);
    expect(r.status).toBe(0);
  }, 120_000);

  test('the rules catch a model importing training and a core module importing pg', () => {
    const dir = path.join(ROOT, 'src/core/models/__layers_probe__');
    fs.mkdirSync(dir, { recursive: true });
    try {
      fs.writeFileSync(
        path.join(dir, 'probe.ts'),
        "import '../../training/train.js';\nimport pg from 'pg';\nexport const probe = pg;\n",
      );
      const r = cruise('src/core/models/__layers_probe__');
      expect(r.status).not.toBe(0);
      expect(r.stdout).toMatch(/models-evaluation-below-training/);
      expect(r.stdout).toMatch(/database-drivers-in-db-only/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('one home per constant', () => {
  test('SQLSTATEs are written out only in src/core/db/pg-errors.ts', () => {
    const sqlstate = /['"`](?:0[0-9A-Z]|[1-9][0-9A-Z]|[3-5][0-9A-Z]|P0)[0-9A-Z]{3}['"`]/;
    const offenders = sources('src')
      .filter((f) => f !== 'src/core/db/pg-errors.ts' && !f.startsWith('src/core/db/migrations/'))
      .filter((f) =>
        fs
          .readFileSync(path.join(ROOT, f), 'utf8')
          .split('\n')
          .some((l) => sqlstate.test(l)),
      );
    expect(offenders).toEqual([]);
  });

  test('the ingest test hook is an option: src/core reads no RECO_INGEST_TEST_ variable', () => {
    const offenders = sources('src/core').filter((f) =>
      fs.readFileSync(path.join(ROOT, f), 'utf8').includes('RECO_INGEST_TEST_'),
    );
    expect(offenders).toEqual([]);
  });

  test('commands export only their command class (shared flags live in src/cli/flags.ts)', () => {
    const offenders = sources('src/commands').filter((f) =>
      /^export (const|function|class (?!\w+ extends))/m.test(fs.readFileSync(path.join(ROOT, f), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });
});
