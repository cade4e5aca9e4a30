import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { childEnv, cliCommand, ROOT } from '../helpers/cli.js';
import { createPgDatabase, tempDir } from '../helpers/engines.js';
import {
  dashboardQueries,
  execForm,
  hasCommand,
  K8S_DIR,
  type K8sObject,
  exposedMetricNames,
  loadDashboards,
  parseDockerfile,
  parseYamlDocuments,
  podContainers,
  promqlMetricNames,
  renderKustomize,
  ruleQueries,
} from './support.js';

/**
 * A live `reco serve` (the CLI as a child process, configured as the Deployment configures it: production,
 * PostgreSQL, secrets from the environment): every metric the dashboards and alert rules query is in its
 * /metrics scrape, the probe paths answer, the image's HEALTHCHECK passes, and SIGTERM stops it cleanly.
 */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

describe('reco serve as deployed', () => {
  let child: ChildProcess;
  let base: string;
  let metricsBase: string;
  let port: number;
  let stderr = '';
  let exit: Promise<number | null>;
  let dataDir: string;
  let database: { url: string; drop(): Promise<void> };

  beforeAll(async () => {
    database = await createPgDatabase();
    dataDir = tempDir('reco-k8s-serve-');
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const metricsPort = await freePort();
    metricsBase = `http://127.0.0.1:${metricsPort}`;
    const env = childEnv({
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATABASE_URL: database.url,
      RECO_DATA_DIR: dataDir,
      RECO_MODELS_DIR: path.join(dataDir, 'models'),
      RECO_JWT_SECRET: 'k8s-test-secret-0123456789abcdef0123456789abcdef',
      RECO_ADMIN_TOKEN: 'k8s-test-admin-token',
    });
    child = spawn(
      process.execPath,
      [
        ...cliCommand(),
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--metrics-port',
        String(metricsPort),
        '--model-poll',
        '0',
      ],
      { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr!.on('data', (d) => (stderr += d));
    exit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`reco serve exited with ${child.exitCode}: ${stderr}`);
      try {
        if ((await fetch(`${base}/healthz`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`reco serve did not answer /healthz within 90 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exit;
    }
    await database?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('every metric of every dashboard and alert rule is in the /metrics scrape', async () => {
    // Some traffic first, so that the HTTP series have samples too (names are checked from # TYPE as well).
    await fetch(`${base}/readyz`);
    const res = await fetch(`${metricsBase}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const exposed = exposedMetricNames(await res.text());
    expect(exposed.size).toBeGreaterThan(20);

    const used: { where: string; name: string }[] = [];
    for (const { file, dashboard } of loadDashboards())
      for (const q of dashboardQueries(dashboard))
        for (const name of promqlMetricNames(q.expr)) used.push({ where: `${file} "${q.panel}"`, name });
    const rules = ruleQueries(
      parseYamlDocuments(
        fs.readFileSync(path.join(K8S_DIR, 'monitoring', 'prometheusrule.yaml'), 'utf8'),
      ) as K8sObject[],
    );
    for (const r of rules) for (const name of promqlMetricNames(r.expr)) used.push({ where: `alert ${r.rule}`, name });
    expect(used.length).toBeGreaterThan(40);
    const missing = used.filter((u) => !exposed.has(u.name)).map((u) => `${u.where}: ${u.name}`);
    expect(missing).toEqual([]);
  });

  test('a fresh install exports every scheduled task as never succeeded, and when the database was created', async () => {
    const scrape = await (await fetch(`${metricsBase}/metrics`)).text();
    for (const task of ['ingest', 'train', 'backup']) {
      expect(scrape).toContain(`reco_job_last_success_timestamp_seconds{task="${task}"} 0\n`);
      expect(scrape).toContain(`reco_job_runs_total{task="${task}",status="failed"} 0\n`);
      expect(scrape).toContain(`reco_job_runs_total{task="${task}",status="succeeded"} 0\n`);
    }
    const created = Number(/^reco_database_created_timestamp_seconds (\S+)$/m.exec(scrape)?.[1]);
    expect(Math.abs(created - Date.now() / 1000)).toBeLessThan(600);
  });

  (hasCommand('promtool') ? test : test.skip)(
    'the scrape passes promtool check metrics (names, types, units, help)',
    async () => {
      await fetch(`${base}/healthz`);
      const scrape = await (await fetch(`${metricsBase}/metrics`)).text();
      const r = spawnSync('promtool', ['check', 'metrics'], { input: scrape, encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    },
  );

  test('the route label values the queries filter on are the ones the server records', async () => {
    const exprs = [
      ...loadDashboards().flatMap(({ dashboard }) => dashboardQueries(dashboard).map((q) => q.expr)),
      ...ruleQueries(
        parseYamlDocuments(
          fs.readFileSync(path.join(K8S_DIR, 'monitoring', 'prometheusrule.yaml'), 'utf8'),
        ) as K8sObject[],
      ).map((r) => r.expr),
    ];
    const routes = new Set(exprs.flatMap((e) => [...e.matchAll(/\broute="([^"]+)"/g)].map((m) => m[1])));
    expect(routes.size).toBeGreaterThan(0);
    // Each template asked as a path (parameters as 1) with both methods: the one the route has is recorded under it.
    for (const route of routes) {
      const url = `${base}${route.replace(/:[a-z_]+/g, '1')}`;
      await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      await fetch(url);
    }
    const scrape = await (await fetch(`${metricsBase}/metrics`)).text();
    for (const route of routes)
      expect(`${route} ${scrape.includes(`route="${route}"`) ? 'recorded' : 'never recorded'}`).toBe(
        `${route} recorded`,
      );
  });

  test('the probe paths of the manifests answer (liveness 200, readiness 200 or 503, never 404)', async () => {
    const paths = new Map<string, string>([
      ['livenessProbe', '/healthz'],
      ['readinessProbe', '/readyz'],
      ['startupProbe', '/healthz'],
    ]);
    if (hasCommand('kubectl')) {
      paths.clear();
      for (const { container } of (await renderKustomize()).flatMap(podContainers))
        for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'])
          if (container[probe]?.httpGet) paths.set(`${container.name} ${probe}`, container[probe].httpGet.path);
      expect(paths.size).toBe(3);
    }
    for (const [probe, p] of paths) {
      const status = (await fetch(`${base}${p}`)).status;
      if (/liveness|startup/i.test(probe)) expect(`${probe} ${p} ${status}`).toBe(`${probe} ${p} 200`);
      else expect([200, 503]).toContain(status);
    }
    // Ready: PostgreSQL is reachable and the popularity fallback answers until a model is trained.
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  test("the image's HEALTHCHECK command passes against the running server", () => {
    const df = parseDockerfile(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
    const hc = df.filter((i) => i.instruction === 'HEALTHCHECK').at(-1)!.args;
    const [bin, ...args] = execForm(hc.slice(hc.indexOf('CMD') + 3).trim());
    expect(bin).toBe('node');
    const r = spawnSync(
      process.execPath,
      args.map((a) => a.replace('127.0.0.1:8000', `127.0.0.1:${port}`)),
      { timeout: 10_000 },
    );
    expect(r.status).toBe(0);
  });

  test('SIGTERM (what Kubernetes sends on a rollout) stops it cleanly', async () => {
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exit, new Promise((r) => (timer = setTimeout(() => r('timeout'), 20_000)))]);
    clearTimeout(timer);
    expect(code).toBe(0);
  }, 30_000);
});
