/**
 * What the benches that start `reco serve` (or the bare reference server) as child processes share: start and wait
 * for its "listening" log line, stop, read its CPU time, run autocannon, take a median.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

export interface StartedChild {
  child: ChildProcess;
  url: string;
  /** The URL of `serve --metrics-port`'s listener, when the child was given one. */
  metricsUrl: string | undefined;
}

/** Starts a child that logs a JSON line {"msg":"listening","url":…} on stdout (its output goes to logFile). */
export function startChild(
  args: string[],
  env: Record<string, string>,
  logFile: string,
  timeoutMs = 60_000,
): Promise<StartedChild> {
  const out = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env, NODE_OPTIONS: '' },
    stdio: ['ignore', out, 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const poll = setInterval(() => {
      const log = fs.readFileSync(logFile, 'utf8');
      const m = /"msg":"listening"[^\n]*"url":"(http:\/\/[^"]+)"|"url":"(http:\/\/[^"]+)"[^\n]*"msg":"listening"/.exec(
        log,
      );
      const metrics = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"serving metrics"/.exec(log);
      if (m && (metrics || !args.includes('--metrics-port'))) {
        clearInterval(poll);
        resolve({ child, url: m[1] ?? m[2], metricsUrl: metrics?.[1] });
      } else if (Date.now() > deadline || child.exitCode !== null) {
        clearInterval(poll);
        child.kill('SIGTERM');
        reject(new Error(`${args.join(' ')} did not start: ${log.slice(-2000)}`));
      }
    }, 100);
  });
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('close', () => resolve());
    child.kill('SIGTERM');
  });
}

/** CPU seconds (user + system) the process has used so far (Linux /proc; NaN elsewhere). */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks, USER_HZ = 100
  } catch {
    return NaN;
  }
}

export function run(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon(opts, (err, result) => (err ? reject(err) : resolve(result))));
}

/** The median; of an even count, the mean of the middle two. */
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The user ids of the MovieLens sample (data/initial_data/ratings.csv), the known users of the serve benches. */
export function sampleUserIds(): number[] {
  const text = fs.readFileSync(path.join(ROOT, 'data/initial_data/ratings.csv'), 'utf8');
  const ids = new Set<number>();
  for (const line of text.split('\n').slice(1)) {
    const id = Number(line.slice(0, line.indexOf(',')));
    if (id > 0) ids.add(id);
  }
  return [...ids];
}

/**
 * One prebuilt POST /recommendations per user, cycled by every connection: autocannon builds each request buffer
 * once, as it does for the bare server's fixed request, so the load generator costs the same per request on both
 * sides (a setupRequest that builds every body made autocannon, on the other core, part of what the API figure
 * measured).
 */
export function recommendationRequests(
  token: string,
  ids: number[],
  extra: { explain?: true } = {},
): autocannon.Request[] {
  return ids.map((id) => ({
    method: 'POST',
    path: '/recommendations',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ user_id: id, n: 10, ...extra }),
  }));
}
