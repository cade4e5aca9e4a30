import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RecoServer } from '../../src/server/index.js';
import { ROOT } from '../helpers/cli.js';
import { createTestDatabase, tempDir, type TestDatabase } from '../helpers/engines.js';
import { startTestServer } from './fixtures.js';

const run = promisify(execFile);

/**
 * The document a running server serves at /openapi.json passes `redocly lint` (its recommended rules) with no
 * error. The remaining warnings are known: the probes, /metrics and the documentation routes have no 4xx answer.
 */
describe('GET /openapi.json passes redocly lint', () => {
  let t: TestDatabase;
  let server: RecoServer;
  let doc: any;
  const dir = tempDir('reco-openapi-');
  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    server = await startTestServer(t.db);
    const r = await fetch(`${server.url}/openapi.json`);
    expect(r.status).toBe(200);
    doc = await r.json();
  });
  afterAll(async () => {
    await server?.close();
    await t?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('has no lint error; the only warnings are the routes without a 4xx answer', async () => {
    const file = path.join(dir, 'openapi.json');
    fs.writeFileSync(file, JSON.stringify(doc, null, 2));
    const bin = path.join(ROOT, 'node_modules', '.bin', 'redocly');
    const { stdout } = await run(bin, ['lint', file, '--format=json'], {
      cwd: dir, // no redocly.yaml here: the built-in recommended rules
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err) => ({ stdout: err.stdout as string })); // exit 1 on errors: the report says which
    const report = JSON.parse(stdout);
    const problems = report.problems.map(
      (p: any) => `${p.severity} ${p.ruleId} ${p.location?.[0]?.pointer ?? ''}: ${p.message}`,
    );
    expect(problems.filter((p: string) => p.startsWith('error'))).toEqual([]);
    expect(report.totals.errors).toBe(0);
    const routesWithout4xx = ['/metrics', '/healthz', '/readyz', '/openapi.json', '/docs'].map(
      (p) => `warn operation-4xx-response #/paths/${p.replace(/\//g, '~1')}/get/responses`,
    );
    expect(problems.map((p: string) => p.replace(/: .*$/, '')).sort()).toEqual(routesWithout4xx.sort());
  }, 120_000);

  it('names every operation, states its security, and declares the OAuth2 password flow of POST /token', () => {
    const ops = Object.entries<any>(doc.paths).flatMap(([p, methods]) =>
      Object.entries<any>(methods).map(([m, op]) => ({ route: `${m.toUpperCase()} ${p}`, op })),
    );
    const ids = ops.map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { route, op } of ops)
      expect(`${route} ${Array.isArray(op.security) ? 'states' : 'omits'} security`).toBe(`${route} states security`);
    const byRoute = Object.fromEntries(ops.map(({ route, op }) => [route, op]));
    expect(byRoute['POST /token'].security).toEqual([]);
    expect(byRoute['POST /recommendations'].security).toEqual([{ bearerAuth: [] }, { oauth2Password: [] }]);
    expect(byRoute['POST /create-client'].security).toEqual([{ adminToken: [] }, {}]);
    expect(doc.components.securitySchemes.oauth2Password).toEqual(
      expect.objectContaining({ type: 'oauth2', flows: { password: { tokenUrl: '/token', scopes: {} } } }),
    );
    expect(doc.components.securitySchemes.adminToken).toEqual(
      expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-Admin-Token' }),
    );
  });
});
