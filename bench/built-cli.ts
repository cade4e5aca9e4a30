import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/**
 * The CLI as installed, for benchmarks that measure what users run: the sources compiled by tsc into `dir`/dist
 * next to a copy of package.json, bin/run.js and the oclif manifest, node_modules linked (the shared dist/ is not
 * touched). `root`: the sources to build, this checkout by default (another revision's, with node_modules linked,
 * for a comparison). Undefined (and why, on stderr) when the sources do not compile.
 */
export function buildCli(dir: string, root = ROOT): string | undefined {
  try {
    execFileSync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/typescript/bin/tsc'),
        '-p',
        path.join(root, 'tsconfig.json'),
        '--outDir',
        path.join(dir, 'dist'),
      ],
      { stdio: 'pipe' },
    );
  } catch (err: any) {
    console.error(`(the built CLI is skipped: tsc failed: ${String(err.stdout ?? err.message).slice(0, 500)})`);
    return undefined;
  }
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  fs.copyFileSync(path.join(root, 'bin/run.js'), path.join(dir, 'bin/run.js'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  // As `npm run build` does: the oclif manifest, without which oclif imports every command module at start-up.
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/oclif/bin/run.js'), 'manifest'], {
    cwd: dir,
    stdio: 'pipe',
    env: { ...process.env, NODE_ENV: 'production', OCLIF_SKIP_NEW_VERSION_CHECK: 'true' },
  });
  return path.join(dir, 'bin/run.js');
}
