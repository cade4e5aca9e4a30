import { Histogram, Registry } from 'prom-client';
import { BatchedHistogram } from '../../src/core/metrics/batched-histogram.js';
import { createMetrics } from '../../src/core/metrics/registry.js';

/** The hot path's histogram exports exactly what prom-client's Histogram exports for the same observations. */
describe('BatchedHistogram', () => {
  const bounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
  const labelNames = ['method', 'route', 'status_code'] as const;
  const observations: [string, string, string, number][] = [
    ['POST', '/recommendations', '200', 0.0004],
    ['POST', '/recommendations', '200', 0.001],
    ['POST', '/recommendations', '200', 0.0011],
    ['POST', '/recommendations', '422', 0.03],
    ['GET', '/movies', '200', 7],
    ['POST', '/recommendations', '200', 0.25],
    ['GET', '/movies', '200', 0.0049],
  ];

  it('gives the text and the JSON of prom-client for the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const h = new BatchedHistogram('t_seconds', 'help "text"', labelNames, bounds, [ours]);
    const p = new Histogram({
      name: 't_seconds',
      help: 'help "text"',
      labelNames,
      buckets: bounds,
      registers: [theirs],
    });
    for (const [method, route, status_code, v] of observations) {
      h.observe(
        h.slot(`${method} ${route} ${status_code}`, () => ({ method, route, status_code })),
        v,
      );
      p.observe({ method, route, status_code }, v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
  });

  it('exports no series for a label set never observed, and forgets on reset', async () => {
    const r = new Registry();
    const h = new BatchedHistogram('u_seconds', 'u', ['x'], [1], [r]);
    h.slot('a', () => ({ x: 'a' }));
    expect(await r.metrics()).not.toMatch(/u_seconds_count/);
    h.observe(
      h.slot('a', () => ({ x: 'a' })),
      2,
    );
    expect(await r.metrics()).toMatch(/^u_seconds_bucket\{le="1",x="a"\} 0$/m);
    expect(await r.metrics()).toMatch(/^u_seconds_bucket\{le="\+Inf",x="a"\} 1$/m);
    r.resetMetrics();
    expect(await r.metrics()).not.toMatch(/u_seconds_count/);
  });

  it('is the request histogram of the server metrics', async () => {
    const m = createMetrics();
    m.httpRequestDuration.observe(
      m.httpRequestDuration.slot('GET /healthz 200', () => ({ method: 'GET', route: '/healthz', status_code: '200' })),
      0.002,
    );
    expect(await m.register.metrics()).toMatch(
      /^http_request_duration_seconds_bucket\{le="0.0025",method="GET",route="\/healthz",status_code="200"\} 1$/m,
    );
  });
});
