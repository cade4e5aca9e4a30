import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childEnv, ROOT } from '../helpers/cli.js';

/**
 * CLI start-up: `npm run build` writes oclif.manifest.json, so the built CLI imports only the command it runs
 * (without it oclif imports every command module, and what they import, to list them); bin/dev.js ignores any
 * manifest, whose entries name modules in dist/, so the sources never run as a stale build.
 * Everything happens in a private copy of the package (the shared dist/ is not touched).
 */
describe('CLI start-up', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-startup-'));
  const trace = path.join(dir, 'trace');

  beforeAll(() => {
    fs.cpSync(path.join(ROOT, 'src'), path.join(dir, 'src'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'bin'));
    for (const f of ['package.json', 'tsconfig.json', 'bin/run.js', 'bin/dev.js'])
      fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    // Under jest NODE_ENV is "test": the build must still write a manifest of dist/ (oclif would map it to src/).
    execFileSync('npm', ['run', 'build'], { cwd: dir, stdio: 'pipe', env: { ...process.env, NODE_OPTIONS: '' } });
    // An ESM resolve hook that appends every module URL the CLI imports to $RECO_TRACE_FILE.
    fs.mkdirSync(trace);
    fs.writeFileSync(
      path.join(trace, 'hooks.mjs'),
      "import fs from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); fs.appendFileSync(process.env.RECO_TRACE_FILE, r.url + '\\n'); return r; }\n",
    );
    fs.writeFileSync(
      path.join(trace, 'register.mjs'),
      "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n",
    );
  }, 180_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Runs the CLI of the private copy; returns its output and the modules it imported. */
  function run(bin: string[], args: string[]) {
    const file = path.join(trace, `modules-${Math.random().toString(36).slice(2)}`);
    fs.writeFileSync(file, '');
    // No NODE_ENV: jest sets it to "test", under which oclif would compile and run src/ through tsx even for bin/run.js.
    const env = childEnv({ RECO_TRACE_FILE: file, RECO_DATA_DIR: path.join(dir, 'data') });
    const r = spawnSync(process.execPath, ['--import', path.join(trace, 'register.mjs'), ...bin, ...args], {
      cwd: dir,
      env,
      encoding: 'utf8',
    });
    return {
      code: r.status,
      stdout: r.stdout,
      stderr: r.stderr,
      modules: fs.readFileSync(file, 'utf8').split('\n').filter(Boolean),
    };
  }
  const built = ['bin/run.js'];
  const dev = ['--import', 'tsx', 'bin/dev.js'];
  const commandModules = (modules: string[], under: string) =>
    modules.filter((u) => u.includes(`/${under}/commands/`)).map((u) => u.replace(/.*\/commands\//, ''));

  it('the build writes a manifest with every command, and the built CLI imports no command module for --version or the command list', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'oclif.manifest.json'), 'utf8'));
    const sources = (fs.readdirSync(path.join(ROOT, 'src/commands'), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.replace(/\.ts$/, '').split(path.sep).join(':'))
      .sort();
    expect(
      Object.keys(manifest.commands)
        .filter((id) => id !== 'help')
        .sort(),
    ).toEqual(sources);
    for (const c of Object.values<any>(manifest.commands))
      if (c.pluginName === 'reco') expect(c.relativePath[0]).toBe('dist');
    expect(manifest.version).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);

    const version = run(built, ['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^reco\/\d+\.\d+\.\d+ /);
    expect(version.modules.length).toBeGreaterThan(0); // the trace works
    expect(commandModules(version.modules, 'dist')).toEqual([]);
    const help = run(built, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/ingest\s+Load MovieLens files/);
    expect(commandModules(help.modules, 'dist')).toEqual([]);
  });

  it('the built CLI imports only the command it runs: reco ingest loads neither the server nor the models', () => {
    const r = run(built, ['ingest', '--from', path.join(dir, 'no-such-folder')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no-such-folder/);
    expect(commandModules(r.modules, 'dist')).toEqual(['ingest.js']);
    expect(
      r.modules.filter((u) => /\/dist\/server\/|\/dist\/core\/models\/|\/node_modules\/(express|ml-)/.test(u)),
    ).toEqual([]);
  });

  it('bin/dev.js runs the sources and ignores a stale manifest (a command missing, a summary changed)', () => {
    const file = path.join(dir, 'oclif.manifest.json');
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
    delete manifest.commands.ingest;
    manifest.commands.serve.summary = 'STALE SUMMARY';
    fs.writeFileSync(file, JSON.stringify(manifest));
    // The built CLI believes its manifest (what the build must keep current) …
    expect(run(built, ['--help']).stdout).toMatch(/STALE SUMMARY/);
    // … the development CLI does not: it lists and runs the commands of src/.
    const help = run(dev, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).not.toMatch(/STALE SUMMARY/);
    expect(help.stdout).toMatch(/ingest\s+Load MovieLens files/);
    expect(help.stdout).toMatch(/serve\s+Serve the recommendation API/);
    const r = run(dev, ['ingest', '--from', path.join(dir, 'no-such-folder')]);
    expect(r.code).toBe(2);
    expect(r.modules.some((u) => u.endsWith('/src/commands/ingest.ts'))).toBe(true);
    expect(commandModules(r.modules, 'dist')).toEqual([]);
  });
});
