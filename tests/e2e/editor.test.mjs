// End-to-end tests of the flow editor against a real flowd (build/flowd) and headless
// Chromium. Each test drives the UI and checks what the SERVER then holds.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, launchBrowser, loggedInPage, missingPrereq, shot, TOKEN } from './helpers.mjs';

const skip = missingPrereq();

describe('flow editor', { skip: skip || false, timeout: 600000 }, () => {
  let srv; let browser;
  before(async () => { srv = await startServer(); browser = await launchBrowser(); });
  after(async () => { if (browser) await browser.close(); if (srv) await srv.stop('flowd-editor-tests'); });

  async function newPage(opts) {
    const page = await browser.ctx.newPage();
    page.on('dialog', (d) => d.accept());
    await page.addInitScript(([tok, l]) => {
      try { localStorage.setItem('flowd.token', tok); localStorage.setItem('flowd.lang', l); } catch { /* about:blank */ }
    }, [TOKEN, (opts && opts.lang) || 'en']);
    return page;
  }

  async function createFlow(doc) {
    const r = await srv.api('POST', '/api/flows', doc);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
  }

  async function openFlow(page, id) {
    await page.goto(`${srv.url}/#/flows/${encodeURIComponent(id)}`);
    await page.waitForSelector('[data-testid=editor]');
    await page.waitForSelector('[data-testid=palette-item]');
  }

  async function draft(id) {
    const r = await srv.api('GET', `/api/flows/${encodeURIComponent(id)}`);
    assert.equal(r.status, 200);
    return r.body;
  }

  const node = (page, id) => page.locator(`.react-flow__node[data-id="${id}"]`);

  it('login_refuses_bad_credentials_and_falls_back_to_the_admin_token', async () => {
    const page = await browser.ctx.newPage();
    await page.addInitScript(() => { try { localStorage.setItem('flowd.lang', 'en'); } catch { /* about:blank */ } });
    await page.goto(`${srv.url}/`);
    await page.waitForSelector('[data-testid=login-form]');
    await shot(page, 'login');
    await page.fill('input[type=email]', 'admin@example.com');
    await page.fill('input[type=password]', 'secret');
    await page.click('[data-testid=login-form] button.primary');
    const login = await srv.api('POST', '/api/login', { email: 'admin@example.com', password: 'secret' });
    if (login.status === 404) {
      await page.waitForSelector('[data-testid=token-form]');
      assert.match(await page.textContent('.login-box'), /API token/);
    } else {
      await page.click('[data-testid=use-token]');
    }
    await page.fill('[data-testid=token-input]', 'wrong-token');
    await page.click('[data-testid=token-submit]');
    await page.waitForSelector('.login-box [role=alert]');
    assert.match(await page.textContent('.login-box [role=alert]'), /refused/);
    await page.fill('[data-testid=token-input]', TOKEN);
    await page.click('[data-testid=token-submit]');
    await page.waitForSelector('[data-testid=flow-list]');
    assert.equal(await page.evaluate(() => localStorage.getItem('flowd.token')), TOKEN);
    await page.close();
  });

  it('ui_switches_between_vietnamese_and_english', async () => {
    const page = await newPage({ lang: 'vi' });
    await page.goto(`${srv.url}/#/flows`);
    await page.waitForSelector('[data-testid=flow-list]');
    assert.equal((await page.textContent('[data-testid=nav-flows]')).trim(), 'Luồng');
    assert.equal((await page.textContent('[data-testid=nav-runs]')).trim(), 'Lượt chạy');
    assert.equal((await page.textContent('[data-testid=nav-staff]')).trim(), 'Nhân viên');
    await page.selectOption('[data-testid=lang]', 'en');
    assert.equal((await page.textContent('[data-testid=nav-runs]')).trim(), 'Runs');
    assert.equal(await page.evaluate(() => localStorage.getItem('flowd.lang')), 'en');
    await page.close();
  });

  it('language_follows_the_browser_until_the_user_picks_one', async () => {
    const page = await browser.ctx.newPage();
    await page.addInitScript((tok) => {
      Object.defineProperty(navigator, 'language', { get: () => 'vi-VN' });
      try { localStorage.setItem('flowd.token', tok); } catch { /* about:blank */ }
    }, TOKEN);
    await page.goto(`${srv.url}/`);
    await page.evaluate(() => localStorage.removeItem('flowd.lang'));
    await page.reload();
    await page.waitForSelector('[data-testid=flow-list]');
    assert.equal((await page.textContent('[data-testid=nav-flows]')).trim(), 'Luồng');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'vi');
    await page.close();
  });

  it('flow_list_creates_opens_and_deletes_flows', async () => {
    const existing = await createFlow({ name: 'Listed flow', nodes: [], edges: [] });
    const page = await newPage();
    await page.goto(`${srv.url}/#/flows`);
    await page.waitForSelector(`[data-testid=flow-row][data-flow-id="${existing.id}"]`);
    await page.click('[data-testid=new-flow]');
    await page.fill('[data-testid=new-flow-name]', 'Owner by order source');
    await page.click('[data-testid=new-flow-create]');
    await page.waitForSelector('[data-testid=editor]');
    const id = decodeURIComponent(page.url().split('#/flows/')[1]);
    assert.equal((await draft(id)).name, 'Owner by order source');
    await page.goto(`${srv.url}/#/flows`);
    await page.waitForSelector(`[data-testid=flow-row][data-flow-id="${id}"]`);
    await shot(page, 'flows');
    await page.click(`[data-testid=flow-row][data-flow-id="${existing.id}"] [data-testid=delete-flow]`);
    await page.waitForSelector(`[data-testid=flow-row][data-flow-id="${existing.id}"]`, { state: 'detached' });
    assert.equal((await srv.api('GET', `/api/flows/${existing.id}`)).status, 404);
    await page.close();
  });

  it('palette_is_grouped_from_node_types_and_click_adds_connected_nodes', async () => {
    const f = await createFlow({ name: 'Palette', nodes: [], edges: [] });
    const page = await newPage();
    await openFlow(page, f.id);
    const types = (await srv.api('GET', '/api/node-types')).body;
    const list = Array.isArray(types) ? types : types.node_types;
    assert.equal(await page.locator('[data-testid=palette-item]').count(), list.length);
    const groups = await page.locator('.pal-group-title').allTextContents();
    assert.deepEqual(groups, ['Triggers', 'Conditions', 'Actions', 'Control']);
    await page.click('[data-testid=palette-item][data-type="trigger.record"]');
    await page.waitForSelector('.react-flow__node[data-id="record_1"]');
    // With the trigger selected, the next node is placed after it and wired from its port.
    await page.click('[data-testid=palette-item][data-type="action.send_sms"]');
    await page.waitForSelector('.react-flow__node[data-id="send_sms_1"]');
    await page.waitForSelector('.react-flow__edge');
    await page.fill('[data-testid=node-panel] textarea[data-widget=template] >> nth=1', 'Xin chào {{customer.name}}, đơn #ORDER_ID# đã nhận');
    await page.click('[data-testid=save]');
    await page.waitForFunction(() => document.querySelector('[data-testid=save-state]').textContent === 'Saved');
    const d = (await draft(f.id)).draft;
    assert.deepEqual(d.nodes.map((n) => n.id).sort(), ['record_1', 'send_sms_1']);
    assert.deepEqual(d.edges, [{ from: 'record_1', to: 'send_sms_1' }]);
    const sms = d.nodes.find((n) => n.id === 'send_sms_1');
    assert.equal(sms.config.text, 'Xin chào {{customer.name}}, đơn #ORDER_ID# đã nhận');
    assert.ok(sms.position && Number.isFinite(sms.position.x));
    await page.close();
  });

  it('drag_from_palette_drops_a_node_where_released', async () => {
    const f = await createFlow({ name: 'Drop', nodes: [], edges: [] });
    const page = await newPage();
    await openFlow(page, f.id);
    await page.dragAndDrop('[data-testid=palette-item][data-type="delay"]', '[data-testid=canvas] .react-flow__pane', { targetPosition: { x: 300, y: 200 } });
    await page.waitForSelector('.react-flow__node[data-id="delay_1"]');
    await page.close();
  });

  it('double_click_on_the_canvas_quick_adds_a_node_by_search', async () => {
    const f = await createFlow({ name: 'Quick', nodes: [], edges: [] });
    const page = await newPage();
    await openFlow(page, f.id);
    await page.dblclick('[data-testid=canvas] .react-flow__pane', { position: { x: 400, y: 250 } });
    await page.waitForSelector('[data-testid=quick-add]');
    await page.keyboard.type('sms');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.react-flow__node[data-id="send_sms_1"]');
    await page.waitForSelector('[data-testid=quick-add]', { state: 'detached' });
    const pane = await page.locator('[data-testid=canvas]').boundingBox();
    const n = await node(page, 'send_sms_1').boundingBox();
    assert.ok(Math.abs(n.x - (pane.x + 400)) < 150 && Math.abs(n.y - (pane.y + 250)) < 100, 'placed where the user double-clicked');
    await page.close();
  });

  it('named_ports_connect_by_dragging_between_handles', async () => {
    const f = await createFlow({
      name: 'Ports',
      nodes: [
        { id: 't', type: 'trigger.record', config: { kind: 'order', on: 'created' }, position: { x: 0, y: 0 } },
        { id: 'c', type: 'branch.if', config: { when: { '==': [{ var: 'order.source' }, 'website'] } }, position: { x: 300, y: 0 } },
        { id: 'a', type: 'action.notify', config: { text: 'hi' }, position: { x: 600, y: -100 } },
        { id: 'b', type: 'action.notify', config: { text: 'ho' }, position: { x: 600, y: 150 } },
      ],
      edges: [{ from: 't', to: 'c' }],
    });
    const page = await newPage();
    await openFlow(page, f.id);
    const drag = async (from, to) => {
      const s = await from.boundingBox(); const e = await to.boundingBox();
      await page.mouse.move(s.x + s.width / 2, s.y + s.height / 2);
      await page.mouse.down();
      await page.mouse.move(e.x + e.width / 2, e.y + e.height / 2, { steps: 8 });
      await page.mouse.up();
    };
    await drag(node(page, 'c').locator('.react-flow__handle[data-handleid="true"]'), node(page, 'a').locator('.react-flow__handle.target'));
    await drag(node(page, 'c').locator('.react-flow__handle[data-handleid="false"]'), node(page, 'b').locator('.react-flow__handle.target'));
    await page.waitForFunction(() => document.querySelectorAll('.react-flow__edge').length === 3);
    await page.keyboard.press('Control+s');
    await page.waitForFunction(() => document.querySelector('[data-testid=save-state]').textContent === 'Saved');
    const edges = (await draft(f.id)).draft.edges.map((e) => `${e.from}:${e.port || 'out'}>${e.to}`).sort();
    assert.deepEqual(edges, ['c:false>b', 'c:true>a', 't:out>c']);
    await page.close();
  });

  it('switch_node_shows_one_handle_per_case_plus_default', async () => {
    const f = await createFlow({
      name: 'Switch',
      nodes: [
        { id: 't', type: 'trigger.record', config: { kind: 'order', on: 'created' }, position: { x: 0, y: 0 } },
        { id: 's', type: 'branch.switch', config: { cases: [
          { port: 'website', when: { '==': [{ var: 'order.source' }, 'website'] } },
          { port: 'facebook', when: { '==': [{ var: 'order.source' }, 'facebook'] } }] }, position: { x: 300, y: 0 } },
      ],
      edges: [{ from: 't', to: 's' }],
    });
    const page = await newPage();
    await openFlow(page, f.id);
    const ports = await node(page, 's').locator('.react-flow__handle.source').evaluateAll((hs) => hs.map((h) => h.dataset.handleid));
    assert.deepEqual(ports, ['website', 'facebook', 'default']);
    // Adding a case in the form adds a port.
    await node(page, 's').click();
    await page.click('[data-testid=node-panel] [data-testid=array-add]');
    await page.fill('[data-testid=node-panel] input[data-field=port] >> nth=2', 'zalo');
    await page.waitForSelector('.react-flow__node[data-id="s"] .react-flow__handle[data-handleid="zalo"]');
    await shot(page, 'editor-switch');
    await page.close();
  });

  it('undo_redo_copy_paste_and_delete_with_the_keyboard', async () => {
    const f = await createFlow({
      name: 'Keys',
      nodes: [
        { id: 't', type: 'trigger.record', config: { kind: 'order', on: 'created' }, position: { x: 0, y: 0 } },
        { id: 'n', type: 'action.notify', config: { text: 'hello' }, position: { x: 300, y: 0 } },
      ],
      edges: [{ from: 't', to: 'n' }],
    });
    const page = await newPage();
    await openFlow(page, f.id);
    const count = () => page.locator('.react-flow__node').count();
    await node(page, 'n').click();
    await page.keyboard.press('Control+c');
    await page.keyboard.press('Control+v');
    await page.waitForSelector('.react-flow__node[data-id="notify_1"]');
    assert.equal(await count(), 3);
    await page.keyboard.press('Control+z');
    await page.waitForSelector('.react-flow__node[data-id="notify_1"]', { state: 'detached' });
    await page.keyboard.press('Control+Shift+z');
    await page.waitForSelector('.react-flow__node[data-id="notify_1"]');
    await page.keyboard.press('Control+z');
    await page.keyboard.press('Control+y');
    await page.waitForSelector('.react-flow__node[data-id="notify_1"]');
    await node(page, 'n').click({ position: { x: 20, y: 10 } });
    await page.keyboard.press('Delete');
    await page.waitForSelector('.react-flow__node[data-id="n"]', { state: 'detached' });
    assert.equal(await page.locator('.react-flow__edge').count(), 0, 'edges of a deleted node go with it');
    await page.click('[data-testid=save]');
    await page.waitForFunction(() => document.querySelector('[data-testid=save-state]').textContent === 'Saved');
    const d = (await draft(f.id)).draft;
    assert.deepEqual(d.nodes.map((x) => x.id).sort(), ['notify_1', 't']);
    assert.equal(d.nodes.find((x) => x.id === 'notify_1').config.text, 'hello');
    // Ctrl+D duplicates the selection; Escape clears it.
    await node(page, 't').click();
    await page.keyboard.press('Control+d');
    await page.waitForSelector('.react-flow__node[data-id="record_1"].selected');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.querySelector('.react-flow__node.selected'));
    await page.close();
  });

  it('box_select_and_select_all_then_delete_and_undo', async () => {
    const f = await createFlow({
      name: 'Select',
      nodes: [
        { id: 't', type: 'trigger.manual', config: {}, position: { x: 0, y: 0 } },
        { id: 'a', type: 'set', config: { values: { a: 1 } }, position: { x: 300, y: 0 } },
        { id: 'b', type: 'set', config: { values: { b: 2 } }, position: { x: 300, y: 200 } },
      ],
      edges: [{ from: 't', to: 'a' }, { from: 't', to: 'b' }],
    });
    const page = await newPage();
    await openFlow(page, f.id);
    // Shift + drag draws a selection box around a and b.
    const a = await node(page, 'a').boundingBox();
    const b = await node(page, 'b').boundingBox();
    await page.keyboard.down('Shift');
    await page.mouse.move(a.x - 20, a.y - 20);
    await page.mouse.down();
    await page.mouse.move(b.x + b.width + 20, b.y + b.height + 20, { steps: 6 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    await page.waitForSelector('.react-flow__node[data-id="b"].selected');
    assert.equal(await page.locator('.react-flow__node.selected').count(), 2);
    assert.match(await page.textContent('[data-testid=flow-settings]'), /2 nodes selected/);
    await page.keyboard.press('Delete');
    await page.waitForFunction(() => document.querySelectorAll('.react-flow__node').length === 1);
    await page.keyboard.press('Control+z');
    await page.waitForFunction(() => document.querySelectorAll('.react-flow__node').length === 3);
    await page.locator('.react-flow__pane').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Control+a');
    await page.waitForFunction(() => document.querySelectorAll('.react-flow__node.selected').length === 3);
    await page.keyboard.press('Backspace');
    await page.waitForFunction(() => document.querySelectorAll('.react-flow__node').length === 0);
    await page.keyboard.press('Control+z');
    await page.waitForFunction(() => document.querySelectorAll('.react-flow__node').length === 3 && document.querySelectorAll('.react-flow__edge').length === 2);
    await page.close();
  });

  it('clicking_an_edge_selects_it_and_delete_removes_it', async () => {
    const f = await createFlow({
      name: 'Edge',
      nodes: [
        { id: 't', type: 'trigger.record', config: { kind: 'order', on: 'created' }, position: { x: 0, y: 0 } },
        { id: 'n', type: 'action.notify', config: { text: 'x' }, position: { x: 400, y: 0 } },
      ],
      edges: [{ from: 't', to: 'n' }],
    });
    const page = await newPage();
    await openFlow(page, f.id);
    const box = await page.locator('.react-flow__edge path.react-flow__edge-path').boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForSelector('.react-flow__edge.selected');
    await page.keyboard.press('Delete');
    await page.waitForSelector('.react-flow__edge', { state: 'detached' });
    await page.close();
  });

  it('problems_from_server_validation_badge_nodes_and_jump_to_them', async () => {
    const f = await createFlow({
      name: 'Problems',
      nodes: [
        { id: 't', type: 'trigger.record', config: { kind: 'order', on: 'created' }, position: { x: 0, y: 0 } },
        { id: 'sms', type: 'action.send_sms', config: { to: 'auto' }, position: { x: 2600, y: 1800 } },
      ],
      edges: [{ from: 't', to: 'sms' }],
    });
    const page = await newPage();
    await openFlow(page, f.id);
    await page.waitForSelector('.react-flow__node[data-id="sms"] [data-testid=node-error-badge]');
    const problem = page.locator('[data-testid=problem][data-node="sms"]');
    assert.match(await problem.first().textContent(), /text/);
    await problem.first().click();
    await page.waitForSelector('[data-testid=node-panel][data-node-id="sms"]');
    await page.waitForSelector('.react-flow__node[data-id="sms"].selected');
    // Fixing the field clears the problem after the debounced re-validation.
    await page.fill('[data-testid=node-panel] textarea[data-widget=template] >> nth=1', 'Cảm ơn bạn');
    await page.waitForSelector('.react-flow__node[data-id="sms"] [data-testid=node-error-badge]', { state: 'detached' });
    await shot(page, 'editor-problems');
    await page.close();
  });

  it('save_conflict_names_who_saved_and_offers_overwrite_or_reload', async () => {
    const f = await createFlow({ name: 'Conflict', nodes: [{ id: 't', type: 'trigger.manual', config: {}, position: { x: 0, y: 0 } }], edges: [] });
    const page = await newPage();
    await openFlow(page, f.id);
    // Someone else saves in between.
    const other = await srv.api('PUT', `/api/flows/${f.id}`, { ...f.draft, name: 'Changed elsewhere', revision: f.revision });
    assert.equal(other.status, 200);
    await page.click('[data-testid=palette-item][data-type="stop"]');
    await page.click('[data-testid=save]');
    await page.waitForSelector('[data-testid=conflict-dialog]');
    const msg = await page.textContent('[data-testid=conflict-message]');
    assert.match(msg, /admin/);
    assert.match(msg, new RegExp(`revision ${other.body.revision}`));
    await shot(page, 'editor-conflict');
    await page.click('[data-testid=conflict-overwrite]');
    await page.waitForSelector('[data-testid=conflict-dialog]', { state: 'detached' });
    let d = await draft(f.id);
    assert.equal(d.revision, other.body.revision + 1);
    assert.ok(d.draft.nodes.some((n) => n.type === 'stop'));
    // Second conflict, this time take theirs.
    const third = await srv.api('PUT', `/api/flows/${f.id}`, { ...d.draft, name: 'Theirs', nodes: d.draft.nodes.filter((n) => n.type !== 'stop'), revision: d.revision });
    assert.equal(third.status, 200);
    await page.click('[data-testid=palette-item][data-type="delay"]');
    await page.click('[data-testid=save]');
    await page.waitForSelector('[data-testid=conflict-dialog]');
    await page.click('[data-testid=conflict-reload]');
    await page.waitForSelector('[data-testid=conflict-dialog]', { state: 'detached' });
    await page.waitForFunction(() => document.querySelector('[data-testid=flow-title]').textContent === 'Theirs');
    assert.equal(await page.locator('.react-flow__node[data-node-type="stop"], .react-flow__node [data-node-type="stop"]').count(), 0);
    d = await draft(f.id);
    assert.equal(d.revision, third.body.revision);
    await page.close();
  });

  it('publish_shows_problems_on_422_then_publishes_activates_and_lists_versions', async () => {
    const f = await createFlow({ name: 'Publish', nodes: [{ id: 'n', type: 'set', config: { values: { greeting: 'xin chào' } }, position: { x: 300, y: 0 } }], edges: [] });
    const page = await newPage();
    await openFlow(page, f.id);
    await page.click('[data-testid=publish]');
    await page.waitForSelector('.toast.error');
    assert.match(await page.textContent('.toast.error'), /Cannot publish/);
    assert.match(await page.textContent('[data-testid=problems-list]'), /trigger/);
    // Fix: add a trigger wired to the action, then publish and activate.
    await page.click('[data-testid=palette-item][data-type="trigger.manual"]');
    const trig = await page.locator('.react-flow__node[data-node-type="trigger.manual"], .react-flow__node:has([data-node-type="trigger.manual"])').first();
    const id = await trig.getAttribute('data-id');
    const s = await trig.locator('.react-flow__handle.source').boundingBox();
    const e = await node(page, 'n').locator('.react-flow__handle.target').boundingBox();
    await page.mouse.move(s.x + s.width / 2, s.y + s.height / 2);
    await page.mouse.down();
    await page.mouse.move(e.x + e.width / 2, e.y + e.height / 2, { steps: 8 });
    await page.mouse.up();
    await page.waitForSelector('.react-flow__edge');
    await page.click('[data-testid=publish]');
    await page.waitForSelector('.toast.ok >> text=Published version 1');
    const d = await draft(f.id);
    assert.deepEqual(d.draft.edges, [{ from: id, to: 'n' }]);
    await page.click('[data-testid=activate]');
    await page.waitForSelector('[data-testid=active-pill] >> text=active: v1');
    assert.equal((await draft(f.id)).active_version, 1);
    await page.click('[data-testid=versions]');
    await page.waitForSelector('[data-testid=version-row]');
    assert.match(await page.textContent('[data-testid=version-row]'), /v1/);
    await shot(page, 'editor-versions');
    // Loading a version into the draft is an undoable edit of the draft.
    await page.click('[data-testid=version-load]');
    await page.waitForSelector('[data-testid=versions-dialog]', { state: 'detached' });
    await page.waitForSelector('.react-flow__node[data-id="n"]');
    assert.equal(await page.textContent('[data-testid=save-state]'), 'Unsaved changes');
    await page.keyboard.press('Control+z');
    await page.waitForFunction(() => document.querySelector('[data-testid=save-state]').textContent === 'Saved');
    await page.click('[data-testid=deactivate]');
    await page.waitForSelector('[data-testid=activate]');
    assert.equal((await draft(f.id)).active_version, null);
    await page.close();
  });

  it('condition_builder_writes_json_logic_and_tests_it_on_the_server', async () => {
    const f = await createFlow({
      name: 'Cond',
      nodes: [
        { id: 't', type: 'trigger.record', config: { kind: 'order', on: 'created' }, position: { x: 0, y: 0 } },
        { id: 'c', type: 'branch.if', config: {}, position: { x: 300, y: 0 } },
      ],
      edges: [{ from: 't', to: 'c' }],
    });
    const page = await newPage();
    await openFlow(page, f.id);
    await node(page, 'c').click();
    const panel = page.locator('[data-testid=node-panel]');
    await panel.locator('[data-testid=cond-add-rule]').click();
    await panel.locator('.cond-field').fill('order.amount');
    await panel.locator('.cond-op').selectOption('>=');
    await panel.locator('.cond-value').fill('50000');
    await panel.locator('[data-testid=cond-add-rule]').click();
    await panel.locator('.cond-field').nth(1).fill('order.city');
    await panel.locator('.cond-value').nth(1).fill('Hà Nội');
    await panel.locator('[data-testid=cond-test-toggle]').click();
    await panel.locator('[data-testid=cond-test-run]').click();
    await panel.locator('[data-testid=cond-result]').waitFor();
    assert.match(await panel.locator('[data-testid=cond-result]').textContent(), /true/);
    await shot(page, 'editor-condition');
    await page.click('[data-testid=save]');
    await page.waitForFunction(() => document.querySelector('[data-testid=save-state]').textContent === 'Saved');
    const when = (await draft(f.id)).draft.nodes.find((n) => n.id === 'c').config.when;
    assert.deepEqual(when, { and: [{ '>=': [{ var: 'order.amount' }, 50000] }, { '==': [{ var: 'order.city' }, 'Hà Nội'] }] });
    const ev = await srv.api('POST', '/api/conditions/eval', { when, data: { order: { amount: 60000, city: 'Hà Nội' } } });
    assert.equal(ev.body.result, true);
    // Domain mode writes {"domain": [...]}.
    await panel.locator('[data-testid=cond-mode-domain]').click();
    await panel.locator('[data-testid=cond-domain]').fill('[["country", "in", ["United States", "Canada"]]]');
    await page.click('[data-testid=save]');
    await page.waitForFunction(() => document.querySelector('[data-testid=save-state]').textContent === 'Saved');
    assert.deepEqual((await draft(f.id)).draft.nodes.find((n) => n.id === 'c').config.when, { domain: [['country', 'in', ['United States', 'Canada']]] });
    await page.close();
  });

  it('template_field_inserts_variables_and_previews_on_the_server', async () => {
    const f = await createFlow({
      name: 'Tmpl',
      nodes: [
        { id: 't', type: 'trigger.record', config: { kind: 'order', on: 'created' }, position: { x: 0, y: 0 } },
        { id: 'sms', type: 'action.send_sms', config: { to: 'auto', text: 'Đơn #ORDER_ID# của ' }, position: { x: 300, y: 0 } },
      ],
      edges: [{ from: 't', to: 'sms' }],
    });
    const page = await newPage();
    await openFlow(page, f.id);
    await node(page, 'sms').click();
    const field = page.locator('[data-testid=node-panel] [data-testid=template-field]').filter({ has: page.locator('textarea') }).nth(1);
    const ta = field.locator('textarea');
    await ta.click();
    await ta.press('End');
    await field.locator('[data-testid=tmpl-insert]').selectOption('customer.name');
    assert.equal(await ta.inputValue(), 'Đơn #ORDER_ID# của {{customer.name}}');
    await field.locator('[data-testid=tmpl-preview]').waitFor();
    await page.waitForFunction((el) => /SO1001/.test(el.textContent) && /Nguyễn Văn An/.test(el.textContent), await field.locator('[data-testid=tmpl-preview]').elementHandle());
    await page.close();
  });

  it('leaving_with_unsaved_changes_asks_first', async () => {
    const f = await createFlow({ name: 'Guard', nodes: [{ id: 't', type: 'trigger.manual', config: {}, position: { x: 0, y: 0 } }], edges: [] });
    const page = await browser.ctx.newPage();
    await page.addInitScript((tok) => { try { localStorage.setItem('flowd.token', tok); localStorage.setItem('flowd.lang', 'en'); } catch { /* about:blank */ } }, TOKEN);
    await openFlow(page, f.id);
    await page.click('[data-testid=palette-item][data-type="stop"]');
    const asked = [];
    page.once('dialog', (d) => { asked.push(d.message()); d.dismiss(); });
    await page.click('.toolbar a.link');
    await page.waitForTimeout(300);
    assert.equal(asked.length, 1);
    assert.ok(await page.locator('[data-testid=editor]').isVisible(), 'still in the editor');
    page.once('dialog', (d) => { asked.push(d.message()); d.accept(); });
    await page.click('.toolbar a.link');
    await page.waitForSelector('[data-testid=flow-list]');
    assert.equal(asked.length, 2);
    await page.close();
  });

  it('dragging_nodes_moves_them_and_undo_puts_them_back', async () => {
    const f = await createFlow({
      name: 'Move',
      nodes: [
        { id: 't', type: 'trigger.manual', config: {}, position: { x: 0, y: 0 } },
        { id: 'a', type: 'set', config: { values: { a: 1 } }, position: { x: 300, y: 0 } },
      ],
      edges: [{ from: 't', to: 'a' }],
    });
    const page = await newPage();
    await openFlow(page, f.id);
    const zoom = await page.evaluate(() => {
      const m = /scale\(([\d.]+)\)/.exec(document.querySelector('.react-flow__viewport').style.transform);
      return m ? Number(m[1]) : 1;
    });
    const box = await node(page, 'a').boundingBox();
    await page.mouse.move(box.x + 40, box.y + 10);
    await page.mouse.down();
    await page.mouse.move(box.x + 40 + 100 * zoom, box.y + 10 + 200 * zoom, { steps: 10 });
    await page.mouse.up();
    await page.click('[data-testid=save]');
    await page.waitForFunction(() => document.querySelector('[data-testid=save-state]').textContent === 'Saved');
    let pos = (await draft(f.id)).draft.nodes.find((n) => n.id === 'a').position;
    // Within a drag threshold and the 10 px snap grid of where the pointer went.
    assert.ok(Math.abs(pos.x - 400) <= 30 && Math.abs(pos.y - 200) <= 30 && pos.x % 10 === 0 && pos.y % 10 === 0, JSON.stringify(pos));
    await page.keyboard.press('Control+z');
    await page.click('[data-testid=save]');
    await page.waitForFunction(() => document.querySelector('[data-testid=save-state]').textContent === 'Saved');
    pos = (await draft(f.id)).draft.nodes.find((n) => n.id === 'a').position;
    assert.deepEqual(pos, { x: 300, y: 0 });
    // Arrow keys nudge the selection; the moves are part of the document.
    await node(page, 'a').click();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(() => document.querySelector('[data-testid=save-state]').textContent === 'Unsaved changes');
    await page.click('[data-testid=save]');
    await page.waitForFunction(() => document.querySelector('[data-testid=save-state]').textContent === 'Saved');
    pos = (await draft(f.id)).draft.nodes.find((n) => n.id === 'a').position;
    assert.ok(pos.x > 300 && pos.y > 0, JSON.stringify(pos));
    await page.close();
  });

  it('tidy_layout_ranks_nodes_left_to_right', async () => {
    const f = await createFlow({
      name: 'Tidy',
      nodes: [
        { id: 'c', type: 'action.notify', config: { text: 'c' }, position: { x: 0, y: 0 } },
        { id: 'b', type: 'branch.if', config: { when: true }, position: { x: 0, y: 200 } },
        { id: 't', type: 'trigger.manual', config: {}, position: { x: 500, y: 500 } },
        { id: 'd', type: 'action.notify', config: { text: 'd' }, position: { x: 0, y: 400 } },
      ],
      edges: [{ from: 't', to: 'b' }, { from: 'b', port: 'true', to: 'c' }, { from: 'b', port: 'false', to: 'd' }],
    });
    const page = await newPage();
    await openFlow(page, f.id);
    await page.click('[data-testid=tidy]');
    await page.click('[data-testid=save]');
    await page.waitForFunction(() => document.querySelector('[data-testid=save-state]').textContent === 'Saved');
    const pos = Object.fromEntries((await draft(f.id)).draft.nodes.map((n) => [n.id, n.position]));
    assert.ok(pos.t.x < pos.b.x && pos.b.x < pos.c.x, JSON.stringify(pos));
    assert.equal(pos.c.x, pos.d.x);
    assert.ok(pos.c.y < pos.d.y, 'the true branch is above the false branch');
    await page.close();
  });

  it('import_and_export_round_trip_through_the_server', async () => {
    const doc = { id: 'f_imported', name: 'Imported flow', nodes: [{ id: 't', type: 'trigger.manual', config: {}, position: { x: 0, y: 0 } }], edges: [] };
    const file = path.join(os.tmpdir(), `flowd-import-${process.pid}.json`);
    fs.writeFileSync(file, JSON.stringify({ format: 'flowd.flow/1', flow: doc }));
    const page = await newPage();
    await page.goto(`${srv.url}/#/flows`);
    await page.waitForSelector('[data-testid=flow-list]');
    await page.setInputFiles('[data-testid=import-file]', file);
    await page.waitForSelector('[data-testid=editor]');
    assert.equal(await page.textContent('[data-testid=flow-title]'), 'Imported flow');
    assert.equal((await draft('f_imported')).draft.nodes[0].type, 'trigger.manual');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('.toolbar >> text=Export')]);
    const exported = JSON.parse(fs.readFileSync(await dl.path(), 'utf8'));
    assert.equal((exported.flow || exported).name, 'Imported flow');
    fs.rmSync(file, { force: true });
    await page.close();
  });

  it('a_500_node_flow_opens_and_renders_every_visible_node', async () => {
    const { makeFlow } = await import('../../bench/editor_500_nodes.mjs');
    const doc = makeFlow(500);
    await createFlow(doc);
    const page = await newPage();
    const t0 = Date.now();
    await page.goto(`${srv.url}/#/flows/${doc.id}`);
    await page.waitForFunction(() => document.querySelectorAll('.react-flow__node').length >= 400, null, { timeout: 20000 });
    const ms = Date.now() - t0;
    await shot(page, 'editor-500');
    assert.ok(ms < 8000, `opened in ${ms} ms`);
    await page.close();
  });

  it('no_uncaught_errors_in_the_page', () => {
    assert.deepEqual(browser.errors, []);
  });
});
