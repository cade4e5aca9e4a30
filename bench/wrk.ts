/**
 * wrk (Debian's `wrk`, a load generator in C) over a list of prebuilt requests, each connection cycling through its
 * thread's share of them. On this 2-core machine a generator in JavaScript (autocannon) takes a large share of the
 * CPU the server would use; wrk takes little, as pgbench's own client does, so a ratio to pgbench compares servers,
 * not load generators.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface WrkRequest {
  method: string;
  path: string;
  body: string;
}

export interface WrkResult {
  requests: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  /** Answers with a status of 400 or more. */
  non2xx: number;
  /** Connect, read, write errors and timeouts. */
  errors: number;
}

// Each thread keeps the lines of the request file whose number modulo the thread count is its own, so no two
// threads send the same request; done() prints the summary as one JSON line.
const SCRIPT = `
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
local reqs = {}
local next_req = 0
function init(args)
  local file, threads, token = args[1], tonumber(args[2]), args[3]
  local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
  local i = 0
  for line in io.lines(file) do
    if i % threads == tid then
      local method, p, body = line:match("^(%S+) (%S+) (.*)$")
      reqs[#reqs + 1] = wrk.format(method, p, headers, body)
    end
    i = i + 1
  end
end
function request()
  next_req = next_req % #reqs + 1
  return reqs[next_req]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"status":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
`;

/** Throws with the way to install wrk when it is missing. */
export function requireWrk(): void {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'pipe' });
  } catch (err: any) {
    // wrk --version prints its banner and exits with 1.
    if (err?.code === 'ENOENT') throw new Error('this benchmark needs wrk: apt-get install wrk');
  }
}

/** `wrk -t threads -c connections -d seconds` against `url`, each request with `token` as its bearer token. */
export async function wrk(opts: {
  url: string;
  token: string;
  requests: readonly WrkRequest[];
  connections: number;
  seconds: number;
  threads?: number;
  workDir: string;
}): Promise<WrkResult> {
  const threads = opts.threads ?? 2;
  const script = path.join(opts.workDir, 'wrk-requests.lua');
  const file = path.join(opts.workDir, `wrk-requests-${process.pid}-${Date.now()}.txt`);
  fs.writeFileSync(script, SCRIPT);
  fs.writeFileSync(file, opts.requests.map((r) => `${r.method} ${r.path} ${r.body}\n`).join(''));
  try {
    const args = ['-t', String(threads), '-c', String(opts.connections), '-d', `${opts.seconds}s`, '-s', script];
    const out = await new Promise<string>((resolve, reject) =>
      execFile('wrk', [...args, opts.url, '--', file, String(threads), opts.token], (err, stdout, stderr) =>
        err ? reject(new Error(`wrk failed: ${stderr || err.message}`)) : resolve(stdout),
      ),
    );
    const line = /^WRK (\{.*\})$/m.exec(out);
    if (!line) throw new Error(`wrk said: ${out}`);
    const s = JSON.parse(line[1]) as Record<string, number>;
    return {
      requests: s.requests,
      rps: Math.round(s.requests / (s.duration_us / 1e6)),
      p50_ms: s.p50_us / 1000,
      p99_ms: s.p99_us / 1000,
      non2xx: s.status,
      errors: s.errors,
    };
  } finally {
    fs.rmSync(file, { force: true });
  }
}
