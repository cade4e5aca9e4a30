/**
 * The references of bench/serve.ts, answering a fixed 1 KB JSON body to every request (plain JavaScript, run by
 * node itself like the built CLI it is compared with: no TypeScript loader in the measured process):
 *  - default: bare node:http (the reference of the ratio target);
 *  - `--express`: an Express 5 app with no middleware at all (body left unread, etag off), to show what the
 *    framework itself costs on this machine, measured in the same run;
 *  - `--batch`: bare node:http whose replies are held and sent back to back at the end of the loop's I/O phase,
 *    16 at most, as `reco serve` sends its fast path's (src/server/reply-batch.ts): what that batching alone brings.
 */
import http from 'node:http';
import express from 'express';

const items = Array.from({ length: 10 }, (_, i) => ({
  movie_id: 1000 + i,
  title: `Reference movie number ${i} (2000)`,
  genres: ['Drama', 'Comedy'],
  score: 0.5,
}));
let body = JSON.stringify({
  user_id: 1,
  created: false,
  model: { algorithm: 'reference', version: 'v1' },
  recommendations: items,
  ignored_movie_ids: [],
});
// About 1 KB: 1,130 bytes (the pad, once meant to reach exactly 1,024, adds only its empty field; kept so that runs stay comparable).
body = body.slice(0, -1) + `,"pad":"${'x'.repeat(Math.max(0, 1024 - body.length - 10))}"}`;
const payload = Buffer.from(body);

/** @type {http.RequestListener} */
let handler;
if (process.argv.includes('--express')) {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': payload.length });
      res.end(payload);
    });
  });
  handler = app;
} else if (process.argv.includes('--batch')) {
  /** @type {http.ServerResponse[]} */
  let held = [];
  const flush = () => {
    const replies = held;
    held = [];
    for (const res of replies) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': payload.length });
      res.end(payload);
    }
  };
  handler = (req, res) => {
    req.resume();
    req.on('end', () => {
      held.push(res);
      if (held.length >= 16) flush();
      else if (held.length === 1) setImmediate(flush);
    });
  };
} else {
  handler = (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': payload.length });
      res.end(payload);
    });
  };
}

const server = http.createServer(handler);
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const addr = /** @type {import('node:net').AddressInfo} */ (server.address());
  process.stdout.write(
    `${JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${addr.port}`, bytes: payload.length })}\n`,
  );
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
