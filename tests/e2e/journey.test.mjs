// One admin journey, end to end, through the editor against a real flowd: build SPEC picture 1
// ("Owner by order source") on an empty canvas with the palette, the property panel, the
// condition builder, the staff picker and the mouse; save, publish, activate; post orders and
// watch the live counters; inspect a run; check who owns the customers.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, missingPrereq, shot, TOKEN } from './helpers.mjs';

const skip = missingPrereq();

// The SPEC "Owner by order source" flow, without positions (those are wherever the user drops).
const SPEC_FLOW = {
  name: 'Owner by order source',
  priority: 100,
  nodes: [
    { id: 't', type: 'trigger.record', config: { kind: 'order', on: 'created' } },
    { id: 's', type: 'branch.switch', config: { cases: [
      { port: 'website', when: { '==': [{ var: 'order.source' }, 'website'] } },
      { port: 'facebook', when: { '==': [{ var: 'order.source' }, 'facebook'] } }] } },
    { id: 'a1', type: 'action.assign', config: { target: 'customer', strategy: 'fixed', staff: 's_lan' } },
    { id: 'a2', type: 'action.assign', config: { target: 'customer', strategy: 'fixed', staff: 's_minh' } },
  ],
  edges: [{ from: 't', to: 's' }, { from: 's', port: 'website', to: 'a1' }, { from: 's', port: 'facebook', to: 'a2' }],
};

describe('admin journey', { skip: skip || false, timeout: 600000 }, () => {
  let srv; let browser;
  before(async () => { srv = await startServer(); browser = await launchBrowser(); });
  after(async () => { if (browser) await browser.close(); if (srv) await srv.stop('flowd-journey-tests'); });

  it('admin_builds_owner_by_order_source_from_an_empty_canvas_and_watches_it_run', async () => {
    // 1. Setup through the API: two sales staff. Then log in and create an empty flow.
    for (const s of [{ id: 's_lan', name: 'Trần Thị Lan', email: 'lan@shop.example' }, { id: 's_minh', name: 'Lê Văn Minh', email: 'minh@shop.example' }]) {
      const r = await srv.api('POST', '/api/staff', { ...s, roles: ['sales'] });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const page = await browser.ctx.newPage();
    page.on('dialog', (d) => d.accept());
    await page.addInitScript((tok) => {
      try { localStorage.setItem('flowd.token', tok); localStorage.setItem('flowd.lang', 'en'); } catch { /* about:blank */ }
    }, TOKEN);
    await page.goto(`${srv.url}/#/flows`);
    await page.waitForSelector('[data-testid=flow-list]');
    await page.click('[data-testid=new-flow]');
    await page.fill('[data-testid=new-flow-name]', 'Owner by order source');
    await page.click('[data-testid=new-flow-create]');
    await page.waitForSelector('[data-testid=editor]');
    await page.waitForSelector('[data-testid=palette-item]');
    const flowId = decodeURIComponent(page.url().split('#/flows/')[1].split('?')[0]);
    assert.equal(await page.locator('.react-flow__node').count(), 0, 'a new flow starts empty');

    const node = (id) => page.locator(`.react-flow__node[data-id="${id}"]`);
    const panel = page.locator('[data-testid=node-panel]');
    const saveState = () => page.textContent('[data-testid=save-state]');

    // The flow's own settings (nothing selected): priority 100, as in SPEC.
    await page.fill('[data-testid=flow-settings] input[type=number]', '100');

    // 2. Drag four nodes from the palette onto the canvas.
    const pane = '[data-testid=canvas] .react-flow__pane';
    const box = await page.locator('[data-testid=canvas]').boundingBox();
    const drop = async (type, x, y, id) => {
      await page.dragAndDrop(`[data-testid=palette-item][data-type="${type}"]`, pane, { targetPosition: { x, y } });
      await node(id).waitFor();
    };
    const cx = box.width / 2; const cy = box.height / 2;
    await drop('trigger.record', cx - 300, cy, 'record_1');
    await drop('branch.switch', cx, cy, 'switch_1');
    await drop('action.assign', cx + 300, cy - 130, 'assign_1');
    await drop('action.assign', cx + 300, cy + 130, 'assign_2');
    assert.equal(await page.locator('.react-flow__node').count(), 4);

    // 3. Fill each node's form in the property panel (and give it the SPEC id).
    const select = async (id) => {
      await node(id).click();
      await page.waitForSelector(`[data-testid=node-panel][data-node-id="${id}"]`);
    };
    const rename = async (from, to) => {
      await panel.locator('[data-testid=node-id-input]').fill(to);
      await panel.locator('[data-testid=node-id-input]').press('Enter');
      await page.waitForSelector(`[data-testid=node-panel][data-node-id="${to}"]`);
      await node(to).waitFor();
      assert.equal(await node(from).count(), 0);
    };

    await select('record_1');
    await rename('record_1', 't');
    await panel.locator('input[data-field=kind]').fill('order');
    await panel.locator('select[data-field=on]').selectOption({ label: 'created' });

    await select('switch_1');
    await rename('switch_1', 's');
    const cases = [['website', 'website'], ['facebook', 'facebook']];
    for (let i = 0; i < cases.length; i++) {
      await panel.locator('[data-testid=array-add]').click();
      const item = panel.locator('[data-testid=array-item]').nth(i);
      await item.locator('input[data-field=port]').fill(cases[i][0]);
      await item.locator('[data-testid=cond-add-rule]').click();
      await item.locator('.cond-field').fill('order.source');
      await item.locator('.cond-op').selectOption('==');
      await item.locator('.cond-value').fill(cases[i][1]);
    }
    // One handle per case, plus default.
    await page.waitForFunction(() => {
      const hs = [...document.querySelectorAll('.react-flow__node[data-id="s"] .react-flow__handle.source')].map((h) => h.dataset.handleid);
      return hs.join() === 'website,facebook,default';
    });
    // The builder's condition evaluates on the server.
    const first = panel.locator('[data-testid=array-item]').nth(0);
    await first.locator('[data-testid=cond-test-toggle]').click();
    await first.locator('textarea[data-testid=cond-sample]').fill(JSON.stringify({ order: { source: 'website' } }));
    await first.locator('[data-testid=cond-test-run]').click();
    await first.locator('[data-testid=cond-result]').waitFor();
    assert.match(await first.locator('[data-testid=cond-result]').textContent(), /true/);

    for (const [id, to, staff] of [['assign_1', 'a1', 's_lan'], ['assign_2', 'a2', 's_minh']]) {
      await select(id);
      await rename(id, to);
      await panel.locator('input[data-field=target]').fill('customer');
      await panel.locator('select[data-field=strategy]').selectOption({ label: 'fixed' });
      const picker = panel.locator('input[data-widget=staff]');
      // The picker suggests the staff the server knows.
      await page.waitForFunction(() => {
        const inp = document.querySelector('[data-testid=node-panel] input[data-widget=staff]');
        const dl = inp && inp.list;
        return !!dl && [...dl.options].map((o) => o.value).sort().join() === 's_lan,s_minh';
      });
      await picker.fill(staff);
    }

    // 4. Wire it with the mouse, handle to handle.
    const drag = async (from, to) => {
      const s = await from.boundingBox(); const e = await to.boundingBox();
      await page.mouse.move(s.x + s.width / 2, s.y + s.height / 2);
      await page.mouse.down();
      await page.mouse.move(e.x + e.width / 2, e.y + e.height / 2, { steps: 8 });
      await page.mouse.up();
    };
    const edges = () => page.locator('.react-flow__edge').count();
    await drag(node('t').locator('.react-flow__handle.source'), node('s').locator('.react-flow__handle.target'));
    await page.waitForFunction(() => document.querySelectorAll('.react-flow__edge').length === 1);
    await drag(node('s').locator('.react-flow__handle[data-handleid="website"]'), node('a1').locator('.react-flow__handle.target'));
    await page.waitForFunction(() => document.querySelectorAll('.react-flow__edge').length === 2);
    await drag(node('s').locator('.react-flow__handle[data-handleid="facebook"]'), node('a2').locator('.react-flow__handle.target'));
    await page.waitForFunction(() => document.querySelectorAll('.react-flow__edge').length === 3);
    assert.equal(await edges(), 3);

    // 5. Save with Ctrl+S, publish, activate; the server holds exactly the SPEC flow.
    assert.equal(await saveState(), 'Unsaved changes');
    await page.keyboard.press('Control+s');
    await page.waitForFunction(() => document.querySelector('[data-testid=save-state]').textContent === 'Saved');
    const got = (await srv.api('GET', `/api/flows/${encodeURIComponent(flowId)}`)).body;
    const strip = (d) => ({
      name: d.name,
      priority: d.priority,
      nodes: d.nodes.map(({ position, ...n }) => n).sort((a, b) => a.id.localeCompare(b.id)),
      edges: d.edges.map((e) => ({ from: e.from, ...(e.port ? { port: e.port } : {}), to: e.to, ...e })).sort((a, b) => `${a.from}:${a.port}>${a.to}`.localeCompare(`${b.from}:${b.port}>${b.to}`)),
    });
    assert.deepEqual(strip(got.draft), strip(SPEC_FLOW));
    for (const n of got.draft.nodes) assert.ok(n.position && Number.isFinite(n.position.x) && Number.isFinite(n.position.y), n.id);
    await page.click('[data-testid=publish]');
    await page.waitForSelector('.toast.ok >> text=Published version 1');
    await page.click('[data-testid=activate]');
    await page.waitForSelector('[data-testid=active-pill] >> text=active: v1');
    assert.equal((await srv.api('GET', `/api/flows/${encodeURIComponent(flowId)}`)).body.active_version, 1);

    // 6. Orders arrive; the live counters on the nodes count the runs.
    // The editor subscribed to this flow's topic when it opened, long before this point.
    await page.waitForSelector('[data-testid=ws-status]:has-text("Live")');
    const orders = [
      { id: 'DH1', source: 'website', customer: { id: 'c1', name: 'Nguyễn Văn An' } },
      { id: 'DH2', source: 'website', customer: { id: 'c2', name: 'Phạm Thị Hoa' } },
      { id: 'DH3', source: 'website', customer: { id: 'c3', name: 'Đỗ Văn Hùng' } },
      { id: 'DH4', source: 'facebook', customer: { id: 'c4', name: 'Trần Thị Bình' } },
      { id: 'DH5', source: 'facebook', customer: { id: 'c5', name: 'Võ Minh Châu' } },
    ];
    const ev = await srv.api('POST', '/api/events', orders.map((o) => ({ type: 'order.created', key: `journey-${o.id}`, data: { ...o, amount: 100000 } })));
    assert.equal(ev.status, 202, JSON.stringify(ev.body));
    await page.waitForFunction(() => {
      const v = (id) => { const el = document.querySelector(`.react-flow__node[data-id="${id}"] [data-counter="succeeded"]`); return el ? Number(el.textContent) : 0; };
      return v('t') === 5 && v('s') === 5 && v('a1') === 3 && v('a2') === 2;
    }, null, { timeout: 20000 });
    assert.equal(await page.locator('.react-flow__node [data-counter="failed"]').count(), 0, 'no failures');
    // 9. The finished canvas.
    await shot(page, 'journey-canvas');

    // 7. From a counter to the runs, and one run in the inspector with its steps.
    await node('a2').locator('[data-counter="succeeded"]').click();
    await page.waitForSelector('[data-testid=runs-page]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=run-row]').length === 5);
    await page.fill('[data-testid=runs-filter-record]', 'order:DH4');
    await page.press('[data-testid=runs-filter-record]', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=run-row]').length === 1);
    await page.click('[data-testid=run-row]');
    await page.waitForSelector('[data-testid=run-inspector] [data-testid=run-step]');
    const steps = await page.locator('[data-testid=run-inspector] [data-testid=run-step]').evaluateAll((rows) => rows.map((r) => [r.dataset.node, r.querySelector('.pill') && r.querySelector('.pill').textContent.trim()]));
    assert.deepEqual(steps, [['t', 'succeeded'], ['s', 'succeeded'], ['a2', 'succeeded']]);
    assert.match(await page.textContent('[data-testid=run-inspector]'), /order:DH4/);
    await shot(page, 'journey-run');

    // 8. The customers' owners.
    for (const o of orders) {
      const r = await srv.api('GET', `/api/records/customer/${o.customer.id}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.owner_id, o.source === 'website' ? 's_lan' : 's_minh', o.customer.id);
    }
    await page.close();
  });

  it('no_uncaught_errors_in_the_page', () => {
    assert.deepEqual(browser.errors, []);
  });
});
