// Deliveries: the outbound messages of one run (GET /api/deliveries?run=<id>): SMS, e-mail,
// calls, chat, HTTP — for a test run they are recorded, not sent, which is exactly what a
// user wants to check before publishing.
import { useEffect, useState } from 'react';
import { useT } from '../i18n.js';
import { api, asList, enc } from '../api.js';
import { StatusPill } from '../lib/ui.jsx';

export default function Deliveries({ runId, version }) {
  const t = useT();
  const [list, setList] = useState(null);
  useEffect(() => {
    if (runId == null) return undefined;
    let alive = true;
    api.get(`/api/deliveries?run=${enc(runId)}`).then((d) => alive && setList(asList(d, 'deliveries')), () => alive && setList(null));
    return () => { alive = false; };
  }, [runId, version]);
  if (!list || !list.length) return null;
  return (
    <div className="deliveries" data-testid="deliveries">
      <div className="strong">{t('deliveries.title')}</div>
      <table className="grid compact">
        <thead><tr><th>{t('runs.step.node')}</th><th>{t('deliveries.channel')}</th><th>{t('deliveries.to')}</th><th>{t('deliveries.body')}</th><th>{t('common.status')}</th></tr></thead>
        <tbody>
          {list.map((d) => (
            <tr key={d.id} data-testid="delivery">
              <td className="mono small">{d.node_id}</td>
              <td>{d.channel}{d.provider ? <span className="muted small"> · {d.provider}</span> : null}</td>
              <td className="mono small">{d.to}</td>
              <td className="small">{d.subject && <div className="strong">{d.subject}</div>}<div className="pre">{d.body}</div>{d.error && <div className="error small">{String(d.error)}</div>}</td>
              <td><StatusPill status={d.status} />{d.test && <span className="pill small-pill">{t('runs.test')}</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
