import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { ROOT } from '../helpers/cli.js';

/** Helpers of the deployment tests: render and validate k8s/, read dashboards, README and the Dockerfile. */

export const K8S_DIR = path.join(ROOT, 'k8s');
export const DASHBOARD_DIR = path.join(K8S_DIR, 'monitoring', 'dashboards');

const run = promisify(execFile);

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  spec?: any;
  data?: Record<string, string>;
  [k: string]: unknown;
}

export function parseYamlDocuments(text: string): K8sObject[] {
  return YAML.parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`YAML: ${doc.errors[0].message}`);
      return doc.toJS() as K8sObject;
    })
    .filter((o) => o != null);
}

/** `kubectl kustomize DIR`: the manifests exactly as `kubectl apply -k` would send them. */
export async function renderKustomize(dir = K8S_DIR): Promise<K8sObject[]> {
  const { stdout } = await run('kubectl', ['kustomize', dir], { maxBuffer: 32 * 1024 * 1024 });
  return parseYamlDocuments(stdout);
}

/**
 * The kubernetes-models module for an apiVersion: the Kubernetes 1.27 OpenAPI schemas (kubernetes-models@4)
 * and the prometheus-operator CRDs. Unknown groups throw: nothing goes unvalidated.
 */
async function modelModule(apiVersion: string): Promise<Record<string, any>> {
  if (apiVersion.startsWith('monitoring.coreos.com/'))
    return import(`@kubernetes-models/prometheus-operator/${apiVersion}`);
  if (!/^([a-z0-9.-]+\/)?v\d+((alpha|beta)\d+)?$/.test(apiVersion)) throw new Error(`unknown apiVersion ${apiVersion}`);
  return import(`kubernetes-models/${apiVersion}`);
}

/** Validates one object against its schema; throws with the path of the first problem. */
export async function validateObject(obj: K8sObject): Promise<void> {
  const where = `${obj?.kind ?? '?'}/${obj?.metadata?.name ?? '?'}`;
  if (!obj || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string')
    throw new Error(`${where}: apiVersion and kind are required`);
  let mod: Record<string, any>;
  try {
    mod = await modelModule(obj.apiVersion);
  } catch {
    throw new Error(`${where}: no schema for apiVersion ${obj.apiVersion}`);
  }
  const Model = mod[obj.kind];
  if (typeof Model !== 'function') throw new Error(`${where}: no schema for kind ${obj.kind} in ${obj.apiVersion}`);
  try {
    new Model(obj).validate();
  } catch (err: any) {
    throw new Error(`${where}: ${err?.message ?? err}`);
  }
}

/**
 * Unknown fields (a misspelt `readinesProbe` is silently ignored by the API server and by the JSON schemas,
 * which allow extra properties), found by the TypeScript compiler: every object becomes an object literal of
 * its kubernetes-models interface, and excess-property checks reject any field the type does not declare.
 * Returns one line per problem, "Kind/name: message"; empty when all is well. One tsc run (~3 s).
 */
export async function unknownFields(objects: K8sObject[]): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reco-k8s-strict-'));
  try {
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    const lines = objects.map((o, i) => {
      const from = o.apiVersion.startsWith('monitoring.coreos.com/')
        ? `@kubernetes-models/prometheus-operator/${o.apiVersion}/${o.kind}`
        : `kubernetes-models/${o.apiVersion}/${o.kind}`;
      return `import type { I${o.kind} as T${i} } from '${from}';\nexport const o${i}: T${i} = ${JSON.stringify(o)};`;
    });
    // Two lines per object: line 2i+1 (1-based) is the import, 2i+2 the literal.
    fs.writeFileSync(path.join(dir, 'check.ts'), lines.join('\n') + '\n');
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = [
      tsc,
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--pretty',
      'false',
      'check.ts',
    ];
    const out = await run(process.execPath, args, { cwd: dir }).then(
      (r) => r.stdout,
      (err) => String(err.stdout ?? err.message),
    );
    return out
      .split('\n')
      .filter((l) => l.startsWith('check.ts('))
      .map((l) => {
        const line = Number(/^check\.ts\((\d+),/.exec(l)![1]);
        const o = objects[Math.floor((line - 1) / 2)];
        return `${o.kind}/${o.metadata.name}: ${l.replace(/^check\.ts\(\d+,\d+\): error TS\d+: /, '')}`;
      });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// PromQL

const PROMQL_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/**
 * Metric names a PromQL expression selects. Not a full parser, but enough for dashboards: strings, label
 * matchers, ranges, grouping clauses and Grafana variables are removed first; what remains is function names
 * (followed by "("), keywords, numbers and metric names.
 */
export function promqlMetricNames(expr: string): string[] {
  let s = expr.replace(/"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`/g, ' ');
  s = s.replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  s = s.replace(/\{[^}]*\}/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const before = s[m.index - 1];
    if (before !== undefined && /[0-9.]/.test(before)) continue; // 1e3, 26h
    if (
      s
        .slice(m.index + m[0].length)
        .trimStart()
        .startsWith('(')
    )
      continue; // a function
    if (PROMQL_KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** Grafana variables replaced by what Grafana would send, so promtool can parse the expression. */
export function grafanaToPromql(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$\{__rate_interval\}|\$\{__interval\}/g, '5m')
    .replace(/\$__range/g, '1d');
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: any[];
  templating?: { list: any[] };
}

export function loadDashboards(): { file: string; dashboard: Dashboard }[] {
  return fs
    .readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({
      file: f,
      dashboard: JSON.parse(fs.readFileSync(path.join(DASHBOARD_DIR, f), 'utf8')) as Dashboard,
    }));
}

/** Every PromQL expression of a dashboard: panel targets (rows may nest panels) and query variables. */
export function dashboardQueries(d: Dashboard): { panel: string; expr: string }[] {
  const out: { panel: string; expr: string }[] = [];
  const walk = (panels: any[]) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (typeof t.expr === 'string') out.push({ panel: p.title, expr: t.expr });
      if (Array.isArray(p.panels)) walk(p.panels);
    }
  };
  walk(d.panels);
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    if (typeof q === 'string')
      out.push({ panel: `variable ${v.name}`, expr: q.replace(/^label_values\((.*?)(,[^,]*)?\)$/, '$1') });
  }
  return out;
}

/** Alert and recording rule expressions of the PrometheusRule objects. */
export function ruleQueries(objects: K8sObject[]): { rule: string; expr: string }[] {
  return objects
    .filter((o) => o.kind === 'PrometheusRule')
    .flatMap((o) =>
      (o.spec?.groups ?? []).flatMap((g: any) =>
        (g.rules ?? []).map((r: any) => ({ rule: r.alert ?? r.record, expr: String(r.expr) })),
      ),
    );
}

/**
 * Names a Prometheus text exposition makes queryable: every `# TYPE` (also for metrics without samples yet,
 * e.g. a labelled counter never incremented) with the series a histogram or summary adds, and every sample.
 */
export function exposedMetricNames(scrape: string): Set<string> {
  const names = new Set<string>();
  for (const line of scrape.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, name, kind] = type;
      names.add(name);
      if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
      if (kind === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]);
  }
  return names;
}

// ---------------------------------------------------------------------------------------------------------
// README and Dockerfile

/** The `reco …` command lines of the README's code blocks, comments stripped and spaces normalised. */
export function readmeCommands(markdown: string): Set<string> {
  const commands = new Set<string>();
  for (const block of markdown.matchAll(/^```[a-z]*\n([\s\S]*?)^```/gm)) {
    for (const raw of block[1].split('\n')) {
      const line = raw
        .replace(/\s#.*$/, '')
        .trim()
        .replace(/\s+/g, ' ');
      if (/^reco(\s|$)/.test(line)) commands.add(line);
    }
  }
  return commands;
}

export interface DockerInstruction {
  instruction: string;
  args: string;
  stage: number;
}

/** Dockerfile instructions with continuation lines joined and comments dropped; `stage` counts FROMs. */
export function parseDockerfile(text: string): DockerInstruction[] {
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  const out: DockerInstruction[] = [];
  let stage = -1;
  for (const line of joined.split('\n')) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const instruction = m[1].toUpperCase();
    if (instruction === 'FROM') stage += 1;
    out.push({ instruction, args: m[2].trim(), stage });
  }
  return out;
}

/** The exec (JSON) form of ENTRYPOINT/CMD/HEALTHCHECK CMD; the shell form is refused (signals, PID 1). */
export function execForm(args: string): string[] {
  const parsed = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string'))
    throw new Error(`not an exec form: ${args}`);
  return parsed;
}

/** All containers (init and main) of the pod template of a workload, with their kind/name. */
export function podContainers(obj: K8sObject): { owner: string; container: any; init: boolean; pod: any }[] {
  const pod = obj.kind === 'CronJob' ? obj.spec?.jobTemplate?.spec?.template?.spec : obj.spec?.template?.spec;
  if (!pod) return [];
  const owner = `${obj.kind}/${obj.metadata.name}`;
  return [
    ...(pod.initContainers ?? []).map((c: any) => ({ owner, container: c, init: true, pod })),
    ...(pod.containers ?? []).map((c: any) => ({ owner, container: c, init: false, pod })),
  ];
}
