import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin', 'run.js');
export const DEV_BIN = path.join(ROOT, 'bin', 'dev.js');

/**
 * RECO_CLI=dist (set by .ci/run) runs the built CLI, as users get it; otherwise the TypeScript sources run
 * through tsx, so tests never see a stale or half-rebuilt dist/.
 */
export function cliCommand(): string[] {
  return process.env.RECO_CLI === 'dist' ? [BIN] : ['--import', 'tsx', DEV_BIN];
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a child CLI: no DATABASE_URL, NODE_OPTIONS or NODE_ENV from jest unless given. */
export function childEnv(env: Record<string, string | undefined> = {}): Record<string, string> {
  const full: Record<string, string> = {};
  for (const [k, v] of Object.entries({
    ...process.env,
    DATABASE_URL: undefined,
    NODE_OPTIONS: undefined,
    NODE_ENV: undefined,
    ...env,
  }))
    if (v !== undefined) full[k] = v;
  return full;
}

/**
 * Runs the CLI as a child process, with no TTY and an environment without DATABASE_URL unless given.
 */
export function runCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; input?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliCommand(), ...args], {
      cwd: options.cwd ?? ROOT,
      env: childEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
