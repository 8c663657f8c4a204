// BottomPanel: the problems list (click → jump to the node) and the steps of the last test
// run / inspected run (click → select the node), under the canvas.
import { useT, useI18n, fmtTime } from '../i18n.js';
import { useStore } from '../lib/store.js';
import { StatusPill, JsonView } from '../lib/ui.jsx';
import { useEditor } from './context.js';
import Deliveries from './Deliveries.jsx';

export function ProblemsList({ onJump }) {
  const t = useT();
  const { session } = useEditor();
  const list = useStore(session.problemList);
  if (!list.length) return <div className="muted pad" data-testid="problems-none">{t('problems.none')}</div>;
  return (
    <ul className="problems" data-testid="problems-list">
      {list.map((p, i) => (
        <li key={i} className={`${p.severity}${p.node ? ' clickable' : ''}`} onClick={() => p.node && onJump(p.node)} data-testid="problem" data-node={p.node || ''}>
          <span className={`sev ${p.severity}`}>{p.severity === 'warning' ? '▲' : '●'}</span>
          <span className="mono small">{p.node || t('problems.flow')}</span>
          <span className="mono small muted">{p.code}</span>
          <span>{p.message}</span>
          {p.path && <span className="mono small muted">{p.path}</span>}
        </li>
      ))}
    </ul>
  );
}

export function problemCounts(list) {
  let e = 0; let w = 0;
  for (const p of list) if (p.severity === 'warning') w++; else e++;
  return { e, w };
}

export function RunSteps({ run, onJump, noHead }) {
  const t = useT();
  const { lang } = useI18n();
  if (!run) return null;
  const steps = Array.isArray(run.steps) ? run.steps : [];
  return (
    <div className="run-steps" data-testid="run-steps">
      {!noHead && <div className="run-head">
        <span className="strong">{t('test.result', { id: run.id || '', status: '' })}</span><StatusPill status={run.status} />
        {run.error && <span className="error small">{typeof run.error === 'string' ? run.error : JSON.stringify(run.error)}</span>}
      </div>}
      {!steps.length && <div className="muted">{t('test.noSteps')}</div>}
      <table className="grid compact">
        <thead><tr><th>{t('runs.step.node')}</th><th>{t('common.status')}</th><th>{t('runs.step.attempt')}</th><th>{t('runs.col.started')}</th><th>{t('runs.step.duration')}</th><th>{t('runs.step.output')}</th></tr></thead>
        <tbody>
          {steps.map((s, i) => {
            const d = s.started_at && s.finished_at ? new Date(s.finished_at) - new Date(s.started_at) : s.duration_ms;
            return (
              <tr key={i} className="clickable" onClick={() => onJump && onJump(s.node)} data-testid="run-step" data-node={s.node}>
                <td className="mono">{s.node}</td>
                <td><StatusPill status={s.status} /></td>
                <td>{s.attempt ?? ''}</td>
                <td className="small">{fmtTime(lang, s.started_at)}</td>
                <td className="small">{Number.isFinite(d) ? `${d} ms` : ''}</td>
                <td className="out-cell">
                  {s.error && <div className="error small">{typeof s.error === 'string' ? s.error : JSON.stringify(s.error)}</div>}
                  {s.output !== undefined && s.output !== null && <JsonView value={s.output} max={600} />}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <Deliveries runId={run.id} version={`${run.status}:${steps.length}`} />
    </div>
  );
}
