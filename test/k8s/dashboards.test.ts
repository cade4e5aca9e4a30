import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { METRICS } from '../../src/core/metrics/names.js';
import { createMetrics } from '../../src/core/metrics/registry.js';
import { tempDir } from '../helpers/engines.js';
import {
  dashboardQueries,
  grafanaToPromql,
  hasCommand,
  K8S_DIR,
  type K8sObject,
  loadDashboards,
  parseYamlDocuments,
  promqlMetricNames,
  ruleQueries,
} from './support.js';

/**
 * The dashboards and alert rules query only metrics of the contract (src/core/metrics/names.ts, plus
 * prom-client's default process_* and nodejs_* metrics), and are valid PromQL (promtool, when installed).
 * serve.test.ts checks the same names against a live scrape of `reco serve`.
 */
const dashboards = loadDashboards();
const ruleFile = path.join(K8S_DIR, 'monitoring', 'prometheusrule.yaml');
const rules = ruleQueries(parseYamlDocuments(fs.readFileSync(ruleFile, 'utf8')) as K8sObject[]);

const contract = new Set<string>(Object.values(METRICS));
/** The metric a series name belongs to: histograms add _bucket/_sum/_count to theirs. */
const baseName = (n: string) => (contract.has(n) ? n : n.replace(/_(bucket|sum|count)$/, ''));
const inContract = (n: string) => contract.has(baseName(n)) || /^(process|nodejs)_/.test(n);

/** Label names a PromQL expression groups on (by, without, on, ignoring, group_left/right) or matches, in order. */
function promqlLabelNames(expr: string): string[] {
  const out: { at: number; name: string }[] = [];
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, (s) => `"${' '.repeat(s.length - 2)}"`);
  for (const g of noStrings.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g))
    for (const name of g[1]
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean))
      out.push({ at: g.index!, name });
  for (const l of noStrings.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*"/g)) out.push({ at: l.index!, name: l[1] });
  return out.sort((a, b) => a.at - b.at).map((l) => l.name);
}

/** Labels a Grafana legend format interpolates ({{label}}). */
const legendLabels = (legend: string | undefined) =>
  [...(legend ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]);

/** Panel targets with their legend format (rows may nest panels). */
function dashboardTargets(d: { panels: any[] }): { panel: string; expr: string; legend?: string }[] {
  const out: { panel: string; expr: string; legend?: string }[] = [];
  const walk = (panels: any[]) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? [])
        if (typeof t.expr === 'string') out.push({ panel: p.title, expr: t.expr, legend: t.legendFormat });
      if (Array.isArray(p.panels)) walk(p.panels);
    }
  };
  walk(d.panels);
  return out;
}

describe('PromQL metric-name extraction', () => {
  test('finds metric names and skips functions, labels, ranges, grouping and Grafana variables', () => {
    expect(
      promqlMetricNames(
        'histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{job="reco-api", route=~"/x|rate(y)"}[$__rate_interval])))',
      ),
    ).toEqual(['http_request_duration_seconds_bucket']);
    expect(
      promqlMetricNames('time() - max by (task) (reco_job_last_success_timestamp_seconds{task="train"}) > 26 * 3600'),
    ).toEqual(['reco_job_last_success_timestamp_seconds']);
    expect(promqlMetricNames('sum(rate(a_total[5m] offset 1h)) / on (pod) group_left (node) b_info unless c')).toEqual([
      'a_total',
      'b_info',
      'c',
    ]);
    expect(promqlMetricNames('1e3 * x')).toEqual(['x']);
  });
});

describe('Grafana dashboards', () => {
  test('four dashboards: API, pipeline, model, experiments, with unique uids and a Prometheus data source variable', () => {
    expect(dashboards.map((d) => d.dashboard.uid).sort()).toEqual([
      'reco-api',
      'reco-experiments',
      'reco-model',
      'reco-pipeline',
    ]);
    for (const { dashboard } of dashboards) {
      expect(dashboard.templating?.list.find((v) => v.type === 'datasource')?.query).toBe('prometheus');
      expect(dashboardQueries(dashboard).length).toBeGreaterThan(5);
    }
  });

  test('panels are laid out on the 24-column grid without overlaps, with unique ids and the templated data source', () => {
    for (const { file, dashboard } of dashboards) {
      const ids = new Set<number>();
      const cells = new Map<string, string>();
      for (const p of dashboard.panels) {
        expect(ids.has(p.id)).toBe(false);
        ids.add(p.id);
        const { x, y, w, h } = p.gridPos;
        expect(x + w).toBeLessThanOrEqual(24);
        for (let i = x; i < x + w; i++)
          for (let j = y; j < y + h; j++) {
            const cell = `${i},${j}`;
            expect(`${file}: "${p.title}" ${cells.has(cell) ? `overlaps "${cells.get(cell)}"` : 'ok'}`).toBe(
              `${file}: "${p.title}" ok`,
            );
            cells.set(cell, p.title);
          }
        if (p.type === 'row') continue;
        expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
        const refIds = p.targets.map((t: any) => t.refId);
        expect(new Set(refIds).size).toBe(refIds.length);
      }
    }
  });

  test('they cover what the issue lists', () => {
    const metricsOf = (uid: string) =>
      new Set(
        dashboardQueries(dashboards.find((d) => d.dashboard.uid === uid)!.dashboard).flatMap((q) =>
          promqlMetricNames(q.expr),
        ),
      );
    const api = metricsOf('reco-api');
    for (const n of [
      'http_requests_total',
      'http_request_duration_seconds_bucket',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      METRICS.feedbackEventsTotal,
    ])
      expect(api).toContain(n);
    const pipeline = metricsOf('reco-pipeline');
    for (const n of [
      METRICS.ingestLastRunTimestamp,
      METRICS.ingestLastRowsAccepted,
      METRICS.ingestLastRowsRejected,
      METRICS.ingestLastDurationSeconds,
      METRICS.ingestRunsTotal,
      METRICS.jobRunsTotal,
      METRICS.jobLastSuccessTimestamp,
    ])
      expect(pipeline).toContain(n);
    const model = metricsOf('reco-model');
    for (const n of [
      METRICS.modelInfo,
      METRICS.modelAgeSeconds,
      METRICS.modelHoldoutNdcg,
      METRICS.modelHoldoutPrecision,
      METRICS.modelHoldoutRecall,
      METRICS.recommendationsTotal,
    ])
      expect(model).toContain(n);
  });

  test('the experiments dashboard shows lists, impressions and drops by experiment and variant, with the labels the server sets', () => {
    const targets = dashboardTargets(dashboards.find((d) => d.dashboard.uid === 'reco-experiments')!.dashboard);
    const m = createMetrics();
    for (const name of [
      METRICS.experimentListsServedTotal,
      METRICS.impressionsRecordedTotal,
      METRICS.impressionsDroppedTotal,
    ]) {
      const labels = (m.register.getSingleMetric(name) as unknown as { labelNames: string[] }).labelNames;
      const on = targets.filter((t) => promqlMetricNames(t.expr).includes(name));
      expect(`${name}: ${on.length}`).not.toBe(`${name}: 0`);
      expect(
        on.some((t) => promqlLabelNames(t.expr).includes('variant') && legendLabels(t.legend).includes('variant')),
      ).toBe(true);
      for (const t of on)
        for (const l of [...promqlLabelNames(t.expr), ...legendLabels(t.legend)])
          expect([...labels, 'job', 'pod']).toContain(l);
    }
  });

  test('the API dashboard shows /feedback and /movies/:movie_id/similar by status, and feedback events by type and outcome', () => {
    const api = dashboardTargets(dashboards.find((d) => d.dashboard.uid === 'reco-api')!.dashboard);
    const routes = {
      '/feedback': 'src/server/routes/feedback.ts',
      '/movies/:movie_id/similar': 'src/server/routes/similar.ts',
    };
    for (const [route, file] of Object.entries(routes)) {
      // The label value is the route template the server declares (metrics-middleware labels by it).
      expect(fs.readFileSync(path.join(K8S_DIR, '..', file), 'utf8')).toContain(`'${route}'`);
      const onRoute = api.filter((t) => t.expr.includes(`route="${route}"`));
      for (const metric of ['http_requests_total', 'http_request_duration_seconds_bucket']) {
        const q = onRoute.filter((t) => promqlMetricNames(t.expr).includes(metric));
        expect(`${route} ${metric}: ${q.length}`).not.toBe(`${route} ${metric}: 0`);
        for (const t of q) {
          expect(promqlLabelNames(t.expr)).toContain('status_code');
          expect(legendLabels(t.legend)).toEqual(['status_code']);
        }
      }
    }
    const m = createMetrics();
    const labels = (m.register.getSingleMetric(METRICS.feedbackEventsTotal) as unknown as { labelNames: string[] })
      .labelNames;
    const events = api.filter((t) => promqlMetricNames(t.expr).includes(METRICS.feedbackEventsTotal));
    expect(events.length).toBeGreaterThanOrEqual(2);
    for (const t of events)
      for (const l of [...promqlLabelNames(t.expr), ...legendLabels(t.legend)]) expect([...labels, 'job']).toContain(l);
    expect(events.some((t) => legendLabels(t.legend).join() === 'type,outcome')).toBe(true);
  });

  test('every query uses only metrics of the contract', () => {
    for (const { file, dashboard } of dashboards)
      for (const q of dashboardQueries(dashboard)) {
        const names = promqlMetricNames(q.expr);
        expect(names.length).toBeGreaterThan(0);
        for (const n of names)
          expect(`${file} "${q.panel}": ${n} ${inContract(n) ? 'ok' : 'is not exported by reco serve'}`).toBe(
            `${file} "${q.panel}": ${n} ok`,
          );
      }
  });

  test('the alert rules use only metrics of the contract', () => {
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules)
      for (const n of promqlMetricNames(r.expr))
        expect(`${r.rule}: ${n} ${inContract(n) ? 'ok' : 'is not exported'}`).toBe(`${r.rule}: ${n} ok`);
  });

  test('the job metrics are selected and grouped by `task`, the label the server sets; `job` is only ever the scrape job', () => {
    const m = createMetrics();
    const jobMetrics = [METRICS.jobLastSuccessTimestamp, METRICS.jobLastDurationSeconds, METRICS.jobRunsTotal];
    const serverLabels = new Set(
      jobMetrics.flatMap((n) => (m.register.getSingleMetric(n) as unknown as { labelNames: string[] }).labelNames),
    );
    expect([...serverLabels].sort()).toEqual(['status', 'task']);

    const queries = [
      ...dashboards.flatMap(({ file, dashboard }) =>
        dashboardTargets(dashboard).map((t) => ({ where: `${file} "${t.panel}"`, expr: t.expr, legend: t.legend })),
      ),
      ...rules.map((r) => ({ where: `alert ${r.rule}`, expr: r.expr, legend: '' })),
    ];
    const onJobMetrics = queries.filter((q) => promqlMetricNames(q.expr).some((n) => n.startsWith('reco_job_')));
    expect(onJobMetrics.length).toBeGreaterThanOrEqual(6);
    expect(onJobMetrics.filter((q) => promqlLabelNames(q.expr).includes('task')).length).toBeGreaterThanOrEqual(6);
    for (const q of onJobMetrics) {
      const unknown = [...promqlLabelNames(q.expr), ...legendLabels(q.legend)].filter(
        (l) => l !== 'job' && !serverLabels.has(l),
      );
      expect(`${q.where}: ${unknown.join(', ') || 'ok'}`).toBe(`${q.where}: ok`);
    }
    for (const q of queries) {
      expect(`${q.where}: ${q.expr.includes('exported_job') ? 'uses exported_job' : 'ok'}`).toBe(`${q.where}: ok`);
      for (const [, value] of q.expr.matchAll(/\bjob\s*=~?\s*"([^"]*)"/g))
        expect(`${q.where}: job="${value}"`).toBe(`${q.where}: job="reco-api"`);
    }
    // The alert text names the task from the label its expression keeps.
    const stale = (parseYamlDocuments(fs.readFileSync(ruleFile, 'utf8'))[0] as K8sObject).spec.groups
      .flatMap((g: any) => g.rules)
      .find((r: any) => r.alert === 'RecoJobStale');
    expect(stale.annotations.summary).toContain('{{ $labels.task }}');
    expect(promqlLabelNames(stale.expr)).toContain('task');
  });

  test('a dashboard query that filters the job metrics on a label the server does not set would be caught', () => {
    expect(
      promqlLabelNames('max by (exported_job) (reco_job_runs_total{job="reco-api", exported_job="train"})'),
    ).toEqual(['exported_job', 'job', 'exported_job']);
    expect(
      promqlLabelNames(
        'sum by (le, route) (rate(x_bucket{job="a", route=~"/x|rate(y)", status_code!="200"}[5m])) / on (pod) group_left (node) b',
      ),
    ).toEqual(['le', 'route', 'job', 'route', 'status_code', 'pod', 'node']);
    expect(legendLabels('{{task}} {{ status }}')).toEqual(['task', 'status']);
  });

  test('a query on a metric the server does not export would be caught', () => {
    expect(promqlMetricNames('sum(rate(reco_recomendations_total[5m]))').every(inContract)).toBe(false);
  });
});

(hasCommand('promtool') ? describe : describe.skip)('PromQL syntax (promtool check rules)', () => {
  const dir = tempDir('reco-promql-');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function promtool(groups: unknown): { status: number | null; output: string } {
    const file = path.join(dir, `rules-${Math.random().toString(36).slice(2)}.yaml`);
    fs.writeFileSync(file, YAML.stringify({ groups }));
    const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    return { status: r.status, output: r.stdout + r.stderr };
  }

  test('every dashboard query parses', () => {
    const recorded = dashboards
      .flatMap(({ dashboard }) => dashboardQueries(dashboard))
      .map((q, i) => ({ record: `reco_check:query_${i}`, expr: grafanaToPromql(q.expr) }));
    const r = promtool([{ name: 'dashboards', rules: recorded }]);
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });

  test('the PrometheusRule groups pass as they are', () => {
    const doc = parseYamlDocuments(fs.readFileSync(ruleFile, 'utf8'))[0];
    const r = promtool(doc.spec.groups);
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });

  /** `promtool test rules` of one PromQL expression on the given series (one sample a minute), at `at`. */
  function evaluate(
    expr: string,
    series: { series: string; values: string }[],
    at: string,
    expected: { labels: string; value: number }[],
  ) {
    fs.writeFileSync(path.join(dir, 'none.yaml'), YAML.stringify({ groups: [] }));
    const file = path.join(dir, `eval-${Math.random().toString(36).slice(2)}.yaml`);
    fs.writeFileSync(
      file,
      YAML.stringify({
        rule_files: ['none.yaml'],
        tests: [
          {
            interval: '1m',
            input_series: series,
            promql_expr_test: [{ expr: grafanaToPromql(expr), eval_time: at, exp_samples: expected }],
          },
        ],
      }),
    );
    const r = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8' });
    return { status: r.status, output: r.stdout + r.stderr };
  }
  const panelOf = (uid: string, title: string) =>
    dashboards.find((d) => d.dashboard.uid === uid)!.dashboard.panels.find((p) => p.title === title);

  test('the 5xx ratio is 0, not "No data", when every request succeeds', () => {
    const panel = panelOf('reco-api', '5xx ratio');
    const healthy = [
      {
        series: 'http_requests_total{job="reco-api", method="GET", route="/movies", status_code="200"}',
        values: '0+60x30',
      },
    ];
    expect(evaluate(panel.targets[0].expr, healthy, '20m', [{ labels: '{}', value: 0 }]).status).toBe(0);
    const failing = [
      ...healthy,
      {
        series: 'http_requests_total{job="reco-api", method="GET", route="/movies", status_code="500"}',
        values: '0+20x30',
      },
    ];
    expect(evaluate(panel.targets[0].expr, failing, '20m', [{ labels: '{}', value: 0.25 }]).output).toMatch(/SUCCESS/);
  });

  test('the rejected share of feedback events is 0 when every event is stored, and the rejected fraction otherwise', () => {
    const panel = panelOf('reco-api', 'Rejected share of feedback events');
    const stored = [
      { series: 'reco_feedback_events_total{job="reco-api", type="view", outcome="stored"}', values: '0+60x30' },
    ];
    expect(evaluate(panel.targets[0].expr, stored, '20m', [{ labels: '{}', value: 0 }]).output).toMatch(/SUCCESS/);
    const some = [
      ...stored,
      { series: 'reco_feedback_events_total{job="reco-api", type="unknown", outcome="rejected"}', values: '0+20x30' },
    ];
    expect(evaluate(panel.targets[0].expr, some, '20m', [{ labels: '{}', value: 0.25 }]).output).toMatch(/SUCCESS/);
  });

  test('the /feedback latency panel is per status and leaves out the other routes', () => {
    const panel = panelOf('reco-api', 'POST /feedback latency by status');
    const series = (route: string, status: string, le: string, v: string) => ({
      series: `http_request_duration_seconds_bucket{job="reco-api", method="POST", route="${route}", status_code="${status}", le="${le}"}`,
      values: v,
    });
    const input = [
      series('/feedback', '200', '0.01', '0+60x30'),
      series('/feedback', '200', '+Inf', '0+60x30'),
      series('/recommendations', '200', '0.01', '0+0x30'),
      series('/recommendations', '200', '+Inf', '0+600x30'),
    ];
    const r = evaluate(panel.targets[0].expr, input, '20m', [{ labels: '{status_code="200"}', value: 0.005 }]);
    expect(r.output).toMatch(/SUCCESS/);
  });

  test('panels on job and ingest runs say so before the first run, instead of showing 56 years or nothing', () => {
    // What a fresh server exports: every task at 0 (never succeeded), no ingest run.
    const fresh = [
      ...['ingest', 'train', 'backup'].map((task) => ({
        series: `reco_job_last_success_timestamp_seconds{job="reco-api", task="${task}"}`,
        values: '0x30',
      })),
      ...[
        'reco_ingest_last_run_timestamp_seconds',
        'reco_ingest_last_rows_accepted',
        'reco_ingest_last_rows_rejected',
        'reco_ingest_last_duration_seconds',
      ].map((n) => ({
        series: `${n}{job="reco-api"}`,
        values: '0x30',
      })),
    ];
    const empty: string[] = [];
    for (const { dashboard } of dashboards)
      for (const p of dashboard.panels) {
        const exprs: string[] = (p.targets ?? []).map((t: any) => t.expr);
        if (!exprs.some((e) => /reco_job_last_success|reco_ingest_last_/.test(e))) continue;
        expect(`${p.title}: ${p.fieldConfig?.defaults?.noValue ?? 'no noValue'}`).toMatch(
          /: no (successful )?runs? yet$/,
        );
        for (const e of exprs)
          if (/reco_job_last_success|reco_ingest_last_/.test(e)) {
            const r = evaluate(e, fresh, '20m', []);
            if (r.status !== 0) empty.push(`${p.title}: ${e}\n${r.output}`);
          }
      }
    expect(empty).toEqual([]);
  });

  test('a broken expression fails the check', () => {
    const r = promtool([
      { name: 'broken', rules: [{ record: 'reco_check:broken', expr: 'sum(rate(http_requests_total[5m])' }] },
    ]);
    expect(r.status).not.toBe(0);
  });
});
