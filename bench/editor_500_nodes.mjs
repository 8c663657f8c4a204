#!/usr/bin/env node
// bench/editor_500_nodes.mjs — how long the browser editor takes to open a 500-node flow,
// and how smoothly a node drags in it (headless Debian Chromium via playwright-core).
//
//   node bench/editor_500_nodes.mjs                 # real flowd (build/flowd): POST the flow, open it
//   node bench/editor_500_nodes.mjs --url http://127.0.0.1:8080 --token T   # an already running flowd
//   node bench/editor_500_nodes.mjs --offline [flow.json]   # no API: serve web/dist, load the file
//                                                           # through the editor's import path
// Options: --nodes N (default 500), --runs R (default 3). Prints one line per run and a summary;
// "open" is from navigation start until every node of the flow is in the DOM and painted.
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { layeredLayout } from '../web/src/model/layout.js';
import { startServer, launchBrowser, missingPrereq, ensureDist, TOKEN, DIST, BIN } from '../tests/e2e/helpers.mjs';

const argv = process.argv.slice(2);
const opt = (k, d) => { const i = argv.indexOf(k); return i >= 0 ? argv[i + 1] : d; };
const N = Number(opt('--nodes', 500));
const RUNS = Number(opt('--runs', 3));
const offline = argv.includes('--offline');
const fileArg = argv.find((a, i) => a.endsWith('.json') && argv[i - 1] !== '--url');

/* A DAG shaped like real flows: one trigger, then switches fanning out into chains of
 * conditions and actions, with some joins. */
export function makeFlow(n) {
  const nodes = [{ id: 't', type: 'trigger.record', config: { kind: 'order', on: 'created' } }];
  const edges = [];
  const acts = ['action.send_sms', 'action.assign', 'action.create_task', 'action.send_email', 'delay', 'set'];
  let i = 1;
  const frontier = ['t'];
  const typeOf = new Map([['t', 'trigger.record']]);
  // The port an edge leaves from: switches hand out website/facebook/default in turn.
  const link = (from, to) => {
    const ty = typeOf.get(from);
    const port = ty === 'branch.switch' ? ['website', 'facebook', 'default'][edges.filter((e) => e.from === from).length % 3]
      : ty === 'action.assign' ? 'assigned' : undefined;
    edges.push(port ? { from, port, to } : { from, to });
  };
  while (i < n) {
    const from = frontier.shift() || 't';
    if (i % 9 === 1 && i + 4 < n) {
      const id = `sw${i}`;
      nodes.push({ id, type: 'branch.switch', config: { cases: [
        { port: 'website', when: { '==': [{ var: 'order.source' }, 'website'] } },
        { port: 'facebook', when: { '==': [{ var: 'order.source' }, 'facebook'] } }] } });
      typeOf.set(id, 'branch.switch');
      link(from, id);
      frontier.push(id, id, id);
      i++;
      continue;
    }
    const type = acts[i % acts.length];
    const id = `n${i}`;
    const config = type === 'action.send_sms' ? { to: 'auto', text: 'Đơn #ORDER_ID# đã nhận' }
      : type === 'action.assign' ? { target: 'order', strategy: 'round_robin' }
        : type === 'action.create_task' ? { title: 'Gọi {{customer.name}}' }
          : type === 'action.send_email' ? { to: 'auto', subject: 'Xin chào', body: 'Cảm ơn' }
            : type === 'delay' ? { for: '15m' } : { values: { step: i } };
    nodes.push({ id, type, config });
    typeOf.set(id, type);
    link(from, id);
    frontier.push(id);
    i++;
  }
  // Positions from the editor's own tidy layout, so the document looks like a saved flow.
  const doc0 = { nodes, edges };
  const pos = layeredLayout(doc0, new Map(), (nd) => (nd.type === 'branch.switch' ? ['website', 'facebook', 'default']
    : nd.type === 'action.assign' ? ['assigned', 'unassigned', 'error'] : ['out']));
  for (const nd of nodes) nd.position = pos.get(nd.id);
  return { id: `bench_${n}_${Date.now().toString(36)}`, name: `Bench ${n} nodes`, priority: 100, nodes, edges };
}

function staticServer() {
  const types = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html', '.svg': 'image/svg+xml' };
  const srv = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    if (u.pathname.startsWith('/api/') || u.pathname === '/ws') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'not_found', message: 'no such route' } }));
      return;
    }
    let f = path.join(DIST, path.normalize(u.pathname));
    if (!f.startsWith(DIST) || !fs.existsSync(f) || fs.statSync(f).isDirectory()) f = path.join(DIST, 'index.html');
    res.writeHead(200, { 'content-type': types[path.extname(f)] || 'application/octet-stream' });
    fs.createReadStream(f).pipe(res);
  });
  return new Promise((r) => srv.listen(0, '127.0.0.1', () => r({ url: `http://127.0.0.1:${srv.address().port}`, stop: () => srv.close() })));
}

/* Resolves with ms from navigation start until `count` nodes are in the DOM, plus a paint. */
async function waitRendered(page, count) {
  await page.waitForFunction((c) => document.querySelectorAll('.react-flow__node').length >= c, count, { timeout: 60000, polling: 'raf' });
  return page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now())))));
}

async function measureDrag(page) {
  const node = page.locator('.react-flow__node').nth(3);
  const box = await node.boundingBox();
  if (!box) return null;
  await page.evaluate(() => {
    window.__frames = [];
    let last = performance.now();
    const tick = (t) => { window.__frames.push(t - last); last = t; if (window.__frames.length < 400 && !window.__stop) requestAnimationFrame(tick); };
    window.__stop = false;
    requestAnimationFrame(tick);
  });
  const x = box.x + 30; const y = box.y + 12;
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let i = 1; i <= 60; i++) { await page.mouse.move(x + i * 4, y + i * 2); }
  await page.mouse.up();
  const frames = await page.evaluate(() => { window.__stop = true; return window.__frames.slice(1); });
  frames.sort((a, b) => a - b);
  const avg = frames.reduce((a, b) => a + b, 0) / Math.max(1, frames.length);
  return { frames: frames.length, avg: +avg.toFixed(1), p95: +(frames[Math.floor(frames.length * 0.95)] || 0).toFixed(1), max: +(frames[frames.length - 1] || 0).toFixed(1) };
}

async function main() {
  let doc;
  if (fileArg) doc = JSON.parse(fs.readFileSync(fileArg, 'utf8'));
  else doc = makeFlow(N);
  const count = doc.nodes.length;
  let srv; let mode;
  const urlArg = opt('--url', null);
  const token = opt('--token', TOKEN);
  if (urlArg) { srv = { url: urlArg, stop: async () => {} }; mode = 'server'; }
  else if (!offline && !missingPrereq()) {
    srv = await startServer(); mode = 'server';
    const probe = await srv.api('GET', '/api/flows');
    if (probe.status === 404) { await srv.stop(); srv = null; }
  }
  if (!srv) { ensureDist(); srv = await staticServer(); mode = 'offline'; }
  console.log(`mode: ${mode}${mode === 'offline' && !offline ? ` (no flows API${missingPrereq() ? `: ${missingPrereq()}` : ''})` : ''}, flow: ${count} nodes, ${doc.edges.length} edges, binary: ${BIN}`);

  try {
    await measure(doc, count, srv, mode, token);
  } finally {
    await srv.stop();
  }
}

async function measure(doc, count, srv, mode, token) {
  let flowId = null;
  if (mode === 'server') {
    const r = await fetch(`${srv.url}/api/flows`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(doc) });
    const body = await r.json().catch(() => ({}));
    if (r.status >= 300) throw new Error(`POST /api/flows: ${r.status} ${JSON.stringify(body).slice(0, 300)}`);
    flowId = body.id || doc.id;
  }
  const tmpFile = path.join(os.tmpdir(), `flowd-bench-${process.pid}.json`);
  fs.writeFileSync(tmpFile, JSON.stringify(doc));

  const browser = await launchBrowser();
  const results = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      const page = await browser.ctx.newPage();
      await page.addInitScript((tok) => { localStorage.setItem('flowd.token', tok); localStorage.setItem('flowd.lang', 'en'); }, token);
      let ms;
      if (mode === 'server') {
        await page.goto(`${srv.url}/#/flows/${encodeURIComponent(flowId)}`);
        ms = await waitRendered(page, count);
      } else {
        await page.goto(`${srv.url}/#/flows`);
        await page.waitForSelector('[data-testid=import-file]', { state: 'attached' });
        const t0 = await page.evaluate(() => performance.now());
        await page.setInputFiles('[data-testid=import-file]', tmpFile);
        ms = (await waitRendered(page, count)) - t0;
      }
      const drag = await measureDrag(page);
      const rendered = await page.evaluate(() => document.querySelectorAll('.react-flow__node').length);
      results.push({ ms, drag });
      console.log(`run ${run + 1}: open ${ms.toFixed(0)} ms (${rendered} nodes in DOM)` + (drag ? `; drag: ${drag.frames} frames, avg ${drag.avg} ms, p95 ${drag.p95} ms, max ${drag.max} ms` : ''));
      await page.close();
    }
  } finally {
    await browser.close();
    fs.rmSync(tmpFile, { force: true });
  }
  const opens = results.map((r) => r.ms).sort((a, b) => a - b);
  console.log(`open: median ${opens[Math.floor(opens.length / 2)].toFixed(0)} ms, best ${opens[0].toFixed(0)} ms, worst ${opens[opens.length - 1].toFixed(0)} ms (budget 1500 ms)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
