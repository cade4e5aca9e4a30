import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { parseDockerfile } from '../k8s/support.js';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

/** The package names that src/ and bin/ import (node: built-ins aside). */
function importedPackages(): Set<string> {
  const files = ['src', 'bin'].flatMap((d) =>
    (fs.readdirSync(path.join(ROOT, d), { recursive: true }) as string[])
      .filter((f) => /\.(ts|js)$/.test(f))
      .map((f) => path.join(ROOT, d, f)),
  );
  const names = new Set<string>();
  for (const f of files) {
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/(?:from\s+|import\(\s*)'([^'./][^']*)'/g)) {
      if (m[1].startsWith('node:')) continue;
      const parts = m[1].split('/');
      names.add(m[1].startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
    }
  }
  return names;
}

describe('dependencies', () => {
  it('the runtime dependencies are exactly what src/ and bin/ import plus the oclif plugins; test-only packages are devDependencies', () => {
    const expected = new Set([...importedPackages(), ...pkg.oclif.plugins]);
    expect(Object.keys(pkg.dependencies).sort()).toEqual([...expected].sort());
    // ml-matrix is a runtime dependency since EASE's tail solves its small systems with it (src/core/models/ease-tail.ts).
    for (const testOnly of ['yaml']) {
      expect(pkg.dependencies[testOnly]).toBeUndefined();
      expect(pkg.devDependencies[testOnly]).toBeDefined();
    }
  });
});

describe("the Dockerfile's argon2 build", () => {
  const hasCompiler = ['make', 'g++', 'python3'].every(
    (c) => spawnSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' }).status === 0,
  );
  const nodeHeaders = fs.existsSync(
    path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node', 'node_api.h'),
  );

  (hasCompiler && nodeHeaders ? it : it.skip)(
    'compiles the addon from source with no npm warning',
    () => {
      const run = parseDockerfile(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).find(
        (i) => i.instruction === 'RUN' && /argon2/.test(i.args) && /rebuild/.test(i.args),
      );
      expect(run).toBeDefined();
      expect(run!.args).not.toMatch(/--build-from-source|npm_config_build_from_source/);
      // A copy of argon2 (without its build) beside links to the other installed packages, as in the build stage.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-argon2-'));
      try {
        const modules = path.join(dir, 'node_modules');
        fs.mkdirSync(modules);
        for (const name of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
          if (name !== 'argon2') fs.symlinkSync(path.join(ROOT, 'node_modules', name), path.join(modules, name));
        }
        fs.cpSync(path.join(ROOT, 'node_modules', 'argon2'), path.join(modules, 'argon2'), {
          recursive: true,
          filter: (src) => !src.includes(`${path.sep}build${path.sep}`) && !src.endsWith(`${path.sep}build`),
        });
        const r = spawnSync('sh', ['-c', run!.args], {
          cwd: dir,
          encoding: 'utf8',
          env: { ...process.env, NODE_OPTIONS: '' },
          timeout: 300_000,
        });
        expect(`${r.status}\n${r.stderr.slice(-2000)}`).toMatch(/^0\n/);
        expect(`${r.stdout}${r.stderr}`).not.toMatch(/npm warn|Unknown (cli|env) config/i);
        const addon = path.join(modules, 'argon2', 'build', 'Release', 'argon2.node');
        expect(fs.readFileSync(addon).subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46])); // an ELF shared object
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    320_000,
  );
});
