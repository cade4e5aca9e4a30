import http from 'node:http';

/**
 * A fixed-rate (open-loop) load: requests start on a schedule, `rate` per second spread evenly (a batch every
 * 5 ms), whatever the answers do — unlike autocannon's overallRate, whose connections send their per-second
 * quota back to back at the start of each second, so its latency mostly measures that burst. Hand-written
 * because autocannon has no evenly paced mode; it is only a scheduler around node:http with keep-alive.
 */
export interface OpenLoopResult {
  sent: number;
  ok: number;
  errors: number;
  non2xx: number;
  achievedRps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export async function openLoop(options: {
  url: string;
  rate: number;
  seconds: number;
  request: () => { method: string; path: string; headers: Record<string, string>; body?: string };
}): Promise<OpenLoopResult> {
  const target = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const latencies: number[] = [];
  let sent = 0;
  let errors = 0;
  let non2xx = 0;
  const pending = new Set<Promise<void>>();
  const fire = () => {
    const r = options.request();
    const start = process.hrtime.bigint();
    sent++;
    const p = new Promise<void>((resolve) => {
      const req = http.request(
        { host: target.hostname, port: target.port, method: r.method, path: r.path, headers: r.headers, agent },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
            if (res.statusCode! < 200 || res.statusCode! >= 300) non2xx++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(r.body);
    });
    pending.add(p);
    p.then(() => pending.delete(p));
  };
  const began = Date.now();
  const total = Math.round(options.rate * options.seconds);
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      // Catch up to the schedule: as many as should have started by now.
      const due = Math.min(total, Math.floor(((Date.now() - began) / 1000) * options.rate));
      while (sent < due) fire();
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  await Promise.all(pending);
  const elapsed = (Date.now() - began) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    Number((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN).toFixed(2));
  return {
    sent,
    ok: latencies.length - non2xx,
    errors,
    non2xx,
    achievedRps: Math.round(sent / elapsed),
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
    max: q(1),
  };
}
