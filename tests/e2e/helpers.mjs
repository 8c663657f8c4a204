// e2e helpers: start a REAL flowd (build/flowd, its own PostgreSQL under a temp dir) serving
// the built editor, and a headless Chromium (Debian's /usr/bin/chromium, never downloaded)
// driven by playwright-core from web/node_modules. Nothing here mocks the API.
import { createRequire } from 'node:module';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const WEB = path.join(ROOT, 'web');
export const DIST = path.join(WEB, 'dist');
export const BIN = process.env.FLOWD_BIN || path.join(ROOT, 'build', 'flowd');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT, 'tests', 'e2e', 'artifacts');
export const TOKEN = 'e2e-admin-token-0123456789';

const require = createRequire(path.join(WEB, 'package.json'));

/* Why the suite cannot run here, or null. */
export function missingPrereq() {
  if (!fs.existsSync(BIN)) return `no server binary at ${BIN} (build flowd first)`;
  if (!fs.existsSync(CHROMIUM)) return `no chromium at ${CHROMIUM}`;
  try { require.resolve('playwright-core'); } catch { return 'playwright-core is not installed (cd web && npm ci)'; }
  return null;
}

/* Builds web/dist once if it is missing, so the server has an editor to serve. */
export function ensureDist() {
  if (fs.existsSync(path.join(DIST, 'index.html'))) return;
  execFileSync('npm', ['run', 'build'], { cwd: WEB, stdio: 'inherit' });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* Starts flowd and waits for GET /healthz 200. Returns {url, api, stop, log}. */
export async function startServer() {
  ensureDist();
  const port = await freePort();
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'fe2e-'));
  fs.chmodSync(data, 0o777); // postgres runs as its own user when we are root
  // Run a private copy of the binary: other people's clean-up by process name (pkill flowd)
  // on a shared machine must not take down a test's server half-way through.
  const bin = path.join(data, 'srv-e2e');
  fs.copyFileSync(BIN, bin);
  fs.chmodSync(bin, 0o755);
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child = spawn(bin, [], {
    env: { ...process.env, FLOWD_LISTEN: `127.0.0.1:${port}`, FLOWD_DATA: data, FLOWD_ADMIN_TOKEN: TOKEN, FLOWD_WEB_DIR: DIST },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  let exited = null;
  child.on('exit', (code, sig) => { exited = { code, sig }; });
  const deadline = Date.now() + 120000;
  for (;;) {
    if (exited) throw new Error(`flowd exited (${JSON.stringify(exited)}) before it was healthy:\n${log.slice(-4000)}`);
    try { const r = await fetch(`${url}/healthz`); if (r.status === 200) break; } catch { /* not up yet */ }
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`flowd not healthy after 120 s:\n${log.slice(-4000)}`); }
    await sleep(200);
  }
  async function api(method, p, body) {
    const r = await fetch(url + p, {
      method,
      headers: { Authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = text; }
    return { status: r.status, body: json };
  }
  async function stop(logName) {
    if (logName) { fs.mkdirSync(ARTIFACTS, { recursive: true }); fs.writeFileSync(path.join(ARTIFACTS, `${logName}.log`), log); }
    if (!exited) {
      child.kill('SIGTERM');
      for (let i = 0; i < 100 && !exited; i++) await sleep(100);
      if (!exited) child.kill('SIGKILL');
    }
    try { fs.rmSync(data, { recursive: true, force: true }); } catch { /* postgres files may belong to another user */ }
  }
  return { url, api, stop, log: () => log, exited: () => exited };
}

/* Does the running server implement this route? flowd answers an unknown path with
 * 404 "no such route" and a known path with another method with 405. */
export async function hasRoute(srv, method, p, body) {
  const r = await srv.api(method, p, body);
  const msg = r.body && r.body.error ? r.body.error.message || '' : '';
  if (r.status === 501) return false;
  if (r.status === 405) return false;
  if (r.status === 404 && /no such (route|file)/.test(msg)) return false;
  return true;
}

export async function launchBrowser() {
  const { chromium } = require('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'fe2e-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const errors = [];
  ctx.on('page', (p) => p.on('pageerror', (e) => errors.push(e.message)));
  for (const p of ctx.pages()) p.on('pageerror', (e) => errors.push(e.message));
  return {
    ctx,
    errors,
    async close() { await ctx.close(); fs.rmSync(profile, { recursive: true, force: true }); },
  };
}

/* A page already logged in with the admin token, in the given UI language. */
export async function loggedInPage(browser, srv, { lang = 'en', hash = '#/flows' } = {}) {
  const page = browser.ctx.pages()[0] || await browser.ctx.newPage();
  await page.addInitScript(([tok, l]) => {
    try { localStorage.setItem('flowd.token', tok); localStorage.setItem('flowd.lang', l); } catch { /* about:blank */ }
  }, [TOKEN, lang]);
  await page.goto(`${srv.url}/${hash}`);
  return page;
}

export async function shot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}
