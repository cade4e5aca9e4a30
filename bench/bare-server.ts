/** The reference of bench/serve.ts: node:http answering a fixed 1 KB JSON body to every request. */
import http from 'node:http';

const items = Array.from({ length: 10 }, (_, i) => ({ movie_id: 1000 + i, title: `Reference movie number ${i} (2000)`, genres: ['Drama', 'Comedy'], score: 0.5 }));
let body = JSON.stringify({ user_id: 1, created: false, model: { algorithm: 'reference', version: 'v1' }, recommendations: items, ignored_movie_ids: [] });
// Pad to exactly 1024 bytes.
body = body.slice(0, -1) + `,"pad":"${'x'.repeat(Math.max(0, 1024 - body.length - 10))}"}`;
const payload = Buffer.from(body);

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': payload.length });
    res.end(payload);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const addr = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${addr.port}`, bytes: payload.length })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
