// Runs: GET /api/runs with flow and status filters, refreshed live from the websocket topic
// "runs"; a run selected in the list opens in the run inspector beside it.
import { useEffect, useMemo, useRef, useState } from 'react';
import { useT, useI18n, fmtTime } from '../i18n.js';
import { api, asList, enc } from '../api.js';
import { subscribe } from '../ws.js';
import { parseHash } from '../lib/router.js';
import { StatusPill, ErrorText } from '../lib/ui.jsx';
import RunInspector from '../editor/RunInspector.jsx';

const STATUSES = ['running', 'waiting', 'succeeded', 'failed', 'cancelled'];

export default function Runs({ runId }) {
  const t = useT();
  const { lang } = useI18n();
  const q = parseHash().query;
  const [flow, setFlow] = useState(q.flow || '');
  const [status, setStatus] = useState(q.status || '');
  const [record, setRecord] = useState(q.record || '');
  const [recordDraft, setRecordDraft] = useState(q.record || '');
  const [flows, setFlows] = useState([]);
  const [st, setSt] = useState({ loading: true, runs: [] });
  const tick = useRef(0);

  useEffect(() => { api.get('/api/flows').then((d) => setFlows(asList(d, 'flows')), () => {}); }, []);

  const url = useMemo(() => {
    const p = new URLSearchParams();
    if (flow) p.set('flow', flow);
    if (status) p.set('status', status);
    if (/^[a-z_]+:.+/.test(record)) p.set('record', record);
    p.set('limit', '100');
    return `/api/runs?${p}`;
  }, [flow, status, record]);

  const flowName = useMemo(() => new Map(flows.map((f) => [f.id, f.name || f.id])), [flows]);

  async function older() {
    if (!st.next) return;
    try {
      const d = await api.get(`${url}&before=${enc(st.next)}`);
      setSt((o) => ({ ...o, runs: [...o.runs, ...asList(d, 'runs')], next: d && d.next_before }));
    } catch (error) { setSt((o) => ({ ...o, error })); }
  }

  useEffect(() => {
    let alive = true;
    const load = () => api.get(url).then((d) => alive && setSt({ runs: asList(d, 'runs'), next: d && d.next_before }), (error) => alive && setSt({ error, runs: [] }));
    load();
    // Live: any run event refreshes the list, at most every 700 ms.
    const unsub = subscribe('runs', () => {
      if (tick.current) return;
      tick.current = setTimeout(() => { tick.current = 0; load(); }, 700);
    });
    return () => { alive = false; unsub(); clearTimeout(tick.current); tick.current = 0; };
  }, [url]);

  return (
    <div className="runs-page" data-testid="runs-page">
      <div className="runs-list">
        <div className="page-head">
          <h1>{t('runs.title')}</h1>
          <div className="spacer" />
          <select value={flow} onChange={(e) => setFlow(e.target.value)} aria-label={t('runs.flow')} data-testid="runs-filter-flow">
            <option value="">{t('runs.flow')}: {t('common.all')}</option>
            {flows.map((f) => <option key={f.id} value={f.id}>{f.name || f.id}</option>)}
          </select>
          <form onSubmit={(e) => { e.preventDefault(); setRecord(recordDraft.trim()); }}>
            <input className="record-filter" value={recordDraft} onChange={(e) => setRecordDraft(e.target.value)} onBlur={() => setRecord(recordDraft.trim())}
              placeholder={t('runs.recordHint')} aria-label={t('runs.col.record')} data-testid="runs-filter-record" />
          </form>
          <select value={status} onChange={(e) => setStatus(e.target.value)} aria-label={t('runs.status')} data-testid="runs-filter-status">
            <option value="">{t('runs.status')}: {t('common.all')}</option>
            {STATUSES.map((s) => <option key={s} value={s}>{t(`status.${s}`)}</option>)}
          </select>
        </div>
        <ErrorText error={st.error} />
        {!st.loading && !st.error && !st.runs.length && <div className="empty">{t('runs.empty')}</div>}
        {st.runs.length > 0 && (
          <table className="grid">
            <thead><tr><th>{t('runs.col.id')}</th><th>{t('runs.col.flow')}</th><th>{t('runs.col.status')}</th><th>{t('runs.col.record')}</th><th>{t('runs.col.started')}</th><th>{t('runs.col.finished')}</th></tr></thead>
            <tbody>
              {st.runs.map((r) => (
                <tr key={r.id} className={`clickable${r.id === runId ? ' sel' : ''}`} onClick={() => { location.hash = `/runs/${enc(r.id)}`; }} data-testid="run-row" data-run-id={r.id}>
                  <td className="mono small">{r.id}</td>
                  <td>{r.flow_name || flowName.get(r.flow_id) || r.flow_id || r.flow}{r.test && <span className="pill small-pill">{t('runs.test')}</span>}</td>
                  <td><StatusPill status={r.status} /></td>
                  <td className="mono small">{r.record || ''}</td>
                  <td className="small">{fmtTime(lang, r.started_at || r.created_at)}</td>
                  <td className="small">{fmtTime(lang, r.finished_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {st.next && <button className="gap" onClick={older} data-testid="runs-older">{t('runs.loadMore')}</button>}
      </div>
      <div className="runs-detail">
        {runId ? <RunInspector key={runId} runId={runId} /> : <div className="muted pad">{t('runs.select')}</div>}
      </div>
    </div>
  );
}
