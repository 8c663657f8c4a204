// FlowList: GET /api/flows as a table (name, active version, last run, runs in 24h — shown
// when the server sends them), with create, import, export and delete.
import { useEffect, useRef, useState } from 'react';
import { useI18n } from '../i18n.js';
import { api, asList, enc } from '../api.js';
import { navigate } from '../lib/router.js';
import { useLoad, StatusPill, ErrorText, download, toast, Modal } from '../lib/ui.jsx';
import { putLocalDraft, flowFromFile } from '../model/localDrafts.js';
import { fmtTime } from '../i18n.js';

function pick(o, ...keys) {
  for (const k of keys) {
    const v = k.split('.').reduce((a, p) => (a == null ? a : a[p]), o);
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}

/* The list endpoint may not carry run figures; then one GET /api/runs (newest first) gives
 * each flow's last run and its runs of the last 24 hours (non-test runs only). */
function useRunStats(flowsData) {
  const [stats, setStats] = useState(() => new Map());
  useEffect(() => {
    const list = asList(flowsData, 'flows');
    if (!list.length || list.some((f) => f.runs_24h !== undefined || f.last_run !== undefined)) return;
    let alive = true;
    api.get('/api/runs?limit=500').then((d) => {
      if (!alive) return;
      const m = new Map();
      const since = Date.now() - 24 * 3600 * 1000;
      for (const r of asList(d, 'runs')) {
        if (r.test) continue;
        const id = r.flow_id || r.flow;
        let e = m.get(id);
        if (!e) m.set(id, (e = { last: r, n24: 0 }));
        if (new Date(r.started_at || r.created_at).getTime() >= since) e.n24++;
      }
      m.loaded = true;
      setStats(m);
    }, () => {});
    return () => { alive = false; };
  }, [flowsData]);
  return stats;
}

export default function FlowList() {
  const { t, lang } = useI18n();
  const { data, error, loading, reload } = useLoad(() => api.get('/api/flows'), []);
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const fileRef = useRef(null);
  const flows = asList(data, 'flows');
  const stats = useRunStats(data);

  async function create(e) {
    e.preventDefault();
    try {
      const res = await api.post('/api/flows', { name: name.trim() || t('flows.defaultName'), priority: 100, nodes: [], edges: [] });
      const f = res && (res.flow || res);
      setCreating(false);
      if (f && f.id) navigate(`/flows/${enc(f.id)}`); else reload();
    } catch (err) { toast(t('common.error', { msg: err.message }), 'error'); }
  }

  async function onFile(e) {
    const file = e.target.files && e.target.files[0];
    e.target.value = '';
    if (!file) return;
    let obj;
    try { obj = JSON.parse(await file.text()); } catch (err) { toast(t('flows.importFailed', { msg: err.message }), 'error'); return; }
    try {
      const res = await api.post('/api/flows/import', obj);
      const f = res && (res.flow || res);
      toast(t('flows.imported', { name: (f && f.name) || file.name }), 'ok');
      if (f && f.id) navigate(`/flows/${enc(f.id)}`); else reload();
    } catch (err) {
      const doc = flowFromFile(obj);
      if (!doc || (err.status && err.status !== 404 && err.status !== 405 && err.status !== 501 && err.status < 500)) {
        toast(t('flows.importFailed', { msg: err.message }), 'error');
        return;
      }
      toast(t('flows.importLocal'), 'info');
      navigate(`/flows/${enc(putLocalDraft(doc))}`);
    }
  }

  async function exportFlow(f) {
    try {
      let doc;
      try { doc = await api.get(`/api/flows/${enc(f.id)}/export`); } catch { doc = await api.get(`/api/flows/${enc(f.id)}`); }
      download(`${f.id}.flow.json`, doc);
    } catch (err) { toast(t('common.error', { msg: err.message }), 'error'); }
  }

  async function remove(f) {
    if (!confirm(t('common.confirmDelete', { name: f.name || f.id }))) return;
    try { await api.del(`/api/flows/${enc(f.id)}`); reload(); } catch (err) { toast(t('common.error', { msg: err.message }), 'error'); }
  }

  return (
    <div className="list-page" data-testid="flow-list">
      <div className="page-head">
        <h1>{t('flows.title')}</h1>
        <div className="spacer" />
        <button className="primary" onClick={() => { setName(''); setCreating(true); }} data-testid="new-flow">{t('flows.new')}</button>
        <button onClick={() => fileRef.current && fileRef.current.click()} data-testid="import-flow">{t('flows.import')}</button>
        <input ref={fileRef} type="file" accept=".json,application/json" hidden onChange={onFile} data-testid="import-file" />
        <button onClick={reload}>{t('common.refresh')}</button>
      </div>
      <ErrorText error={error} />
      {loading && !data && <div className="muted">{t('common.loading')}</div>}
      {!loading && !error && !flows.length && <div className="empty">{t('flows.empty')}</div>}
      {!!flows.length && (
        <table className="grid">
          <thead><tr>
            <th>{t('flows.col.name')}</th><th>{t('flows.col.priority')}</th><th>{t('flows.col.active')}</th>
            <th>{t('flows.col.lastRun')}</th><th className="num">{t('flows.col.runs24h')}</th><th>{t('flows.col.updated')}</th><th />
          </tr></thead>
          <tbody>
            {flows.map((f) => {
              const active = pick(f, 'active_version', 'activeVersion', 'active.version');
              const isActive = pick(f, 'active') === true || active != null;
              const st = stats.get(f.id);
              const last = pick(f, 'last_run.status', 'last_run_status', 'lastRun.status') ?? (st && st.last && st.last.status);
              const lastAt = pick(f, 'last_run.started_at', 'last_run_at', 'last_run.at') ?? (st && st.last && (st.last.started_at || st.last.created_at));
              const n24 = pick(f, 'runs_24h', 'runs_last_24h', 'stats.runs_24h', 'runs24h') ?? (stats.size || stats.loaded ? (st ? st.n24 : 0) : undefined);
              return (
                <tr key={f.id} data-testid="flow-row" data-flow-id={f.id}>
                  <td><a href={`#/flows/${enc(f.id)}`} className="strong">{f.name || f.id}</a><div className="muted small">{f.id}</div></td>
                  <td>{f.priority ?? ''}</td>
                  <td>{isActive && active != null ? <span className="pill st-succeeded">v{active}</span> : <span className="muted">{t('flows.inactive')}</span>}</td>
                  <td>{last ? <><StatusPill status={last} /> <span className="muted small">{fmtTime(lang, lastAt)}</span></> : <span className="muted">—</span>}</td>
                  <td className="num">{n24 ?? '—'}</td>
                  <td className="muted small">{fmtTime(lang, pick(f, 'updated_at', 'updatedAt'))}</td>
                  <td className="actions">
                    <button onClick={() => exportFlow(f)}>{t('flows.export')}</button>
                    <button className="danger" onClick={() => remove(f)} data-testid="delete-flow">{t('common.delete')}</button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {creating && (
        <Modal title={t('flows.new')} onClose={() => setCreating(false)}>
          <form onSubmit={create} className="form">
            <label>{t('flows.newName')}<input autoFocus value={name} onChange={(e) => setName(e.target.value)} placeholder={t('flows.defaultName')} data-testid="new-flow-name" /></label>
            <div className="row-end"><button type="button" onClick={() => setCreating(false)}>{t('common.cancel')}</button><button className="primary" data-testid="new-flow-create">{t('common.create')}</button></div>
          </form>
        </Modal>
      )}
    </div>
  );
}
