import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import type { RecoServer } from '../../src/server/index.js';
import { call, startTestServer } from './fixtures.js';

const DIST = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** /docs: Swagger UI from node_modules, every file from the server itself, reading /openapi.json. */
describe('GET /docs', () => {
  let t: TestDatabase;
  let server: RecoServer;
  let base: string;

  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    server = await startTestServer(t.db);
    base = server.url!;
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await t?.drop();
  });

  it('serves a page whose scripts, styles and icons all come from the server, under a policy allowing only them', async () => {
    const r = await call(base, 'GET', '/docs');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/(^|; )script-src 'self'(;|$)/);
    expect(csp).toMatch(/(^|; )default-src 'self'(;|$)/);
    expect(r.body).not.toMatch(/https?:\/\//);
    expect(r.body).not.toMatch(/<script>/); // no inline script: script-src 'self' would block it
    const urls = [...(r.body as string).matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(urls.sort()).toEqual([
      '/docs/favicon-16x16.png',
      '/docs/favicon-32x32.png',
      '/docs/init.js',
      '/docs/swagger-ui-bundle.js',
      '/docs/swagger-ui.css',
    ]);
    for (const url of urls) {
      const res = await fetch(base + url);
      expect([url, res.status]).toEqual([url, 200]);
      const bytes = Buffer.from(await res.arrayBuffer());
      const type = res.headers.get('content-type') ?? '';
      if (url.endsWith('.css')) expect(type).toMatch(/^text\/css/);
      if (url.endsWith('.js')) expect(type).toMatch(/javascript/);
      if (url.endsWith('.png')) expect(type).toBe('image/png');
      // The package's own files, byte for byte.
      if (url !== '/docs/init.js')
        expect(bytes.equals(fs.readFileSync(path.join(DIST, path.basename(url))))).toBe(true);
    }
  });

  it('starts Swagger UI on /openapi.json, whose security schemes give the bearer and X-Admin-Token inputs', async () => {
    const init = await fetch(`${base}/docs/init.js`);
    const text = await init.text();
    expect(text).toMatch(/SwaggerUIBundle\(\{[^}]*url: '\/openapi\.json'/);
    expect(text).toMatch(/validatorUrl: null/); // no request to an outside validator
    const doc = (await call(base, 'GET', '/openapi.json')).body;
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.adminToken).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'X-Admin-Token',
    });
    expect(doc.components.securitySchemes.oauth2Password.flows.password.tokenUrl).toBe('/token');
  });

  it('serves no other file of the package, nor anything outside it', async () => {
    for (const p of [
      '/docs/index.html',
      '/docs/swagger-initializer.js',
      '/docs/package.json',
      '/docs/..%2Fpackage.json',
      '/docs/swagger-ui.js.map',
    ]) {
      expect([p, (await call(base, 'GET', p)).status]).toEqual([p, 404]);
    }
  });
});
