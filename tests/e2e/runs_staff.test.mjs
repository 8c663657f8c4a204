// End-to-end tests of test runs, live counters, the runs page and the staff page against a
// real flowd. Each test first checks that the server has the routes it needs and skips
// (saying which) when this build of flowd does not have them yet.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, missingPrereq, hasRoute, shot, TOKEN } from './helpers.mjs';

const skip = missingPrereq();

describe('runs and staff', { skip: skip || false, timeout: 600000 }, () => {
  let srv; let browser;
  before(async () => { srv = await startServer(); browser = await launchBrowser(); });
  after(async () => { if (browser) await browser.close(); if (srv) await srv.stop('flowd-runs-staff-tests'); });

  async function newPage() {
    const page = await browser.ctx.newPage();
    page.on('dialog', (d) => d.accept());
    await page.addInitScript((tok) => {
      try { localStorage.setItem('flowd.token', tok); localStorage.setItem('flowd.lang', 'en'); } catch { /* about:blank */ }
    }, TOKEN);
    return page;
  }

  async function need(t, method, p, body) {
    if (!(await hasRoute(srv, method, p, body))) { t.skip(`this flowd has no ${method} ${p}`); return false; }
    return true;
  }

  const branchFlow = () => ({
    name: 'Big orders',
    nodes: [
      { id: 't', type: 'trigger.record', config: { kind: 'order', on: 'created' }, position: { x: 0, y: 0 } },
      { id: 'c', type: 'branch.if', config: { when: { '>=': [{ var: 'order.amount' }, 100] } }, position: { x: 300, y: 0 } },
      { id: 'big', type: 'set', config: { values: { tag: 'big {{order.id}}' } }, position: { x: 600, y: -80 } },
      { id: 'small', type: 'set', config: { values: { tag: 'small' } }, position: { x: 600, y: 120 } },
    ],
    edges: [{ from: 't', to: 'c' }, { from: 'c', port: 'true', to: 'big' }, { from: 'c', port: 'false', to: 'small' }],
  });

  it('test_run_lights_the_taken_path_and_shows_each_node_output', async (t) => {
    const f = (await srv.api('POST', '/api/flows', branchFlow())).body;
    if (!(await need(t, 'POST', `/api/flows/${f.id}/test`, { event: { type: 'order.created', data: { id: 'probe', amount: 1 } } }))) return;
    const page = await newPage();
    await page.goto(`${srv.url}/#/flows/${f.id}`);
    await page.waitForSelector('[data-testid=palette-item]');
    await page.click('[data-testid=test]');
    await page.waitForSelector('[data-testid=test-dialog]');
    await page.fill('[data-testid=test-event]', JSON.stringify({ type: 'order.created', data: { id: 'SO42', amount: 500 } }));
    await page.click('[data-testid=test-run]');
    await page.waitForSelector('.react-flow__node[data-id="big"] .fnode.run-succeeded');
    for (const id of ['t', 'c']) assert.equal(await page.locator(`.react-flow__node[data-id="${id}"] .fnode.run-succeeded`).count(), 1, id);
    assert.equal(await page.locator('.react-flow__node[data-id="small"] .fnode[class*=run-]').count(), 0, 'the false branch did not run');
    assert.equal(await page.locator('.react-flow__edge.taken').count(), 2);
    assert.equal(await page.locator('.react-flow__edge.not-taken').count(), 1);
    assert.equal(await page.locator('[data-testid=run-step]').count(), 3);
    await page.click('.react-flow__node[data-id="big"]');
    await page.waitForSelector('[data-testid=node-output]');
    assert.match(await page.textContent('[data-testid=node-output]'), /big SO42/);
    await shot(page, 'editor-test-run');
    await page.close();
  });

  it('test_run_lists_the_sms_it_recorded_instead_of_sending', async (t) => {
    if (!(await need(t, 'GET', '/api/deliveries?run=1'))) return;
    await srv.api('POST', '/api/providers', { id: 'sms_main', type: 'http', config: { url: 'http://127.0.0.1:9/sms' } });
    const f = (await srv.api('POST', '/api/flows', {
      name: 'SMS',
      nodes: [
        { id: 't', type: 'trigger.record', config: { kind: 'order', on: 'created' }, position: { x: 0, y: 0 } },
        { id: 'sms', type: 'action.send_sms', config: { provider: 'sms_main', to: 'auto', text: 'Cảm ơn {{customer.name}}, đơn #ORDER_ID#' }, position: { x: 300, y: 0 } },
      ],
      edges: [{ from: 't', to: 'sms' }],
    })).body;
    const event = { type: 'order.created', data: { id: 'SO9', customer: { id: 'c9', name: 'An', phone: '+84901234567' } } };
    const probe = await srv.api('POST', `/api/flows/${f.id}/test`, { event });
    const step = probe.body && probe.body.steps && probe.body.steps.find((x) => x.node === 'sms');
    if (!step || /cannot run yet/.test(step.error || '')) { t.skip('this flowd cannot run action.send_sms yet'); return; }
    const page = await newPage();
    await page.goto(`${srv.url}/#/flows/${f.id}`);
    await page.waitForSelector('[data-testid=palette-item]');
    await page.click('[data-testid=test]');
    await page.fill('[data-testid=test-event]', JSON.stringify(event));
    await page.click('[data-testid=test-run]');
    await page.waitForSelector('[data-testid=deliveries] [data-testid=delivery]');
    const text = await page.textContent('[data-testid=deliveries]');
    assert.match(text, /Cảm ơn An, đơn SO9/);
    assert.match(text, /\+84901234567/);
    await shot(page, 'editor-test-deliveries');
    await page.close();
  });

  it('runs_page_filters_by_flow_and_status_and_inspects_a_run', async (t) => {
    if (!(await need(t, 'GET', '/api/runs'))) return;
    const f = (await srv.api('POST', '/api/flows', { ...branchFlow(), name: 'Runs page' })).body;
    const run = await srv.api('POST', `/api/flows/${f.id}/test`, { event: { type: 'order.created', data: { id: 'SO7', amount: 5 } } });
    if (run.status === 404) { t.skip('no test runs in this flowd'); return; }
    const runId = run.body.id;
    const page = await newPage();
    await page.goto(`${srv.url}/#/runs`);
    await page.waitForSelector(`[data-testid=run-row][data-run-id="${runId}"]`);
    await page.selectOption('[data-testid=runs-filter-flow]', f.id);
    await page.selectOption('[data-testid=runs-filter-status]', 'failed');
    await page.waitForSelector('[data-testid=run-row]', { state: 'detached' });
    await page.selectOption('[data-testid=runs-filter-status]', 'succeeded');
    await page.click(`[data-testid=run-row][data-run-id="${runId}"]`);
    await page.waitForSelector('[data-testid=run-inspector]');
    const nodes = await page.locator('[data-testid=run-inspector] [data-testid=run-step]').evaluateAll((rows) => rows.map((r) => r.dataset.node));
    assert.deepEqual(nodes, ['t', 'c', 'small']);
    assert.ok(await page.locator('[data-testid=run-cancel]').isDisabled(), 'a finished run cannot be cancelled');
    await shot(page, 'runs');
    // "Open flow" shows the run's path on the canvas.
    await page.click('[data-testid=run-inspector] a.button');
    await page.waitForSelector('.react-flow__node[data-id="small"] .fnode.run-succeeded');
    await page.close();
  });

  it('live_counters_count_runs_of_an_active_flow_from_the_websocket', async (t) => {
    if (!(await need(t, 'POST', '/api/events', { type: 'probe.noop', data: {} }))) return;
    const f = (await srv.api('POST', '/api/flows', { ...branchFlow(), name: 'Live' })).body;
    assert.equal((await srv.api('POST', `/api/flows/${f.id}/publish`, {})).status < 300, true);
    assert.equal((await srv.api('POST', `/api/flows/${f.id}/activate`, {})).status < 300, true);
    const page = await newPage();
    await page.goto(`${srv.url}/#/flows/${f.id}`);
    await page.waitForSelector('[data-testid=ws-status]:has-text("Live")');
    await page.waitForTimeout(300); // the subscription is sent right after the socket opens
    const ev = await srv.api('POST', '/api/events', [
      { type: 'order.created', key: 'live-1', data: { id: 'L1', amount: 500 } },
      { type: 'order.created', key: 'live-2', data: { id: 'L2', amount: 900 } },
      { type: 'order.created', key: 'live-3', data: { id: 'L3', amount: 5 } },
    ]);
    assert.equal(ev.status, 202, JSON.stringify(ev.body));
    const ctr = (id, k) => page.locator(`.react-flow__node[data-id="${id}"] [data-counter="${k}"]`);
    await ctr('big', 'succeeded').waitFor({ timeout: 20000 });
    await page.waitForFunction(() => {
      const v = (id) => { const el = document.querySelector(`.react-flow__node[data-id="${id}"] [data-counter="succeeded"]`); return el ? Number(el.textContent) : 0; };
      return v('t') === 3 && v('c') === 3 && v('big') === 2 && v('small') === 1;
    }, null, { timeout: 20000 });
    await shot(page, 'editor-live');
    // A counter links to those runs.
    await ctr('small', 'succeeded').click();
    await page.waitForSelector('[data-testid=runs-page]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=run-row]').length === 3);
    assert.equal(await page.inputValue('[data-testid=runs-filter-flow]'), f.id);
    // The runs of one record.
    await page.fill('[data-testid=runs-filter-record]', 'order:L2');
    await page.press('[data-testid=runs-filter-record]', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=run-row]').length === 1);
    assert.match(await page.textContent('[data-testid=run-row]'), /order:L2/);
    // The flow list shows the last run and the runs of the last 24 hours.
    await page.goto(`${srv.url}/#/flows`);
    const row = page.locator(`[data-testid=flow-row][data-flow-id="${f.id}"]`);
    await row.waitFor();
    await page.waitForFunction((id) => /succeeded/.test(document.querySelector(`[data-testid=flow-row][data-flow-id="${id}"]`).textContent), f.id);
    assert.equal((await row.locator('td.num').textContent()).trim(), '3');
    assert.match(await row.textContent(), /v1/);
    await page.close();
  });

  it('a_failed_run_is_retried_from_the_run_inspector', async (t) => {
    if (!(await need(t, 'GET', '/api/runs'))) return;
    const f = (await srv.api('POST', '/api/flows', {
      name: 'Failing',
      nodes: [
        { id: 't', type: 'trigger.record', config: { kind: 'order', on: 'created' }, position: { x: 0, y: 0 } },
        { id: 'stop', type: 'stop', config: { outcome: 'failed', reason: 'no stock' }, position: { x: 300, y: 0 } },
      ],
      edges: [{ from: 't', to: 'stop' }],
    })).body;
    await srv.api('POST', `/api/flows/${f.id}/publish`, {});
    await srv.api('POST', `/api/flows/${f.id}/activate`, {});
    await srv.api('POST', '/api/events', { type: 'order.created', key: 'fail-1', data: { id: 'F1' } });
    let run = null;
    for (let i = 0; i < 50 && !run; i++) {
      const r = await srv.api('GET', `/api/runs?flow=${f.id}&status=failed`);
      run = r.body && r.body.runs && r.body.runs[0];
      if (!run) await new Promise((res) => setTimeout(res, 200));
    }
    assert.ok(run, 'the run failed');
    const page = await newPage();
    await page.goto(`${srv.url}/#/runs/${run.id}`);
    await page.waitForSelector('[data-testid=run-inspector]');
    assert.match(await page.textContent('[data-testid=run-inspector]'), /no stock|failed/);
    assert.ok(await page.locator('[data-testid=run-cancel]').isDisabled());
    await page.click('[data-testid=run-retry]');
    // Either the run goes again (a second attempt of the failed step shows up live), or this
    // flowd refuses to retry a stopped run and the inspector says so.
    const outcome = await Promise.race([
      page.waitForFunction(() => document.querySelectorAll('[data-testid=run-inspector] [data-testid=run-step][data-node="stop"]').length >= 2, null, { timeout: 15000 }).then(() => 'retried'),
      page.waitForSelector('.toast.error', { timeout: 15000 }).then(() => 'refused'),
    ]);
    if (outcome === 'refused') assert.equal((await srv.api('POST', `/api/runs/${run.id}/retry`, {})).status, 409);
    else assert.match(await page.textContent('.toast.ok'), /Retry started/);
    await page.close();
  });

  it('a_waiting_run_is_cancelled_from_the_run_inspector', async (t) => {
    if (!(await need(t, 'GET', '/api/runs'))) return;
    const f = (await srv.api('POST', '/api/flows', {
      name: 'Waiting',
      nodes: [
        { id: 't', type: 'trigger.record', config: { kind: 'order', on: 'created' }, position: { x: 0, y: 0 } },
        { id: 'wait', type: 'delay', config: { for: '1h' }, position: { x: 300, y: 0 } },
        { id: 'after', type: 'set', config: { values: { done: true } }, position: { x: 600, y: 0 } },
      ],
      edges: [{ from: 't', to: 'wait' }, { from: 'wait', to: 'after' }],
    })).body;
    await srv.api('POST', `/api/flows/${f.id}/publish`, {});
    await srv.api('POST', `/api/flows/${f.id}/activate`, {});
    const page = await newPage();
    await page.goto(`${srv.url}/#/flows/${f.id}`);
    await page.waitForSelector('[data-testid=ws-status]:has-text("Live")');
    await page.waitForTimeout(300);
    await srv.api('POST', '/api/events', { type: 'order.created', key: 'wait-1', data: { id: 'W1' } });
    let run = null;
    for (let i = 0; i < 50 && !run; i++) {
      const r = await srv.api('GET', `/api/runs?flow=${f.id}&status=waiting`);
      run = r.body && r.body.runs && r.body.runs[0];
      if (!run) await new Promise((res) => setTimeout(res, 200));
    }
    if (!run) { t.skip('this flowd does not park runs on a delay yet'); await page.close(); return; }
    // The delay node shows one step waiting, with its steady ring.
    await page.waitForSelector('.react-flow__node[data-id="wait"] .fnode.live-waiting [data-counter="waiting"]', { timeout: 10000 });
    assert.equal((await page.textContent('.react-flow__node[data-id="wait"] [data-counter="waiting"]')).trim(), '1');
    await page.goto(`${srv.url}/#/runs/${run.id}`);
    await page.waitForSelector('[data-testid=run-inspector] .pill.st-waiting');
    assert.ok(await page.locator('[data-testid=run-retry]').isDisabled(), 'a waiting run cannot be retried');
    await page.click('[data-testid=run-cancel]');
    await page.waitForSelector('[data-testid=run-inspector] .page-head .pill.st-cancelled', { timeout: 15000 });
    assert.equal((await srv.api('GET', `/api/runs/${run.id}`)).body.status, 'cancelled');
    await page.close();
  });

  it('staff_page_lists_roles_teams_and_shows_presence_live', async (t) => {
    if (!(await need(t, 'GET', '/api/staff'))) return;
    const s = await srv.api('POST', '/api/staff', { id: 's_lan', name: 'Trần Thị Lan', email: 'lan@example.com', roles: ['sales', 'sales manager'], pages: ['fb_page_1'] });
    assert.equal(s.status, 201, JSON.stringify(s.body));
    if (await hasRoute(srv, 'GET', '/api/teams')) {
      const tm = await srv.api('POST', '/api/teams', { id: 't_na', name: 'North America', domain: [['country', 'in', ['United States', 'Canada']]], members: [{ staff: 's_lan', max_per_day: 20 }] });
      assert.equal(tm.status, 201, JSON.stringify(tm.body));
    }
    const page = await newPage();
    await page.goto(`${srv.url}/#/staff`);
    const row = page.locator('[data-testid=staff-row][data-staff-id="s_lan"]');
    await row.waitFor();
    assert.match(await row.textContent(), /sales manager/);
    assert.match(await row.textContent(), /fb_page_1/);
    assert.equal(await row.locator('[data-testid=presence-dot]').getAttribute('data-online'), '0');
    if (await hasRoute(srv, 'GET', '/api/teams')) {
      await page.waitForSelector('[data-testid=team-row]');
      assert.match(await page.textContent('[data-testid=team-row]'), /United States/);
    }
    await page.waitForSelector('[data-testid=ws-status]:has-text("Live")');
    await page.waitForTimeout(300);
    const p = await srv.api('PUT', '/api/staff/s_lan/presence', { online: true });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    await page.waitForSelector('[data-testid=staff-row][data-staff-id="s_lan"] [data-testid=presence-dot][data-online="1"]', { timeout: 10000 });
    await shot(page, 'staff');
    // New staff member through the form.
    await page.click('[data-testid=new-staff]');
    await page.fill('[data-testid=staff-id]', 's_minh');
    await page.fill('[data-testid=staff-name]', 'Lê Văn Minh');
    await page.fill('[data-testid=staff-roles]', 'sales, sales manager');
    await page.fill('[data-testid=staff-pages]', 'fb_page_1, fb_page_2');
    await page.click('[data-testid=staff-create]');
    await page.waitForSelector('[data-testid=staff-row][data-staff-id="s_minh"]');
    const minh = (await srv.api('GET', '/api/staff/s_minh')).body;
    assert.deepEqual(minh.roles, ['sales', 'sales manager']);
    assert.deepEqual(minh.pages, ['fb_page_1', 'fb_page_2']);
    await page.close();
  });

  it('password_login_uses_the_session_cookie_and_csrf_token_for_writes', async (t) => {
    if (!(await need(t, 'POST', '/api/login', { email: 'nobody@example.com', password: 'x' }))) return;
    const s = await srv.api('POST', '/api/staff', { id: 's_admin', name: 'Quản trị viên', email: 'boss@example.com', access: 'admin', password: 'mật-khẩu-dài-123' });
    assert.equal(s.status, 201, JSON.stringify(s.body));
    const page = await browser.ctx.newPage();
    await page.goto(`${srv.url}/`);
    await page.evaluate(() => { localStorage.clear(); localStorage.setItem('flowd.lang', 'vi'); });
    await page.reload();
    await page.fill('input[type=email]', 'boss@example.com');
    await page.fill('input[type=password]', 'sai mật khẩu');
    await page.click('[data-testid=login-form] button.primary');
    await page.waitForSelector('.login-box [role=alert]');
    assert.match(await page.textContent('.login-box [role=alert]'), /Đăng nhập thất bại/);
    await page.fill('input[type=password]', 'mật-khẩu-dài-123');
    await page.click('[data-testid=login-form] button.primary');
    await page.waitForSelector('[data-testid=flow-list]');
    await page.waitForSelector('[data-testid=me]:has-text("Quản trị viên")');
    assert.equal(await page.evaluate(() => localStorage.getItem('flowd.token')), null, 'no bearer token: the cookie is the session');
    // A write with the cookie needs the CSRF token the editor keeps.
    await page.click('[data-testid=new-flow]');
    await page.fill('[data-testid=new-flow-name]', 'Luồng của phiên đăng nhập');
    await page.click('[data-testid=new-flow-create]');
    await page.waitForSelector('[data-testid=editor]');
    const id = decodeURIComponent(page.url().split('#/flows/')[1]);
    const d = await srv.api('GET', `/api/flows/${id}`);
    assert.equal(d.body.name, 'Luồng của phiên đăng nhập');
    assert.equal(d.body.created_by, 's_admin');
    await page.click('[data-testid=logout]');
    await page.waitForSelector('[data-testid=login-form]');
    await page.close();
  });

  it('a_manager_sees_flows_read_only', async (t) => {
    if (!(await need(t, 'POST', '/api/login', { email: 'nobody@example.com', password: 'x' }))) return;
    const s = await srv.api('POST', '/api/staff', { id: 's_mgr', name: 'Phạm Quản Lý', email: 'mgr@example.com', access: 'manager', password: 'quan-ly-123456' });
    assert.equal(s.status, 201, JSON.stringify(s.body));
    const f = (await srv.api('POST', '/api/flows', { ...branchFlow(), name: 'Read only' })).body;
    const page = await browser.ctx.newPage();
    await page.goto(`${srv.url}/`);
    await page.evaluate(() => { localStorage.clear(); localStorage.setItem('flowd.lang', 'en'); });
    await page.reload();
    await page.fill('input[type=email]', 'mgr@example.com');
    await page.fill('input[type=password]', 'quan-ly-123456');
    await page.click('[data-testid=login-form] button.primary');
    await page.waitForSelector('[data-testid=flow-list]');
    await page.goto(`${srv.url}/#/flows/${f.id}`);
    await page.waitForSelector('[data-testid=read-only]');
    assert.equal(await page.locator('[data-testid=palette]').count(), 0);
    assert.equal(await page.locator('[data-testid=save]').count(), 0);
    await page.click('.react-flow__node[data-id="c"]');
    await page.waitForSelector('[data-testid=node-panel]');
    assert.ok(await page.locator('[data-testid=node-panel] .cond-field').first().isDisabled(), 'the form is disabled');
    await page.keyboard.press('Delete');
    await page.waitForTimeout(200);
    assert.equal(await page.locator('.react-flow__node').count(), 4, 'nothing is deleted');
    await page.click('[data-testid=logout]');
    await page.waitForSelector('[data-testid=login-form]');
    await page.close();
  });

  it('no_uncaught_errors_in_the_page', () => {
    assert.deepEqual(browser.errors, []);
  });
});
