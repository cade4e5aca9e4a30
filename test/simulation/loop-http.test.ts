import fs from 'node:fs';
import path from 'node:path';
import { loadModel } from '../../src/core/models/index.js';
import { ingest } from '../../src/core/pipeline/index.js';
import { readWorldBeside, writeShapedData } from '../../src/core/simulation/shaped-data.js';
import type { ShapedWorld } from '../../src/core/simulation/shaped-world.js';
import { InProcessPlatform, runHttpLoop, runLoop, type ArmSummary } from '../../src/core/simulation/loop/index.js';
import { trainModel } from '../../src/core/training/train.js';
import { startServer, type RecoServer } from '../../src/server/index.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, tempDir, type TestDatabase } from '../helpers/engines.js';

/**
 * The closed loop through the real API: a world ingested and trained on by the real pipeline, a real server on
 * loopback, users created by their first POST /recommendations and reacting through POST /feedback.
 */
describe('reco simulate loop against a real reco serve', () => {
  let t: TestDatabase;
  let server: RecoServer;
  let world: ShapedWorld;
  let modelFile: string;
  let expected: ArmSummary[];
  const root = tempDir('reco-loop-http-');
  const worldDir = path.join(root, 'world');

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    await writeShapedData({ ratings: 20_000, movies: 800, users: 400, seed: 5, niche: true, out: worldDir });
    world = readWorldBeside(worldDir)!;
    await ingest(t.db, { from: worldDir, dataDir: root });
    const modelsDir = path.join(root, 'models');
    const trained = await trainModel(t.db, { algorithm: 'ease', modelsDir });
    modelFile = path.join(trained.artifactDir, 'model.bin');
    server = await startServer({
      db: t.db,
      config: {
        dataDir: root,
        jwtSecret: 'loop-test-secret-0123456789abcdef0123456789',
        tokenTtlSeconds: 3600,
        production: false,
      },
      modelPollMs: 0,
      port: 0,
      host: '127.0.0.1',
    });
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await t?.drop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const options = (username: string) => ({
    url: server.url!,
    world,
    users: 150,
    days: 5,
    seed: 9,
    concurrency: 4,
    allowRemote: false,
    username,
    password: 'loop password 123',
  });

  it('creates the users, sends their reactions, and gets through the API what the model gives in process', async () => {
    const r = await runHttpLoop(options('loop-a'));
    expect(r.client).toEqual({ username: 'loop-a', registered: true });
    expect(r.arms.map((a) => a.arm)).toEqual(['all']);
    const [all] = r.arms;
    expect(all.users).toBe(150);
    expect(all.lists).toBe(r.visits);
    expect(r.http.recommendation_requests).toBe(r.visits);
    expect(r.http.rejected).toBe(0);
    expect(r.http.accepted).toBe(r.http.events);
    expect(all.conversions).toBeGreaterThan(0);
    expect(r.comparisons).toEqual([]);
    // The server keeps the histories and exclusions the in-process platform keeps: the same model, users and
    // reactions give exactly the same outcomes.
    const inProcess = await runLoop(
      { world, users: 150, days: 5, seed: 9 },
      new InProcessPlatform([{ name: 'all', model: loadModel(fs.readFileSync(modelFile)) }], 9),
    );
    expect(r.arms).toEqual(inProcess.arms);
    expected = r.arms;
  }, 120_000);

  it('from the CLI: --json, snake_case; same seed on a fresh client → the same outcomes', async () => {
    const cli = await runCli(
      [
        'simulate',
        'loop',
        '--world',
        worldDir,
        '--url',
        server.url!,
        '--users',
        '150',
        '--days',
        '5',
        '--seed',
        '9',
        '--concurrency',
        '4',
        '--json',
      ],
      { timeoutMs: 120_000 },
    );
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const report = JSON.parse(cli.stdout);
    expect(report.arms).toEqual(expected);
    expect(Object.keys(report.http).sort()).toEqual([
      'accepted',
      'events',
      'feedback_requests',
      'rate_limited',
      'recommendation_requests',
      'rejected',
    ]);
    expect(report.client.username).toMatch(/^loop-sim-[0-9a-f]{8}$/);
    const bad = await runCli(['simulate', 'loop', '--world', root, '--url', server.url!]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/no world\.json/);
  }, 180_000);
});
