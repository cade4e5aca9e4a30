import { Router } from 'express';
import getAbsoluteFSPath from 'swagger-ui-dist/absolute-path.js';

/**
 * /docs: Swagger UI (swagger-ui-dist) over /openapi.json, every file served by this server from node_modules (no
 * CDN: the server may run where nothing outside is reachable). Its "Authorize" dialog has an input per security
 * scheme of the document: the bearer token, the OAuth2 password grant of POST /token, and X-Admin-Token.
 */

/** swagger-ui-dist's folder; not its index.js, which would load the browser bundle into the server. */
const DIST = getAbsoluteFSPath();
const ASSETS = ['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-16x16.png', 'favicon-32x32.png'];

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reco API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
</head><body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body></html>
`;

/**
 * A file, not an inline script, so that the policy below needs no 'unsafe-inline' for scripts. validatorUrl: no
 * outside badge; credentials are not persisted (no token left in the browser's storage).
 */
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null });
`;

/** Everything from this server; Swagger UI sets style attributes, and its CSS holds data: images. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

export function docsRouter(): Router {
  const r = Router();
  r.get('/docs', (_req, res) => {
    res.set('Content-Security-Policy', CSP).type('html').send(PAGE);
  });
  r.get('/docs/init.js', (_req, res) => {
    res.set('Content-Security-Policy', CSP).type('js').send(INIT);
  });
  // One route per file, so that any other path under /docs is a 404 (and the route label stays one per file).
  for (const asset of ASSETS) {
    r.get(`/docs/${asset}`, (_req, res, next) => {
      // The files change only with the installed package.
      res
        .set('Content-Security-Policy', CSP)
        .sendFile(asset, { root: DIST, maxAge: '1d', lastModified: false }, (err) => err && next(err));
    });
  }
  return r;
}
