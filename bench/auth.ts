/**
 * bench:auth — what authenticating one request costs (docs/benchmarks/serve.md): TokenAuthenticator.authenticate
 * with the same bearer token, once answered from its cache of verified tokens and once with the cache emptied
 * before each request (passport + passport-jwt + jsonwebtoken's HMAC and decoding every time), alternated in this
 * process. The client's status check is primed, so no database is reached. CPU nanoseconds per request
 * (process.cpuUsage), median of BENCH_ROUNDS (default 9) rounds of BENCH_N (default 20,000) requests. The share of
 * a request is the difference over bench:serve's CPU per request of the API.
 */
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import { issueToken } from '../src/core/auth/tokens.js';
import type { Database } from '../src/core/db/types.js';
import { TokenAuthenticator } from '../src/server/auth.js';
import { median } from './children.js';

const N = Number(process.env.BENCH_N ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const SECRET = 'bench-secret-of-thirty-two-bytes!';

const auth = new TokenAuthenticator(undefined as unknown as Database, SECRET);
const internals = auth as unknown as { checked: Map<number, number>; verified: { clear(): void } };
internals.checked.set(1, Number.POSITIVE_INFINITY);
const { access_token } = issueToken(SECRET, { id: 1, username: 'bench' }, 3600);
const req = { headers: { authorization: `Bearer ${access_token}` } } as IncomingMessage;

function round(cached: boolean): number {
  let failures = 0;
  const done = (err?: unknown) => {
    if (err) failures++;
  };
  const start = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    if (!cached) internals.verified.clear();
    auth.authenticate(req, done);
  }
  const used = process.cpuUsage(start);
  if (failures) throw new Error(`${failures} requests were refused`);
  return ((used.user + used.system) * 1000) / N;
}

const withCache: number[] = [];
const without: number[] = [];
round(true);
round(false);
for (let r = 0; r < ROUNDS; r++) {
  withCache.push(round(true));
  without.push(round(false));
}
const [a, b] = [median(withCache), median(without)];
console.log(
  `load average ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(`CPU ns per authenticated request: cached token ${a.toFixed(0)}, verified every time ${b.toFixed(0)}`);
console.log(`the cache saves ${((b - a) / 1000).toFixed(1)} µs per request`);
