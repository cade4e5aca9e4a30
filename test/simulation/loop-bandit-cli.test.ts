import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/engines.js';

/** `reco simulate loop --compare-allocation`: the bandit against a 50/50 split in process, no server, no database. */
describe('reco simulate loop --compare-allocation (CLI)', () => {
  const root = tempDir('reco-bandit-cli-');
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('prints the regret of each allocation and what the bandit saved; --json carries the figures', async () => {
    const world = path.join(root, 'w');
    const data = await runCli(
      ['simulate', 'data', '--ratings', '30000', '--movies', '1000', '--users', '600', '--seed', '11', '--out', world],
      { env: { RECO_DATA_DIR: root } },
    );
    expect(data.code).toBe(0);
    const args = [
      'simulate',
      'loop',
      '--world',
      world,
      '--compare-allocation',
      'popular,ease',
      '--users',
      '2000',
      '--days',
      '14',
      '--seed',
      '7',
    ];
    const text = await runCli(args, { env: { RECO_DATA_DIR: root } });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^fixed 50\/50: \d+ conversions, regret 182 /m);
    expect(text.stdout).toMatch(
      /^regret saved by the bandit: 66 conversions \(36 % of the fixed split's\); it picks treatment/m,
    );
    const json = await runCli([...args, '--json'], { env: { RECO_DATA_DIR: root } });
    const r = JSON.parse(json.stdout);
    expect(r).toMatchObject({
      best: 'treatment',
      regret_saved: 66,
      fixed: { regret: 182 },
      bandit: { regret: 116, pick: 'treatment' },
    });
    const bad = await runCli(['simulate', 'loop', '--world', world, '--compare-allocation', 'popular'], {
      env: { RECO_DATA_DIR: root },
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--compare-allocation takes two algorithms, control then treatment/);
  }, 120_000);
});
