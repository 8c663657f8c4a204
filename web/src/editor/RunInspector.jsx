// RunInspector: one run (GET /api/runs/{id}) with its steps, event and error; cancel and
// retry; follows the run live over the websocket topic run:<id> while it is open.
import { useCallback, useEffect, useState } from 'react';
import { useT, useI18n, fmtTime } from '../i18n.js';
import { api, enc } from '../api.js';
import { subscribe } from '../ws.js';
import { StatusPill, JsonView, ErrorText, toast } from '../lib/ui.jsx';
import { navigate } from '../lib/router.js';
import { RunSteps } from './BottomPanel.jsx';

export default function RunInspector({ runId, onChanged }) {
  const t = useT();
  const { lang } = useI18n();
  const [st, setSt] = useState({ loading: true });
  const load = useCallback(() => api.get(`/api/runs/${enc(runId)}`).then((r) => setSt({ run: (r && r.run) || r }), (error) => setSt({ error })), [runId]);
  useEffect(() => { setSt({ loading: true }); load(); }, [load]);
  useEffect(() => {
    let timer = 0;
    const unsub = subscribe(`run:${runId}`, () => { clearTimeout(timer); timer = setTimeout(load, 150); });
    return () => { unsub(); clearTimeout(timer); };
  }, [runId, load]);

  async function act(what) {
    try {
      const r = await api.post(`/api/runs/${enc(runId)}/${what}`, {});
      if (what === 'retry') {
        const nid = r && (r.id || (r.run && r.run.id));
        toast(t('runs.retried', { id: nid || '' }), 'ok');
        if (nid && nid !== runId) navigate(`/runs/${enc(nid)}`);
      } else toast(t('runs.cancelled'), 'ok');
      load();
      if (onChanged) onChanged();
    } catch (e) { toast(t('common.error', { msg: e.message }), 'error'); }
  }

  if (st.loading) return <div className="muted pad">{t('common.loading')}</div>;
  if (st.error) return <ErrorText error={st.error} />;
  const run = st.run || {};
  const flowId = run.flow_id || (typeof run.flow === 'string' ? run.flow : run.flow && run.flow.id);
  const live = run.status === 'running' || run.status === 'waiting';
  return (
    <div className="inspector" data-testid="run-inspector">
      <div className="page-head">
        <h2>{t('runs.inspector', { id: run.id || runId })}</h2>
        <StatusPill status={run.status} />
        <div className="spacer" />
        {flowId && typeof flowId === 'string' && <a className="button" href={`#/flows/${enc(flowId)}?run=${enc(run.id ?? runId)}`}>{t('runs.openFlow')}</a>}
        <button onClick={() => act('cancel')} disabled={!live} data-testid="run-cancel">{t('runs.cancel')}</button>
        <button onClick={() => act('retry')} disabled={live} data-testid="run-retry">{t('runs.retry')}</button>
      </div>
      <div className="kv">
        <div><span className="muted">{t('runs.col.flow')}</span> {String(flowId || '')} {run.test ? <span className="pill">{t('runs.test')}</span> : run.flow_version != null && `v${run.flow_version}`}</div>
        {run.record && <div><span className="muted">{t('runs.col.record')}</span> <span className="mono">{String(run.record)}</span></div>}
        {run.reason && <div><span className="muted">{t('runs.reason')}</span> {String(run.reason)}</div>}
        <div><span className="muted">{t('runs.col.started')}</span> {fmtTime(lang, run.started_at || run.created_at)}</div>
        <div><span className="muted">{t('runs.col.finished')}</span> {fmtTime(lang, run.finished_at)}</div>
        {run.error && <div className="error">{typeof run.error === 'string' ? run.error : JSON.stringify(run.error)}</div>}
      </div>
      <RunSteps run={run} noHead />
      {run.event && <details><summary>{t('runs.event')}</summary><JsonView value={run.event} /></details>}
    </div>
  );
}
