// FlowEditor: the page that opens one flow. It loads the draft (GET /api/flows/{id}) and the
// node-type registry, creates the editor session (model), and wires the separate modules:
// palette, canvas, property panel, problems/test-run panel, live counters, dialogs.
// It owns the server conversation about this flow: debounced validation, save with
// revision (409 → conflict dialog), publish, activate/deactivate, versions, test runs.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useT } from '../i18n.js';
import { api, enc, asList } from '../api.js';
import { useStore } from '../lib/store.js';
import { meStore, canEditFlows } from '../lib/me.js';
import { navigate, setNavigationGuard, parseHash } from '../lib/router.js';
import { toast, download, ErrorText } from '../lib/ui.jsx';
import { normalizeDoc, ensurePositions, toServerDoc, removeNodes, removeEdges, extractFragment, pasteFragment, moveNodes, addNode, uniqueId, shortName, connect } from '../model/flowDoc.js';
import { portsOf, defaultConfig, hasInput } from '../model/registry.js';
import { layeredLayout } from '../model/layout.js';
import { createSession, setProblems, setRunOverlay } from '../model/session.js';
import { sampleFromEvent } from '../model/sample.js';
import { useRegistry } from '../model/useRegistry.js';
import { isLocalId, getLocalDraft, updateLocalDraft, dropLocalDraft } from '../model/localDrafts.js';
import { EditorContext } from '../editor/context.js';
import Canvas from '../editor/Canvas.jsx';
import Palette from '../editor/Palette.jsx';
import PropertyPanel from '../editor/PropertyPanel.jsx';
import { ProblemsList, RunSteps, problemCounts } from '../editor/BottomPanel.jsx';
import { ConflictDialog, TestDialog, VersionsDialog, ShortcutsDialog } from '../editor/Dialogs.jsx';
import { startLiveCounters } from '../editor/liveCounters.js';
import { useShortcuts } from '../editor/shortcuts.js';

const CLIP_KEY = 'flowd.clipboard';

function unwrapFlow(res) {
  if (!res || typeof res !== 'object') return { doc: {}, meta: {} };
  // flowd answers {id, name, revision, active_version, draft: {...document}, problems};
  // other shapes ({flow: {...}} or the bare document) are accepted too.
  let doc = res;
  if (res.draft && typeof res.draft === 'object') doc = { ...res.draft, id: res.draft.id || res.id, name: res.draft.name ?? res.name };
  else if (res.flow && typeof res.flow === 'object') doc = res.flow;
  const meta = {
    revision: res.revision ?? doc.revision ?? (res.draft && res.draft.revision),
    activeVersion: res.active_version ?? doc.active_version ?? (res.active && typeof res.active === 'object' ? res.active.version : undefined),
    active: res.active === true || res.active_version != null || doc.active_version != null,
    problems: res.problems ?? doc.problems,
    updatedBy: res.updated_by, updatedAt: res.updated_at,
  };
  return { doc, meta };
}

function prepareDoc(raw, registry) {
  const d = normalizeDoc(raw);
  return ensurePositions(d, (x) => layeredLayout(x, new Map(), (n) => portsOf(registry.get(n.type), n)));
}

function guessEvent(doc, sample) {
  const trig = doc.nodes.find((n) => String(n.type).startsWith('trigger.'));
  const c = (trig && trig.config) || {};
  if (trig && trig.type === 'trigger.manual' && c.sample) return c.sample;
  if (trig && trig.type === 'trigger.record') {
    const kind = c.kind || 'order';
    const on = c.on || 'created';
    const data = { ...(sample[kind] || { id: `${kind}_1` }) };
    if (c.to) data.status = c.to;
    if (kind === 'order' || kind === 'lead') data.customer = sample.customer;
    return { type: `${kind}.${on === 'status_changed' ? 'updated' : on}`, key: `test-${Date.now()}`, data };
  }
  if (trig && trig.type === 'trigger.event') return { type: c.type || 'message.received', key: `test-${Date.now()}`, data: { customer: sample.customer, page: 'page_1', text: 'Xin chào' } };
  return { type: 'order.created', key: `test-${Date.now()}`, data: { ...sample.order, customer: sample.customer } };
}

export default function FlowEditor({ flowId }) {
  const t = useT();
  const reg = useRegistry();
  const [loaded, setLoaded] = useState(null);
  const local = isLocalId(flowId);

  // The draft and the node-type registry load in parallel; positions need both.
  const [raw, setRaw] = useState(null);
  useEffect(() => {
    let alive = true;
    if (local) {
      const d = getLocalDraft(flowId);
      setRaw(d ? { doc: d, meta: {} } : { error: new Error(t('editor.localMissing')) });
      return undefined;
    }
    api.get(`/api/flows/${enc(flowId)}`).then((res) => {
      if (!alive) return;
      const { doc, meta } = unwrapFlow(res);
      setRaw({ doc: { ...doc, id: doc.id || flowId }, meta });
    }, (error) => alive && setRaw({ error }));
    return () => { alive = false; };
  }, [flowId, local]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    // Once: a second `initial` would start a new session and drop the user's edits.
    if (!reg || !raw) return;
    setLoaded((old) => old || (raw.error ? raw : { doc: prepareDoc(raw.doc, reg.registry), meta: raw.meta }));
  }, [reg, raw]);

  if (!reg || !loaded) return <div className="pad muted">{t('common.loading')}</div>;
  if (loaded.error) return <div className="pad"><ErrorText error={loaded.error} /><a href="#/flows">{t('editor.back')}</a></div>;
  return <EditorView flowId={flowId} local={local} registry={reg.registry} registryError={reg.error} initial={loaded} />;
}

function EditorView({ flowId, local, registry, registryError, initial }) {
  const t = useT();
  const session = useMemo(() => createSession(initial.doc), [initial]);
  const doc = useStore(session.store, (s) => s.doc);
  const dirty = useStore(session.store, (s) => s.doc !== s.savedDoc);
  const canUndo = useStore(session.store, (s) => s.past.length > 0);
  const canRedo = useStore(session.store, (s) => s.future.length > 0);
  const problemList = useStore(session.problemList);
  const runInfo = useStore(session.runInfo);
  const revision = useRef(initial.meta.revision);
  const [meta, setMeta] = useState(initial.meta);
  const [selected, setSelected] = useState([]);
  const [busy, setBusy] = useState(null);
  const [conflict, setConflict] = useState(null);
  const [dialog, setDialog] = useState(null);
  const [tab, setTab] = useState('problems');
  const [bottomOpen, setBottomOpen] = useState(true);
  const [bottomH, setBottomH] = useState(190);
  // Drag the panel's top edge to resize it.
  const startResize = (e) => {
    e.preventDefault();
    const y0 = e.clientY; const h0 = bottomH;
    const move = (ev) => setBottomH(Math.max(90, Math.min(window.innerHeight * 0.75, h0 + y0 - ev.clientY)));
    const up = () => { window.removeEventListener('mousemove', move); window.removeEventListener('mouseup', up); };
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
  };
  const canvas = useRef(null);
  const live = useRef(null);
  const me = useStore(meStore);
  const readOnly = !canEditFlows(me);
  const ctx = useMemo(() => ({ session, registry, readOnly }), [session, registry, readOnly]);

  useEffect(() => { if (initial.meta.problems) setProblems(session, initial.meta.problems); }, [session, initial]);

  // #/flows/<id>?run=<run id> (from the run inspector): show that run's path on the canvas.
  useEffect(() => {
    const runId = parseHash().query.run;
    if (!runId || local) return;
    api.get(`/api/runs/${enc(runId)}`).then((r) => {
      setRunOverlay(session, (r && r.run) || r);
      setTab('test'); setBottomOpen(true);
    }, () => {});
  }, [session, local]);

  // Debounced server validation of every edit; the server is the authority on problems.
  useEffect(() => {
    let timer = 0;
    let ctl = null;
    let last = null;
    const run = (d) => {
      if (ctl) ctl.abort();
      ctl = new AbortController();
      api.post('/api/flows/validate', toServerDoc(d), { signal: ctl.signal })
        .then((r) => { if (session.store.get().doc === d) setProblems(session, r && (r.problems || asList(r, 'problems'))); }, () => {});
    };
    const check = () => {
      const d = session.store.get().doc;
      if (d === last) return;
      last = d;
      clearTimeout(timer);
      timer = setTimeout(() => run(d), 400);
    };
    check();
    const unsub = session.store.subscribe(check);
    return () => { unsub(); clearTimeout(timer); if (ctl) ctl.abort(); };
  }, [session]);

  // Local drafts follow every edit into sessionStorage.
  useEffect(() => { if (local) updateLocalDraft(flowId, doc); }, [local, flowId, doc]);

  // Live counters from the websocket.
  useEffect(() => {
    if (local) return undefined;
    let warned = false;
    const lc = startLiveCounters(session, flowId, null, () => { if (!warned) { warned = true; toast(t('live.lagged'), 'info', 6000); } });
    live.current = lc;
    return () => lc.stop();
  }, [session, flowId, local, t]);

  // Unsaved changes: ask before leaving the page or the route.
  useEffect(() => {
    const before = (e) => { if (session.store.get().doc !== session.store.get().savedDoc) { e.preventDefault(); e.returnValue = ''; } };
    window.addEventListener('beforeunload', before);
    setNavigationGuard((to) => {
      const s = session.store.get();
      if (s.doc === s.savedDoc || String(to).includes(enc(flowId))) return true;
      return confirm(t('editor.leave'));
    });
    return () => { window.removeEventListener('beforeunload', before); setNavigationGuard(null); };
  }, [session, flowId, t]);

  const refreshMeta = useCallback(async () => {
    try {
      const res = await api.get(`/api/flows/${enc(flowId)}`);
      const { meta: m } = unwrapFlow(res);
      setMeta((old) => ({ ...old, ...m }));
    } catch { /* keep the old view */ }
  }, [flowId]);

  const save = useCallback(async (forceRevision) => {
    const d = session.store.get().doc;
    if (local) {
      setBusy('save');
      try {
        const res = await api.post('/api/flows', toServerDoc(d));
        const f = (res && (res.flow || res)) || {};
        session.store.markSaved(d);
        dropLocalDraft(flowId);
        navigate(`/flows/${enc(f.id || d.id)}`);
      } catch (e) { toast(t('common.error', { msg: e.message }), 'error'); } finally { setBusy(null); }
      return false;
    }
    setBusy('save');
    try {
      const body = { ...toServerDoc(d), revision: forceRevision ?? revision.current };
      const res = await api.put(`/api/flows/${enc(flowId)}`, body);
      const { meta: m } = unwrapFlow(res);
      revision.current = m.revision ?? (Number.isFinite(revision.current) ? revision.current + 1 : revision.current);
      session.store.markSaved(d);
      if (m.problems) setProblems(session, m.problems);
      setConflict(null);
      toast(t('editor.saved'), 'ok', 1500);
      return true;
    } catch (e) {
      if (e.status === 409) setConflict(e.details || {});
      else toast(t('common.error', { msg: e.message }), 'error');
      return false;
    } finally { setBusy(null); }
  }, [session, flowId, local, t]);

  const reload = useCallback(async () => {
    try {
      const res = await api.get(`/api/flows/${enc(flowId)}`);
      const { doc: raw, meta: m } = unwrapFlow(res);
      session.store.reset(prepareDoc({ ...raw, id: raw.id || flowId }, registry));
      revision.current = m.revision;
      setMeta(m);
      setConflict(null);
      if (m.problems) setProblems(session, m.problems);
    } catch (e) { toast(t('common.error', { msg: e.message }), 'error'); }
  }, [session, flowId, registry, t]);

  const publish = useCallback(async () => {
    if (session.store.get().doc !== session.store.get().savedDoc && !(await save())) return;
    setBusy('publish');
    try {
      const res = await api.post(`/api/flows/${enc(flowId)}/publish`, {});
      const v = res && (res.version ?? (res.flow && res.flow.version));
      toast(t('editor.published', { v: v ?? '' }), 'ok');
      refreshMeta();
    } catch (e) {
      if (e.status === 422) {
        const probs = (e.details && (e.details.problems || (Array.isArray(e.details) ? e.details : null))) || (e.body && e.body.problems) || [];
        setProblems(session, probs);
        setTab('problems'); setBottomOpen(true);
        toast(t('editor.publishFailed', { n: probs.length }), 'error');
      } else toast(t('common.error', { msg: e.message }), 'error');
    } finally { setBusy(null); }
  }, [session, flowId, save, refreshMeta, t]);

  const setActive = useCallback(async (on, version) => {
    try {
      await api.post(`/api/flows/${enc(flowId)}/${on ? 'activate' : 'deactivate'}`, on && version != null ? { version } : {});
      toast(t(on ? 'editor.activated' : 'editor.deactivated'), 'ok');
      setMeta((m) => ({ ...m, active: on, activeVersion: on ? (version ?? m.activeVersion) : null }));
      refreshMeta();
    } catch (e) { toast(t('common.error', { msg: e.message }), 'error'); }
  }, [flowId, refreshMeta, t]);

  const loadVersion = useCallback(async (n) => {
    try {
      const res = await api.get(`/api/flows/${enc(flowId)}/versions/${n}`);
      const raw = res && (res.doc || res.flow || res.document || res.definition || res);
      session.store.commit(() => prepareDoc({ ...raw, id: flowId, name: raw.name || session.store.get().doc.name }, registry));
      setDialog(null);
    } catch (e) { toast(t('common.error', { msg: e.message }), 'error'); }
  }, [session, flowId, registry, t]);

  const runTest = useCallback(async (event) => {
    if (session.store.get().doc !== session.store.get().savedDoc && !(await save())) return;
    setBusy('test');
    try { localStorage.setItem(`flowd.testEvent.${flowId}`, JSON.stringify(event)); } catch { /* ignore */ }
    try {
      const res = await api.post(`/api/flows/${enc(flowId)}/test`, { event });
      let run = (res && (res.run || res)) || {};
      setRunOverlay(session, run);
      setDialog(null);
      setTab('test'); setBottomOpen(true);
      // A run that is still going (a delay, a wait) is followed until it settles.
      for (let i = 0; i < 20 && run.id && (run.status === 'running'); i++) {
        await new Promise((r) => setTimeout(r, 500));
        try { run = await api.get(`/api/runs/${enc(run.id)}`); setRunOverlay(session, run); } catch { break; }
      }
      const sample = sampleFromEvent(event, session.store.get().doc);
      for (const s of run.steps || []) if (s.node && s.output !== undefined) sample.nodes[s.node] = s.output;
      session.sample.set(sample);
    } catch (e) { toast(t('common.error', { msg: e.message }), 'error'); } finally { setBusy(null); }
  }, [session, flowId, save, t]);

  // --- canvas gestures that change the document ---
  const addNodeAt = useCallback((type, position, from) => {
    const typeDef = registry.get(type);
    let id = null;
    session.store.commit((d) => {
      id = uniqueId(d, shortName(type));
      const config = (typeDef && defaultConfig(typeDef.schema)) || {};
      if (type === 'branch.switch' && !Array.isArray(config.cases)) config.cases = [];
      let next = addNode(d, { id, type, config, position });
      if (from && hasInput(typeDef, { type })) next = connect(next, from.id, from.port, id);
      return next;
    });
    if (canvas.current) canvas.current.selectAfterCommit([id]);
    setSelected([id]);
  }, [session, registry]);

  // Click in the palette: after the selected node (wired from its first free port, the way
  // n8n does it), else at the centre of the view, moved down until it does not overlap.
  const addAtCenter = useCallback((type) => {
    const d = session.store.get().doc;
    const sel = canvas.current ? canvas.current.selection().nodes : [];
    const src = sel.length === 1 ? d.nodes.find((n) => n.id === sel[0]) : null;
    if (src && src.position) {
      const ports = portsOf(registry.get(src.type), src);
      if (ports.length) {
        const used = new Set(d.edges.filter((e) => e.from === src.id).map((e) => e.port || 'out'));
        const port = ports.find((p) => !used.has(p) && p !== 'error') || ports[0];
        const siblings = d.edges.filter((e) => e.from === src.id).length;
        addNodeAt(type, { x: src.position.x + 280, y: src.position.y + siblings * 120 }, { id: src.id, port });
        return;
      }
    }
    const c = canvas.current ? canvas.current.center() : { x: 0, y: 0 };
    let pos = { x: Math.round(c.x - 95), y: Math.round(c.y - 40) };
    const hit = (p) => d.nodes.some((n) => n.position && Math.abs(n.position.x - p.x) < 200 && Math.abs(n.position.y - p.y) < 100);
    for (let i = 0; i < 50 && hit(pos); i++) pos = { x: pos.x, y: pos.y + 110 };
    addNodeAt(type, pos);
  }, [addNodeAt, session, registry]);

  const tidy = useCallback(() => {
    const d = session.store.get().doc;
    const heights = canvas.current ? canvas.current.heights() : new Map();
    const pos = layeredLayout(d, heights, (n) => portsOf(registry.get(n.type), n));
    session.store.commit((x) => moveNodes(x, pos));
    requestAnimationFrame(() => canvas.current && canvas.current.fitView());
  }, [session, registry]);

  const deleteSelection = useCallback(() => {
    if (!canvas.current) return;
    const sel = canvas.current.selection();
    if (!sel.nodes.length && !sel.edges.length) return;
    session.store.commit((d) => removeEdges(removeNodes(d, sel.nodes), sel.edges));
    setSelected([]);
  }, [session]);

  const copy = useCallback(() => {
    if (!canvas.current) return false;
    const sel = canvas.current.selection();
    if (!sel.nodes.length) return false;
    const frag = extractFragment(session.store.get().doc, sel.nodes);
    const text = JSON.stringify({ flowd: 'fragment', ...frag });
    try { localStorage.setItem(CLIP_KEY, text); } catch { /* ignore */ }
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).catch(() => {});
    return true;
  }, [session]);

  const paste = useCallback((text) => {
    let frag;
    try { frag = JSON.parse(text ?? localStorage.getItem(CLIP_KEY) ?? 'null'); } catch { return; }
    if (!frag || !Array.isArray(frag.nodes) || !frag.nodes.length) return;
    const xs = frag.nodes.map((n) => (n.position ? n.position.x : 0));
    const ys = frag.nodes.map((n) => (n.position ? n.position.y : 0));
    const c = canvas.current ? canvas.current.center() : { x: 0, y: 0 };
    const d0 = session.store.get().doc;
    const overlaps = frag.nodes.every((n) => d0.nodes.some((m) => m.id === n.id));
    const offset = overlaps ? { x: 60, y: 120 } : { x: Math.round(c.x - Math.min(...xs)), y: Math.round(c.y - Math.min(...ys)) };
    let ids = [];
    session.store.commit((d) => { const r = pasteFragment(d, frag, offset); ids = r.ids; return r.doc; });
    if (canvas.current) canvas.current.selectAfterCommit(ids);
    setSelected(ids);
  }, [session]);

  useShortcuts({
    enabled: !dialog && !conflict,
    readOnly,
    save, undo: session.store.undo, redo: session.store.redo, copy, paste, deleteSelection, tidy,
    selectAll: () => canvas.current && canvas.current.selectAll(),
    fit: () => canvas.current && canvas.current.fitView(),
    deselect: () => { if (canvas.current) canvas.current.select([]); setSelected([]); },
    help: () => setDialog({ kind: 'keys' }),
  });

  const onSelection = useCallback((nodes) => {
    setSelected((old) => (old.length === nodes.length && old.every((x, i) => x === nodes[i]) ? old : nodes));
  }, []);
  const jump = useCallback((id) => { if (canvas.current) canvas.current.focusNode(id); setSelected([id]); }, []);
  const onRenamed = useCallback((id) => { if (canvas.current) canvas.current.selectAfterCommit([id]); setSelected([id]); }, []);

  const openTest = () => {
    let ev = null;
    try { ev = JSON.parse(localStorage.getItem(`flowd.testEvent.${flowId}`) || 'null'); } catch { /* ignore */ }
    setDialog({ kind: 'test', event: ev || guessEvent(session.store.get().doc, session.sample.get()) });
  };

  const exportDoc = async () => {
    if (!local && !dirty) {
      try { download(`${flowId}.flow.json`, await api.get(`/api/flows/${enc(flowId)}/export`)); return; } catch { /* fall back to the draft */ }
    }
    download(`${doc.id || 'flow'}.flow.json`, toServerDoc(doc));
  };

  const counts = problemCounts(problemList);
  return (
    <EditorContext.Provider value={ctx}>
      <div className="editor" data-testid="editor">
        <div className="toolbar">
          <a href="#/flows" className="link">← {t('editor.back')}</a>
          <span className="flow-title" data-testid="flow-title">{doc.name || doc.id}</span>
          {local && <span className="pill st-waiting">{t('editor.local')}</span>}
          {!local && <span className={`pill ${meta.activeVersion != null ? 'st-succeeded' : 'st-cancelled'}`} data-testid="active-pill">{meta.activeVersion != null ? t('editor.activeVersion', { v: meta.activeVersion }) : t('editor.noActive')}</span>}
          <span className={`save-state ${dirty ? 'dirty' : ''}`} data-testid="save-state">{busy === 'save' ? t('editor.saving') : dirty ? t('editor.unsaved') : t('editor.saved')}</span>
          <div className="spacer" />
          {!readOnly && <>
            <button onClick={() => session.store.undo()} disabled={!canUndo} title="Ctrl+Z" data-testid="undo">{t('editor.undo')}</button>
            <button onClick={() => session.store.redo()} disabled={!canRedo} title="Ctrl+Shift+Z" data-testid="redo">{t('editor.redo')}</button>
            <button onClick={tidy} title="Shift+L" data-testid="tidy">{t('editor.tidy')}</button>
          </>}
          <button onClick={() => canvas.current && canvas.current.fitView()} title="F">{t('editor.fit')}</button>
          <span className="sep" />
          <button onClick={exportDoc}>{t('editor.export')}</button>
          {!local && <button onClick={() => setDialog({ kind: 'versions' })} data-testid="versions">{t('editor.versions')}</button>}
          {!local && !readOnly && <button onClick={openTest} disabled={!!busy} data-testid="test">{t('editor.test')}</button>}
          {!local && !readOnly && (meta.activeVersion != null
            ? <button onClick={() => setActive(false)} data-testid="deactivate">{t('editor.deactivate')}</button>
            : <button onClick={() => setActive(true)} data-testid="activate">{t('editor.activate')}</button>)}
          {!local && !readOnly && <button onClick={publish} disabled={!!busy} data-testid="publish">{t('editor.publish')}</button>}
          {!readOnly && <button className="primary" onClick={() => save()} disabled={!!busy || (!dirty && !local)} title="Ctrl+S" data-testid="save">{t('editor.save')}</button>}
          {readOnly && <span className="pill" data-testid="read-only">{t('editor.readOnly')}</span>}
          <button className="icon" onClick={() => setDialog({ kind: 'keys' })} title={t('editor.shortcuts')}>?</button>
        </div>
        {registryError && <ErrorText error={registryError} />}
        <div className="editor-body">
          {!readOnly && <Palette registry={registry} onAdd={addAtCenter} />}
          <div className="editor-center">
            <Canvas apiRef={canvas} onSelection={onSelection} onDropType={addNodeAt} readOnly={readOnly} />
            <div className={`bottom-panel ${bottomOpen ? 'open' : ''}`} style={bottomOpen ? { height: bottomH } : undefined}>
              {bottomOpen && <div className="bottom-resize" onMouseDown={startResize} data-testid="bottom-resize" />}
              <div className="bottom-tabs">
                <button className={tab === 'problems' ? 'on' : ''} onClick={() => { setTab('problems'); setBottomOpen(true); }} data-testid="tab-problems">
                  {t('problems.title')} <span className={`count ${counts.e ? 'err' : counts.w ? 'warn' : ''}`} data-testid="problem-count">{counts.e + counts.w}</span>
                </button>
                <button className={tab === 'test' ? 'on' : ''} onClick={() => { setTab('test'); setBottomOpen(true); }} data-testid="tab-test">{t('test.steps')}</button>
                <div className="spacer" />
                {runInfo && <button className="small" onClick={() => setRunOverlay(session, null)}>{t('test.clear')}</button>}
                {!local && <button className="small" onClick={() => live.current && live.current.reset()}>{t('counter.reset')}</button>}
                <button className="icon" onClick={() => setBottomOpen(!bottomOpen)}>{bottomOpen ? '▾' : '▴'}</button>
              </div>
              {bottomOpen && (
                <div className="bottom-body">
                  {tab === 'problems' ? <ProblemsList onJump={jump} /> : runInfo ? <RunSteps run={runInfo} onJump={jump} /> : <div className="muted pad">{t('test.hint')}</div>}
                </div>
              )}
            </div>
          </div>
          <PropertyPanel selected={selected} onRenamed={onRenamed} />
        </div>
        {conflict && <ConflictDialog details={conflict} onClose={() => setConflict(null)} onReload={reload} onOverwrite={() => save(conflict.revision)} />}
        {dialog && dialog.kind === 'test' && <TestDialog initial={dialog.event} busy={busy === 'test'} onRun={runTest} onClose={() => setDialog(null)} />}
        {dialog && dialog.kind === 'versions' && <VersionsDialog flowId={flowId} activeVersion={meta.activeVersion} onClose={() => setDialog(null)} onActivate={(n) => { setActive(true, n); setDialog(null); }} onLoad={loadVersion} />}
        {dialog && dialog.kind === 'keys' && <ShortcutsDialog onClose={() => setDialog(null)} />}
        <datalist id="flowd-scope-paths">{/* field suggestions for the rule builder */}
          <ScopeOptions session={session} />
        </datalist>
      </div>
    </EditorContext.Provider>
  );
}

function ScopeOptions({ session }) {
  const sample = useStore(session.sample);
  const opts = useMemo(() => {
    const out = [];
    const walk = (o, p, depth) => {
      if (depth > 2 || !o || typeof o !== 'object' || Array.isArray(o)) return;
      for (const [k, v] of Object.entries(o)) { const q = p ? `${p}.${k}` : k; if (depth > 0) out.push(q); walk(v, q, depth + 1); }
    };
    walk(sample, '', 0);
    return out;
  }, [sample]);
  return opts.map((p) => <option key={p} value={p} />);
}
