import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { tempDir } from '../helpers/engines.js';
import { hasCommand, K8S_DIR, type K8sObject, parseYamlDocuments } from './support.js';

/**
 * The job alerts evaluated by Prometheus' own rule engine (`promtool test rules`) on series shaped as `reco serve`
 * exports them: a task that never succeeded, one that has been failing for days, healthy daily runs, and a fresh
 * install before its first scheduled runs. promtool comes with Debian's `prometheus` package (.ci/run installs it).
 */
const ruleFile = path.join(K8S_DIR, 'monitoring', 'prometheusrule.yaml');
const groups = (parseYamlDocuments(fs.readFileSync(ruleFile, 'utf8'))[0] as K8sObject).spec.groups;

const HOUR = 3600;
const DAY = 24 * HOUR;
const TASKS = ['ingest', 'train', 'backup'] as const;

/**
 * One sample every STEP_MINUTES (Prometheus looks back 5 minutes for a sample, so sparser series would have
 * gaps) for `hours` hours, in promtool's run-length notation (`v` followed by `vxN`: N more samples of value v).
 */
const STEP_MINUTES = 2;

function hourly(hours: number, valueAt: (hour: number) => number): string {
  const runs: string[] = [];
  let value = valueAt(0);
  let length = 0;
  for (let m = 0; m <= hours * 60; m += STEP_MINUTES) {
    const v = valueAt(Math.floor(m / 60));
    if (v === value) length++;
    else {
      runs.push(length === 1 ? String(value) : `${value}x${length - 1}`);
      value = v;
      length = 1;
    }
  }
  runs.push(length === 1 ? String(value) : `${value}x${length - 1}`);
  return runs.join(' ');
}

/** The series of one scenario: the database created at t = 60 s, each task's last success per hour (0 = never). */
function scenario(hours: number, lastSuccess: Record<(typeof TASKS)[number], (hour: number) => number>) {
  return [
    { series: 'reco_database_created_timestamp_seconds{job="reco-api"}', values: hourly(hours, () => 60) },
    ...TASKS.map((task) => ({
      series: `reco_job_last_success_timestamp_seconds{job="reco-api", task="${task}"}`,
      values: hourly(hours, lastSuccess[task]),
    })),
  ];
}

const never = () => 0;
/** Succeeded daily at 02:00 (backup's schedule), from the first day on. */
const daily = (h: number) => (h >= 2 ? Math.floor((h - 2) / 24) * DAY + 2 * HOUR : 0);

const stale = (task: string) => ({
  exp_labels: { severity: 'warning', task },
  exp_annotations: {
    summary: `The ${task} job has not succeeded for more than 26 hours.`,
    description:
      'Its runs fail (reco_job_runs_total, status failed) or do not start (kubectl -n reco get cronjobs,jobs).',
  },
});
const neverSucceeded = (task: string) => ({
  exp_labels: { severity: 'warning', task },
  exp_annotations: {
    summary: `The ${task} job has never succeeded, and the database was created more than 26 hours ago.`,
    description:
      'Its runs fail (reco_job_runs_total, status failed) or do not start (kubectl -n reco get cronjobs,jobs).',
  },
});

const tests = [
  {
    name: 'never succeeded: backups fail from day one, ingest and train are healthy',
    interval: `${STEP_MINUTES}m`,
    input_series: scenario(4 * 24, { ingest: daily, train: daily, backup: never }),
    alert_rule_test: [
      // Within the first schedule nothing fires: the first runs are still to come.
      { eval_time: '20h', alertname: 'RecoJobNeverSucceeded', exp_alerts: [] },
      { eval_time: '27h', alertname: 'RecoJobNeverSucceeded', exp_alerts: [neverSucceeded('backup')] },
      { eval_time: '4d', alertname: 'RecoJobNeverSucceeded', exp_alerts: [neverSucceeded('backup')] },
      { eval_time: '4d', alertname: 'RecoJobStale', exp_alerts: [] },
    ],
  },
  {
    name: 'failing since three days: training last succeeded on day one',
    interval: `${STEP_MINUTES}m`,
    input_series: scenario(4 * 24, { ingest: daily, train: (h) => (h >= 8 ? 8 * HOUR : 0), backup: daily }),
    alert_rule_test: [
      { eval_time: '30h', alertname: 'RecoJobStale', exp_alerts: [] },
      { eval_time: '35h', alertname: 'RecoJobStale', exp_alerts: [stale('train')] },
      { eval_time: '4d', alertname: 'RecoJobStale', exp_alerts: [stale('train')] },
      { eval_time: '4d', alertname: 'RecoJobNeverSucceeded', exp_alerts: [] },
    ],
  },
  {
    name: 'healthy: every task succeeds daily',
    interval: `${STEP_MINUTES}m`,
    input_series: scenario(3 * 24, { ingest: daily, train: daily, backup: daily }),
    alert_rule_test: ['1d', '1d23h', '3d'].flatMap((t) => [
      { eval_time: t, alertname: 'RecoJobStale', exp_alerts: [] },
      { eval_time: t, alertname: 'RecoJobNeverSucceeded', exp_alerts: [] },
    ]),
  },
];

function promtool(args: string[]) {
  const r = spawnSync('promtool', args, { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

if (!hasCommand('promtool')) {
  console.warn('promtool is not installed (Debian: apt-get install prometheus): the alert rule tests are skipped');
}

(hasCommand('promtool') ? describe : describe.skip)('alert rules (promtool test rules)', () => {
  const dir = tempDir('reco-alerts-');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The PrometheusRule's groups as a rule file, and a test file of the given cases beside it. */
  function runTests(cases: unknown[], ruleGroups = groups) {
    fs.writeFileSync(path.join(dir, 'rules.yaml'), YAML.stringify({ groups: ruleGroups }));
    fs.writeFileSync(
      path.join(dir, 'tests.yaml'),
      YAML.stringify({ rule_files: ['rules.yaml'], evaluation_interval: `${STEP_MINUTES}m`, tests: cases }),
    );
    return promtool(['test', 'rules', path.join(dir, 'tests.yaml')]);
  }

  test('the rules pass promtool check rules', () => {
    fs.writeFileSync(path.join(dir, 'check.yaml'), YAML.stringify({ groups }));
    const r = promtool(['check', 'rules', path.join(dir, 'check.yaml')]);
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });

  test.each(tests.map((t) => [t.name, t]))('%s', (_name, t) => {
    const r = runTests([t]);
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });

  test('an alert that does not fire when expected fails the run (the cases are not vacuous)', () => {
    const old = structuredClone(groups);
    const jobs = old.find((g: any) => g.name === 'reco-jobs');
    jobs.rules = jobs.rules.filter((r: any) => r.alert !== 'RecoJobNeverSucceeded');
    jobs.rules.push({
      ...groups.find((g: any) => g.name === 'reco-jobs').rules.find((r: any) => r.alert === 'RecoJobNeverSucceeded'),
      expr: 'vector(1) == 0',
    });
    const r = runTests([tests[0]], old);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/RecoJobNeverSucceeded/);
  });
});
