/**
 * /docs: a self-contained page (no CDN: the server may run where nothing outside is reachable) that reads
 * /openapi.json, lists every operation with its schemas, and lets the reader send requests with a token.
 */
export const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reco API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:980px;padding:1rem 1.5rem;color:#222}
h1{margin-bottom:.2rem} .op{border:1px solid #ddd;border-radius:6px;margin:.8rem 0;padding:.6rem .9rem}
.m{display:inline-block;min-width:4.2rem;font-weight:700;text-transform:uppercase}
.get{color:#0a7} .post{color:#06c} pre,textarea{font:13px/1.35 ui-monospace,monospace;background:#f6f6f6;border-radius:4px}
pre{padding:.5rem;overflow:auto;max-height:22rem} textarea{width:100%;box-sizing:border-box;padding:.4rem}
summary{cursor:pointer} button{margin:.3rem 0} #token{width:100%;box-sizing:border-box}
</style></head><body>
<h1 id="title">reco API</h1><p id="desc"></p>
<p><label>Bearer token (from POST /token): <input id="token" placeholder="paste access_token here"></label></p>
<div id="ops">Loading /openapi.json…</div>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
function resolve(doc, s) { return s && s.$ref ? doc.components.schemas[s.$ref.split('/').pop()] : s; }
function example(doc, s, depth = 0) {
  s = resolve(doc, s) || {};
  if (s.example !== undefined) return s.example;
  if (depth > 4) return null;
  if (s.type === 'object' || s.properties) { const o = {}; for (const [k, v] of Object.entries(s.properties || {})) o[k] = example(doc, v, depth + 1); return o; }
  if (s.type === 'array') return [example(doc, s.items, depth + 1)];
  if (s.type === 'integer' || s.type === 'number') return s.default ?? 1;
  if (s.type === 'boolean') return true;
  return s.enum ? s.enum[0] : 'string';
}
async function send(method, path, id) {
  const out = document.getElementById('out-' + id);
  const body = document.getElementById('body-' + id);
  const query = document.getElementById('query-' + id);
  const headers = {};
  const token = document.getElementById('token').value.trim();
  if (token) headers.Authorization = 'Bearer ' + token;
  const init = { method: method.toUpperCase(), headers };
  if (body) { headers['Content-Type'] = 'application/json'; init.body = body.value; }
  const url = path + (query && query.value.trim() ? '?' + query.value.trim() : '');
  try {
    const r = await fetch(url, init);
    const text = await r.text();
    let shown = text; try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch {}
    out.textContent = r.status + ' ' + r.statusText + '\\n' + shown;
    if (path === '/token' && r.ok) document.getElementById('token').value = JSON.parse(text).access_token;
  } catch (e) { out.textContent = String(e); }
}
fetch('/openapi.json').then((r) => r.json()).then((doc) => {
  document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version;
  document.getElementById('desc').textContent = doc.info.description || '';
  let html = '', id = 0;
  for (const [path, item] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(item)) {
    id++;
    const content = op.requestBody && op.requestBody.content['application/json'];
    const params = (op.parameters || []).filter((p) => p.in === 'query');
    html += '<div class="op"><span class="m ' + method + '">' + method + '</span> <code>' + esc(path) + '</code> — ' + esc(op.summary || '');
    if ((op.security || []).some((s) => s.bearerAuth)) html += ' 🔒';
    if (op.description) html += '<p>' + esc(op.description) + '</p>';
    if (params.length) html += '<p>Query: ' + params.map((p) => '<code>' + esc(p.name) + '</code>' + (p.description ? ' (' + esc(p.description) + ')' : '')).join(', ') + '</p><input id="query-' + id + '" placeholder="e.g. query=toy&limit=5" style="width:100%">';
    if (content) html += '<textarea id="body-' + id + '" rows="6">' + esc(JSON.stringify(example(doc, content.schema), null, 2)) + '</textarea>';
    html += '<br><button onclick="send(\\'' + method + '\\', \\'' + path + '\\', ' + id + ')">Send</button><pre id="out-' + id + '"></pre>';
    html += '<details><summary>Responses</summary><pre>' + esc(JSON.stringify(op.responses, null, 2)) + '</pre></details></div>';
  }
  html += '<details><summary>Schemas</summary><pre>' + esc(JSON.stringify(doc.components.schemas, null, 2)) + '</pre></details>';
  document.getElementById('ops').innerHTML = html;
}).catch((e) => { document.getElementById('ops').textContent = 'Cannot load /openapi.json: ' + e; });
</script></body></html>`;
