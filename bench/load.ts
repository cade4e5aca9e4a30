/**
 * One measured load run against a server child process: wrk by default (bench/wrk.ts: in C, it leaves the server
 * the CPU that a generator in this Node process would take) or autocannon in this process (BENCH_LOAD=autocannon),
 * with the server's CPU time per request (utime + stime from /proc), which does not depend on whether the load
 * generator or the server is the bottleneck.
 */
import type { ChildProcess } from 'node:child_process';
import { cpuSeconds, run } from './children.js';
import { requireWrk, wrk, type WrkRequest } from './wrk.js';

export type LoadGenerator = 'wrk' | 'autocannon';

/** BENCH_LOAD, checked: wrk unless it says autocannon; wrk must be installed. */
export function loadGenerator(): LoadGenerator {
  const load = process.env.BENCH_LOAD ?? 'wrk';
  if (load !== 'wrk' && load !== 'autocannon') throw new Error(`BENCH_LOAD must be wrk or autocannon, not ${load}`);
  if (load === 'wrk') requireWrk();
  return load;
}

export interface Measured {
  rps: number;
  p99_ms: number;
  non2xx: number;
  errors: number;
  /** The server's CPU microseconds per request. */
  cpuUsPerRequest: number;
}

/** `requests` (cycled) against `url` from `connections` connections for `seconds`, `token` as every bearer token. */
export async function measureLoad(opts: {
  generator: LoadGenerator;
  child: ChildProcess;
  url: string;
  requests: readonly WrkRequest[];
  token: string;
  connections: number;
  seconds: number;
  workDir: string;
}): Promise<Measured> {
  const before = cpuSeconds(opts.child.pid);
  let out: Omit<Measured, 'cpuUsPerRequest'> & { requests: number };
  if (opts.generator === 'wrk') {
    const r = await wrk(opts);
    out = { requests: r.requests, rps: r.rps, p99_ms: r.p99_ms, non2xx: r.non2xx, errors: r.errors };
  } else {
    const r = await run({
      url: opts.url,
      connections: opts.connections,
      pipelining: 1,
      duration: opts.seconds,
      requests: opts.requests.map((q) => ({
        method: q.method as 'GET' | 'POST',
        path: q.path,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.token}` },
        body: q.body || undefined,
      })),
    });
    out = {
      requests: r.requests.total,
      rps: Math.round(r.requests.average),
      p99_ms: r.latency.p99,
      non2xx: r.non2xx,
      errors: r.errors + r.timeouts,
    };
  }
  const cpuUsPerRequest = ((cpuSeconds(opts.child.pid) - before) * 1e6) / Math.max(1, out.requests);
  const { requests: _, ...rest } = out;
  return { ...rest, cpuUsPerRequest: Math.round(cpuUsPerRequest * 10) / 10 };
}
