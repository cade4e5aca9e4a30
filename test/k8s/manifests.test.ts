import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engines.js';
import {
  DASHBOARD_DIR,
  hasCommand,
  K8S_DIR,
  type K8sObject,
  parseYamlDocuments,
  podContainers,
  renderKustomize,
  unknownFields,
  validateObject,
} from './support.js';

/**
 * k8s/ rendered by kustomize (kubectl's built-in) and validated offline against the Kubernetes 1.27 schemas
 * (kubernetes-models) and the prometheus-operator CRDs, then checked for what the issue asks of each object.
 */
const describeIfKubectl = hasCommand('kubectl') ? describe : describe.skip;

/**
 * What the `restricted` Pod Security Standard (Kubernetes 1.32) requires of a pod, one line per violation: no host
 * namespaces or ports, no hostPath, no privileged container, non-root, no privilege escalation, every capability
 * dropped (NET_BIND_SERVICE may be added back), seccomp RuntimeDefault or Localhost.
 */
function restrictedViolations(objects: K8sObject[]): string[] {
  const out: string[] = [];
  for (const { owner, container, pod } of objects.flatMap(podContainers)) {
    const where = `${owner} ${container.name}`;
    const sc = container.securityContext ?? {};
    const psc = pod.securityContext ?? {};
    if (pod.hostNetwork || pod.hostPID || pod.hostIPC) out.push(`${where}: host namespaces`);
    if ((pod.volumes ?? []).some((v: any) => v.hostPath)) out.push(`${where}: hostPath volume`);
    if ((container.ports ?? []).some((p: any) => p.hostPort)) out.push(`${where}: hostPort`);
    if (sc.privileged) out.push(`${where}: privileged`);
    if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) out.push(`${where}: runAsNonRoot must be true`);
    if ((sc.runAsUser ?? psc.runAsUser) === 0) out.push(`${where}: runAsUser 0`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation must be false`);
    const seccomp = (sc.seccompProfile ?? psc.seccompProfile)?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
      out.push(`${where}: seccompProfile must be RuntimeDefault or Localhost`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${where}: capabilities must drop ALL`);
    if ((sc.capabilities?.add ?? []).some((c: string) => c !== 'NET_BIND_SERVICE'))
      out.push(`${where}: capabilities added`);
  }
  return out;
}
const version: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;

describeIfKubectl('k8s/ kustomize base', () => {
  let objects: K8sObject[];
  const find = (kind: string, name: string) => {
    const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
    if (!o) throw new Error(`${kind}/${name} is not rendered`);
    return o;
  };

  beforeAll(async () => {
    objects = await renderKustomize();
  });

  test('renders the whole application', () => {
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    for (const expected of [
      'Namespace/reco',
      'StatefulSet/reco-postgres',
      'Service/reco-postgres',
      'Deployment/reco-api',
      'Service/reco-api',
      'Service/reco-api-metrics',
      'HorizontalPodAutoscaler/reco-api',
      'NetworkPolicy/default-deny-ingress',
      'NetworkPolicy/reco-api',
      'NetworkPolicy/reco-postgres',
      'CronJob/reco-ingest',
      'CronJob/reco-train',
      'CronJob/reco-backup',
      'PersistentVolumeClaim/reco-data',
      'ServiceMonitor/reco-api',
      'PrometheusRule/reco',
      'ConfigMap/reco-dashboard-api',
      'ConfigMap/reco-dashboard-pipeline',
      'ConfigMap/reco-dashboard-model',
    ])
      expect(names).toContain(expected);
  });

  test('every object validates against its schema', async () => {
    for (const o of objects) await validateObject(o);
  });

  test('the validation rejects broken manifests', async () => {
    const deployment = structuredClone(find('Deployment', 'reco-api'));
    const wrongType = structuredClone(deployment);
    wrongType.spec.replicas = 'two';
    await expect(validateObject(wrongType)).rejects.toThrow(/replicas must be integer/);
    const noName = structuredClone(deployment);
    delete noName.spec.template.spec.containers[0].name;
    await expect(validateObject(noName)).rejects.toThrow(/required property name/);
    const noSchedule = structuredClone(find('CronJob', 'reco-ingest'));
    delete noSchedule.spec.schedule;
    await expect(validateObject(noSchedule)).rejects.toThrow(/schedule/);
    const badMonitor = structuredClone(find('ServiceMonitor', 'reco-api'));
    badMonitor.spec.endpoints[0].port = 8000;
    await expect(validateObject(badMonitor)).rejects.toThrow(/port must be string/);
    await expect(validateObject({ ...deployment, kind: 'Deploymnet' })).rejects.toThrow(/no schema for kind/);
    await expect(validateObject({ ...deployment, apiVersion: 'example.com/v1' } as K8sObject)).rejects.toThrow(
      /no schema/,
    );
  });

  test('no object has a field its type does not declare (a misspelt field would be silently ignored)', async () => {
    expect(await unknownFields(objects)).toEqual([]);
  });

  test('the unknown-field check catches typos, also in the monitoring CRDs', async () => {
    const deployment = structuredClone(find('Deployment', 'reco-api'));
    deployment.spec.template.spec.containers[0].readinesProbe =
      deployment.spec.template.spec.containers[0].readinessProbe;
    const monitor = structuredClone(find('ServiceMonitor', 'reco-api'));
    monitor.spec.endpoints[0].pathh = '/metrics';
    const problems = await unknownFields([deployment, monitor]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^Deployment\/reco-api: .*readinesProbe/);
    expect(problems[1]).toMatch(/^ServiceMonitor\/reco-api: .*pathh/);
  });

  test('kustomize itself fails on a broken base', async () => {
    const dir = tempDir('reco-k8s-');
    try {
      fs.writeFileSync(path.join(dir, 'kustomization.yaml'), 'resources:\n  - missing.yaml\n');
      await expect(renderKustomize(dir)).rejects.toThrow(/missing\.yaml/);
      expect(() => parseYamlDocuments('kind: Service\n  metadata: [\n')).toThrow(/YAML/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('everything lives in the namespace reco and no Secret is in git', () => {
    for (const o of objects)
      if (o.kind !== 'Namespace')
        expect(`${o.kind}/${o.metadata.name} ${o.metadata.namespace}`).toBe(`${o.kind}/${o.metadata.name} reco`);
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    // No value that looks like a credential in any env of any container.
    for (const { owner, container } of objects.flatMap(podContainers))
      for (const e of container.env ?? [])
        if (/PASSWORD|SECRET|TOKEN|DATABASE_URL/.test(e.name))
          expect(`${owner} ${e.name} ${e.value === undefined ? 'from secret' : 'literal'}`).toBe(
            `${owner} ${e.name} from secret`,
          );
  });

  test('the Secrets the pods reference are exactly the ones setup.sh creates', () => {
    const setup = fs.readFileSync(path.join(ROOT, 'setup.sh'), 'utf8');
    const refs = new Set<string>();
    for (const { container } of objects.flatMap(podContainers))
      for (const e of container.env ?? [])
        if (e.valueFrom?.secretKeyRef) refs.add(`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`);
    expect([...refs].sort()).toEqual([
      'reco-api/RECO_ADMIN_TOKEN',
      'reco-api/RECO_JWT_SECRET',
      'reco-db-app/DATABASE_URL',
      'reco-postgres/DATABASE_URL',
      'reco-postgres/POSTGRES_DB',
      'reco-postgres/POSTGRES_PASSWORD',
      'reco-postgres/POSTGRES_USER',
    ]);
    for (const ref of refs) {
      const [secret, key] = ref.split('/');
      expect(setup).toContain(secret);
      expect(setup).toMatch(new RegExp(`\\b${key}=`));
    }
  });

  test('every container: pinned image, requests and limits, no privilege escalation, read-only root for reco', () => {
    for (const { owner, container, pod } of objects.flatMap(podContainers)) {
      const where = `${owner} ${container.name}`;
      expect(container.image).not.toMatch(/:latest$|^[^:]+$/);
      for (const r of ['cpu', 'memory']) {
        expect(container.resources?.requests?.[r]).toBeDefined();
        expect(container.resources?.limits?.[r]).toBeDefined();
      }
      expect(`${where} ${container.securityContext?.allowPrivilegeEscalation}`).toBe(`${where} false`);
      expect(`${where} ${pod.securityContext?.runAsNonRoot}`).toBe(`${where} true`);
      if (container.image.startsWith('reco:')) {
        expect(`${where} ${container.image}`).toBe(`${where} reco:${version}`);
        expect(container.imagePullPolicy).toBe('IfNotPresent'); // the image is imported into k3s, not pulled
        expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
        expect(pod.enableServiceLinks).toBe(false);
        expect(container.volumeMounts.map((m: any) => m.mountPath)).toEqual(expect.arrayContaining(['/tmp', '/data']));
      }
    }
  });

  test('PostgreSQL 16: a StatefulSet with a volume claim, probes and credentials from the Secret', () => {
    const sts = find('StatefulSet', 'reco-postgres');
    const c = sts.spec.template.spec.containers[0];
    expect(c.image).toMatch(/^postgres:16(\.\d+)?(-bookworm)?$/);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBeDefined();
    expect(c.volumeMounts.map((m: any) => m.name)).toContain(sts.spec.volumeClaimTemplates[0].metadata.name);
    expect(c.readinessProbe.exec.command.join(' ')).toMatch(/pg_isready/);
    expect(c.livenessProbe).toBeDefined();
    expect(sts.spec.serviceName).toBe('reco-postgres');
    const svc = find('Service', 'reco-postgres');
    expect(svc.spec.selector).toEqual(sts.spec.selector.matchLabels);
    for (const [k, v] of Object.entries(svc.spec.selector)) expect(sts.spec.template.metadata.labels[k]).toBe(v);
    // The API reaches it under the name in DATABASE_URL that setup.sh writes.
    expect(fs.readFileSync(path.join(ROOT, 'setup.sh'), 'utf8')).toMatch(/@reco-postgres:5432\//);
  });

  test('the API: replicas from the HPA alone, rolling updates without lost capacity, probes, Services and ServiceMonitor agree', () => {
    const dep = find('Deployment', 'reco-api');
    // A `replicas` beside the HPA would reset the scaled Deployment on every `kubectl apply`.
    expect(dep.spec.replicas).toBeUndefined();
    expect(dep.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    const pod = dep.spec.template.spec;
    const api = pod.containers.find((c: any) => c.name === 'api');
    expect(api.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(api.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(api.ports).toEqual([
      { name: 'http', containerPort: 8000 },
      { name: 'metrics', containerPort: 9464 },
    ]);
    expect(api.args).toEqual(['serve', '--host', '0.0.0.0', '--port', '8000', '--metrics-port', '9464']);
    expect(pod.initContainers.map((c: any) => [...c.command, ...c.args].join(' '))).toEqual(['reco db migrate']);
    // The migrations run as the owner, and the init container sees nothing but the database's Secret.
    const migrateEnv = pod.initContainers[0].env;
    expect(migrateEnv.filter((e: any) => e.valueFrom).map((e: any) => e.valueFrom.secretKeyRef)).toEqual([
      { name: 'reco-postgres', key: 'DATABASE_URL' },
    ]);
    expect(migrateEnv.map((e: any) => e.name).sort()).toEqual(['DATABASE_URL', 'HOME']);
    // The API connects as the application's role, not the owner.
    const envNames = api.env.map((e: any) => e.name);
    expect(envNames).toEqual(expect.arrayContaining(['DATABASE_URL', 'RECO_JWT_SECRET', 'RECO_ADMIN_TOKEN']));
    expect(api.env.find((e: any) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef).toEqual({
      name: 'reco-db-app',
      key: 'DATABASE_URL',
    });
    const config = find('ConfigMap', api.envFrom[0].configMapRef.name);
    expect(config.data).toMatchObject({ NODE_ENV: 'production', RECO_DATA_DIR: '/data' });

    const hpa = find('HorizontalPodAutoscaler', 'reco-api');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'reco-api' });
    expect(hpa.spec.minReplicas).toBe(2);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);

    // The clients' Service: the API port only. The metrics port: a Service of its own, for the ServiceMonitor.
    const svc = find('Service', 'reco-api');
    for (const [k, v] of Object.entries(svc.spec.selector)) expect(dep.spec.template.metadata.labels[k]).toBe(v);
    expect(svc.spec.ports.map((p: any) => p.targetPort)).toEqual(['http']);
    const metricsSvc = find('Service', 'reco-api-metrics');
    for (const [k, v] of Object.entries(metricsSvc.spec.selector)) expect(dep.spec.template.metadata.labels[k]).toBe(v);
    expect(metricsSvc.spec.ports).toEqual([{ name: 'metrics', port: 9464, targetPort: 'metrics' }]);
    const monitor = find('ServiceMonitor', 'reco-api');
    const selected = objects.filter(
      (o) =>
        o.kind === 'Service' &&
        Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v),
    );
    expect(selected.map((o) => o.metadata.name)).toEqual(['reco-api-metrics']);
    expect(monitor.spec.endpoints[0].port).toBe('metrics');
    expect(monitor.spec.endpoints[0].path).toBe('/metrics');
    // The scrape job is named after the Service's label, "reco-api": what the dashboards and alerts select.
    expect(metricsSvc.metadata.labels?.[monitor.spec.jobLabel]).toBe('reco-api');
  });

  test('CronJobs: the daily schedules, never two runs at once, the data volume', () => {
    const expected: Record<string, [string, string]> = {
      'reco-ingest': ['0 7 * * *', 'ingest'],
      'reco-train': ['30 7 * * *', 'train'],
      'reco-backup': ['0 2 * * *', 'backup-db --keep 7'],
    };
    const cronJobs = objects.filter((o) => o.kind === 'CronJob');
    expect(cronJobs.map((c) => c.metadata.name).sort()).toEqual(Object.keys(expected).sort());
    for (const cj of cronJobs) {
      const [schedule, args] = expected[cj.metadata.name];
      expect(cj.spec.schedule).toBe(schedule);
      expect(cj.spec.concurrencyPolicy).toBe('Forbid');
      const pod = cj.spec.jobTemplate.spec.template.spec;
      expect(pod.containers[0].args.join(' ')).toBe(args);
      const dataVolume = pod.volumes.find((v: any) => v.persistentVolumeClaim);
      expect(dataVolume.persistentVolumeClaim.claimName).toBe('reco-data');
      expect(pod.containers[0].volumeMounts).toContainEqual({ name: dataVolume.name, mountPath: '/data' });
      expect(pod.securityContext.fsGroup).toBeDefined(); // the non-root user can write the volume
    }
    expect(find('PersistentVolumeClaim', 'reco-data').spec.resources.requests.storage).toBeDefined();
  });

  test('the namespace enforces the restricted Pod Security Standard, and every pod meets it', () => {
    const ns = find('Namespace', 'reco');
    for (const mode of ['enforce', 'warn', 'audit'])
      expect(ns.metadata.labels?.[`pod-security.kubernetes.io/${mode}`]).toBe('restricted');
    expect(restrictedViolations(objects)).toEqual([]);
    // The check itself catches what PSA would refuse.
    const loose = structuredClone(find('Deployment', 'reco-api'));
    delete loose.spec.template.spec.securityContext.seccompProfile;
    loose.spec.template.spec.containers[0].securityContext.capabilities = { drop: ['NET_RAW'] };
    expect(restrictedViolations([loose])).toEqual([
      'Deployment/reco-api migrate: seccompProfile must be RuntimeDefault or Localhost',
      'Deployment/reco-api api: seccompProfile must be RuntimeDefault or Localhost',
      'Deployment/reco-api api: capabilities must drop ALL',
    ]);
  });

  test('network policies: nothing in by default, the API from the ingress and Prometheus, PostgreSQL from reco pods only', () => {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    const deny = find('NetworkPolicy', 'default-deny-ingress');
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
    for (const p of policies) expect(p.spec.policyTypes).toEqual(['Ingress']);

    const api = find('NetworkPolicy', 'reco-api');
    const dep = find('Deployment', 'reco-api');
    expect(api.spec.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'reco-api' });
    const portNames = dep.spec.template.spec.containers[0].ports.map((p: any) => p.name);
    const rules = api.spec.ingress.map((r: any) => ({
      namespace: r.from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'],
      pods: r.from[0].podSelector.matchLabels['app.kubernetes.io/name'],
      ports: r.ports.map((p: any) => p.port),
    }));
    expect(rules).toEqual([
      { namespace: 'kube-system', pods: 'traefik', ports: ['http'] },
      { namespace: 'monitoring', pods: 'prometheus', ports: ['metrics'] },
    ]);
    for (const r of rules) for (const port of r.ports) expect(portNames).toContain(port);

    const db = find('NetworkPolicy', 'reco-postgres');
    const sts = find('StatefulSet', 'reco-postgres');
    expect(db.spec.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'reco-postgres' });
    expect(db.spec.ingress).toEqual([
      {
        from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'reco' } } }],
        ports: [{ port: 'postgres' }],
      },
    ]);
    expect(sts.spec.template.spec.containers[0].ports.map((p: any) => p.name)).toContain('postgres');
    // Every pod that connects to the database carries the label the policy admits.
    for (const o of objects) {
      const template = o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template : o.spec?.template;
      const usesDb = podContainers(o).some(({ container }) =>
        (container.env ?? []).some((e: any) => e.name === 'DATABASE_URL'),
      );
      if (usesDb)
        expect(`${o.kind}/${o.metadata.name} ${template.metadata.labels['app.kubernetes.io/part-of']}`).toBe(
          `${o.kind}/${o.metadata.name} reco`,
        );
    }
  });

  test('the application and the jobs connect as the application role; only the migrations as the owner', () => {
    for (const { owner, container, init } of objects.flatMap(podContainers)) {
      const url = (container.env ?? []).find((e: any) => e.name === 'DATABASE_URL');
      if (!url) continue;
      const expected = init && owner === 'Deployment/reco-api' ? 'reco-postgres' : 'reco-db-app';
      expect(`${owner} ${container.name} ${url.valueFrom.secretKeyRef.name}`).toBe(
        `${owner} ${container.name} ${expected}`,
      );
    }
  });

  test('the four Grafana dashboards are ConfigMaps for the sidecar, identical to the JSON files', () => {
    const files = fs.readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual(['reco-api.json', 'reco-experiments.json', 'reco-model.json', 'reco-pipeline.json']);
    for (const f of files) {
      const cm = find('ConfigMap', `reco-dashboard-${f.replace(/^reco-|\.json$/g, '')}`);
      expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
      expect(cm.data?.[f]).toBe(fs.readFileSync(path.join(DASHBOARD_DIR, f), 'utf8'));
      JSON.parse(cm.data![f]);
    }
  });

  test('the kustomization lists every manifest in k8s/ (none is forgotten)', () => {
    const listed = new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`));
    // Sub-directories with a kustomization of their own (k8s/seed) are separate bases, applied on their own.
    const ownBase = (dir: string) => dir !== K8S_DIR && fs.existsSync(path.join(dir, 'kustomization.yaml'));
    const walk = (dir: string): string[] =>
      ownBase(dir)
        ? []
        : fs
            .readdirSync(dir, { withFileTypes: true })
            .flatMap((e) =>
              e.isDirectory()
                ? walk(path.join(dir, e.name))
                : e.name.endsWith('.yaml') && e.name !== 'kustomization.yaml'
                  ? [path.join(dir, e.name)]
                  : [],
            );
    for (const file of walk(K8S_DIR))
      for (const o of parseYamlDocuments(fs.readFileSync(file, 'utf8')))
        expect(listed).toContain(`${o.kind}/${o.metadata.name}`);
  });
});

describeIfKubectl('k8s/seed (first-install data, applied once by setup.sh)', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await renderKustomize(path.join(K8S_DIR, 'seed'));
  });

  test('one Job in namespace reco that validates', async () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name} ${o.metadata.namespace}`)).toEqual(['Job/reco-seed reco']);
    for (const o of objects) await validateObject(o);
    expect(await unknownFields(objects)).toEqual([]);
  });

  test("loads the sample bundled in the image, then trains, on the jobs' data volume", () => {
    const containers = podContainers(objects[0]);
    expect(
      containers.map(
        ({ container, init }) => `${init ? 'init ' : ''}${[...container.command, ...container.args].join(' ')}`,
      ),
    ).toEqual(['init reco ingest --from data/initial_data', 'reco train']);
    expect(containers[0].container.workingDir).toBe('/app'); // the image's WORKDIR, where data/initial_data is
    const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^WORKDIR \/app$/m);
    expect(dockerfile).toMatch(/^COPY data\/initial_data \.\/data\/initial_data$/m);
    const pod = containers[0].pod;
    expect(pod.volumes.find((v: any) => v.persistentVolumeClaim)?.persistentVolumeClaim.claimName).toBe('reco-data');
    for (const { container } of containers) {
      expect(container.image).toBe(`reco:${version}`);
      expect(container.env.find((e: any) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef).toEqual({
        name: 'reco-db-app',
        key: 'DATABASE_URL',
      });
      expect(container.env.find((e: any) => e.name === 'NODE_ENV').value).toBe('production');
      expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    }
  });

  test('meets the restricted Pod Security Standard and connects as the application role', () => {
    expect(restrictedViolations(objects)).toEqual([]);
    for (const { container } of podContainers(objects[0]))
      expect(container.env.find((e: any) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef.name).toBe('reco-db-app');
    expect(objects[0].spec.template.metadata.labels['app.kubernetes.io/part-of']).toBe('reco');
  });

  test('setup.sh applies it only when the Job does not exist yet', () => {
    const setup = fs.readFileSync(path.join(ROOT, 'setup.sh'), 'utf8');
    const seedOnce = /^seed_once\(\) \{\n([\s\S]*?)^\}/m.exec(setup)?.[1] ?? '';
    const check = seedOnce.search(/if kubectl -n "\$\{NAMESPACE\}" get job reco-seed/);
    const apply = seedOnce.search(/kubectl apply -k k8s\/seed/);
    expect(check).toBeGreaterThan(-1);
    expect(apply).toBeGreaterThan(check);
    expect(setup).toMatch(/^\s*seed_once$/m); // and main calls it
  });
});

describeIfKubectl('k8s/simulation (rehearsal data, opt-in)', () => {
  let objects: K8sObject[];
  let base: K8sObject[];
  beforeAll(async () => {
    objects = await renderKustomize(path.join(K8S_DIR, 'simulation'));
    base = await renderKustomize();
  });

  test('one CronJob in namespace reco that validates', async () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name} ${o.metadata.namespace}`)).toEqual([
      'CronJob/reco-simulate reco',
    ]);
    for (const o of objects) await validateObject(o);
    expect(await unknownFields(objects)).toEqual([]);
  });

  test('writes one day into the volume reco-ingest reads, before reco-ingest runs', () => {
    const [cron] = objects;
    const ingest = base.find((o) => o.kind === 'CronJob' && o.metadata.name === 'reco-ingest')!;
    const [{ container, pod }] = podContainers(cron);
    expect([...container.command, ...container.args].join(' ')).toBe('reco simulate data --days 1');
    expect(container.image).toBe(`reco:${version}`);
    expect(container.env.find((e: any) => e.name === 'RECO_DATA_DIR').value).toBe('/data');
    expect(container.env.find((e: any) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef).toEqual({
      name: 'reco-db-app',
      key: 'DATABASE_URL',
    });
    expect(restrictedViolations(objects)).toEqual([]);
    const claim = (p: any) => p.volumes.find((v: any) => v.persistentVolumeClaim)?.persistentVolumeClaim.claimName;
    const [{ pod: ingestPod, container: ingestContainer }] = podContainers(ingest);
    expect(claim(pod)).toBe(claim(ingestPod));
    expect(container.volumeMounts.find((m: any) => m.name === 'data').mountPath).toBe(
      ingestContainer.volumeMounts.find((m: any) => m.name === 'data').mountPath,
    );
    // Same time zone, same hour: simulate at :30 of the hour before ingest, and it gives up before ingest starts.
    const [sMin, sHour] = cron.spec.schedule.split(' ').map(Number);
    const [iMin, iHour] = ingest.spec.schedule.split(' ').map(Number);
    expect(cron.spec.timeZone).toBe(ingest.spec.timeZone);
    expect(sHour * 60 + sMin).toBeLessThan(iHour * 60 + iMin);
    expect(sHour * 60 + sMin + cron.spec.startingDeadlineSeconds / 60).toBeLessThanOrEqual(iHour * 60 + iMin);
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
  });

  test('is not part of the base: a production cluster gets its files from the platform', () => {
    expect(base.map((o) => o.metadata.name)).not.toContain('reco-simulate');
  });
});
