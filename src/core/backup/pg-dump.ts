import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { RecoError } from '../errors.js';

/** The pg_dump on PATH, with its version line, or undefined when it is not installed. */
export function findPgDump(): { path: string; version: string } | undefined {
  const r = spawnSync('pg_dump', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return { path: 'pg_dump', version: r.stdout.trim() };
}

/**
 * Runs pg_dump (plain SQL, no owners or privileges, so it loads as any user) into `file`. The password travels
 * in PGPASSWORD, never on the command line where `ps` would show it.
 */
export async function runPgDump(databaseUrl: string, file: string): Promise<void> {
  const url = new URL(databaseUrl);
  const password = decodeURIComponent(url.password);
  url.password = '';
  const env = { ...process.env, ...(password ? { PGPASSWORD: password } : {}) };
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      'pg_dump',
      ['--format=plain', '--no-owner', '--no-privileges', `--file=${file}`, `--dbname=${url.toString()}`],
      {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => reject(new RecoError(`cannot run pg_dump: ${err.message}`, { cause: err })));
    child.on('close', (code) => {
      if (code === 0) return resolve();
      reject(new RecoError(`pg_dump failed (exit ${code}): ${stderr.trim().split('\n').pop() ?? ''}`));
    });
  });
  const fh = await fs.promises.open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
