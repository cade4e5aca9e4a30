import { Counter, Registry } from 'prom-client';
import { CounterBatch } from '../../src/core/metrics/counter-batch.js';
import { createMetrics } from '../../src/core/metrics/registry.js';
import { recordRequest, routeRecorder } from '../../src/server/metrics-middleware.js';

/** Counts kept in plain fields on the hot path reach prom-client exactly, at every scrape (counter-batch.ts). */
describe('CounterBatch', () => {
  it('adds what was counted when the counter is collected, per label set, and nothing twice', async () => {
    const register = new Registry();
    const batch = new CounterBatch<'model'>();
    const counter = new Counter({
      name: 't_total',
      help: 't',
      labelNames: ['model'],
      registers: [register],
      collect() {
        batch.flushInto(this);
      },
    });
    const a = batch.slot('a', () => ({ model: 'a' }));
    expect(batch.slot('a', () => ({ model: 'other' }))).toBe(a);
    a.n += 3;
    batch.slot('b', () => ({ model: 'b' })).n++;
    const text = await register.metrics();
    expect(text).toMatch(/^t_total\{model="a"\} 3$/m);
    expect(text).toMatch(/^t_total\{model="b"\} 1$/m);
    a.n++;
    expect((await counter.get()).values.find((v) => v.labels.model === 'a')?.value).toBe(4);
    expect(await register.metrics()).toMatch(/^t_total\{model="a"\} 4$/m);
  });

  it('backs the request and recommendation counters of the server metrics', async () => {
    const m = createMetrics();
    m.counted.httpRequests.slot('POST /x 200', () => ({ method: 'POST', route: '/x', status_code: '200' })).n += 2;
    m.counted.recommendations.slot('ease v1', () => ({ algorithm: 'ease', version: 'v1' })).n++;
    m.counted.cacheHits.slot('ease v1', () => ({ algorithm: 'ease', version: 'v1' })).n++;
    const text = await m.register.metrics();
    expect(text).toMatch(/^http_requests_total\{method="POST",route="\/x",status_code="200"\} 2$/m);
    expect(text).toMatch(/^reco_recommendations_total\{algorithm="ease",version="v1"\} 1$/m);
    expect(text).toMatch(/^reco_recommendation_cache_hits_total\{algorithm="ease",version="v1"\} 1$/m);
  });

  it('counts and times each request under the same labels, through Express and the fast path alike', async () => {
    const m = createMetrics();
    recordRequest(m, undefined, {
      method: 'GET',
      url: '/healthz',
      route: '/healthz',
      status: 200,
      seconds: 0.002,
      client: undefined,
      ip: undefined,
    });
    const fast = routeRecorder(m, undefined, 'POST', '/recommendations', '/recommendations');
    fast(200, 0.0004, 'a', undefined);
    fast(200, 0.03, 'a', undefined);
    fast(422, 0.0001, 'a', undefined);
    const text = await m.register.metrics();
    expect(text).toMatch(/^http_requests_total\{method="GET",route="\/healthz",status_code="200"\} 1$/m);
    expect(text).toMatch(
      /^http_request_duration_seconds_bucket\{le="0.0025",method="GET",route="\/healthz",status_code="200"\} 1$/m,
    );
    expect(text).toMatch(/^http_requests_total\{method="POST",route="\/recommendations",status_code="200"\} 2$/m);
    expect(text).toMatch(
      /^http_request_duration_seconds_bucket\{le="0.001",method="POST",route="\/recommendations",status_code="200"\} 1$/m,
    );
    expect(text).toMatch(
      /^http_request_duration_seconds_count\{method="POST",route="\/recommendations",status_code="200"\} 2$/m,
    );
    expect(text).toMatch(
      /^http_request_duration_seconds_count\{method="POST",route="\/recommendations",status_code="422"\} 1$/m,
    );
  });
});
