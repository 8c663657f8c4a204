// Small shared view pieces: modal, toast, status pill, JSON view. No UI framework.
import { useEffect, useState, useCallback } from 'react';
import { createStore, useStore } from './store.js';
import { useT, useI18n, LANGS } from '../i18n.js';

export function Modal({ title, onClose, children, footer, wide, testid }) {
  useEffect(() => {
    const k = (e) => { if (e.key === 'Escape') onClose && onClose(); };
    window.addEventListener('keydown', k);
    return () => window.removeEventListener('keydown', k);
  }, [onClose]);
  return (
    <div className="modal-backdrop" onMouseDown={(e) => { if (e.target === e.currentTarget && onClose) onClose(); }}>
      <div className={`modal${wide ? ' wide' : ''}`} role="dialog" aria-label={title} data-testid={testid}>
        <div className="modal-head"><h2>{title}</h2>{onClose && <button className="icon" onClick={onClose} aria-label="×">×</button>}</div>
        <div className="modal-body">{children}</div>
        {footer && <div className="modal-foot">{footer}</div>}
      </div>
    </div>
  );
}

const toasts = createStore([]);
let toastSeq = 0;
export function toast(text, kind = 'info', ms = 4000) {
  const id = ++toastSeq;
  toasts.set((l) => [...l, { id, text, kind }]);
  setTimeout(() => toasts.set((l) => l.filter((x) => x.id !== id)), ms);
}
export function Toasts() {
  const list = useStore(toasts);
  return <div className="toasts">{list.map((x) => <div key={x.id} className={`toast ${x.kind}`} role="status">{x.text}</div>)}</div>;
}

export function StatusPill({ status }) {
  const t = useT();
  if (!status) return <span className="muted">—</span>;
  return <span className={`pill st-${status}`}>{t(`status.${status}`)}</span>;
}

export function JsonView({ value, max = 4000 }) {
  let s;
  try { s = JSON.stringify(value, null, 2); } catch { s = String(value); }
  if (s === undefined) s = 'null';
  if (s.length > max) s = `${s.slice(0, max)}\n…`;
  return <pre className="json">{s}</pre>;
}

/* Load data from an async function; returns {data, error, loading, reload}. */
export function useLoad(fn, deps) {
  const [st, setSt] = useState({ data: null, error: null, loading: true });
  const load = useCallback(() => {
    let alive = true;
    setSt((s) => ({ ...s, loading: true }));
    fn().then((data) => alive && setSt({ data, error: null, loading: false }),
      (error) => alive && setSt({ data: null, error, loading: false }));
    return () => { alive = false; };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => load(), [load]);
  return { ...st, reload: load };
}

export function download(name, obj) {
  const blob = new Blob([JSON.stringify(obj, null, 2)], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

export function ErrorText({ error }) {
  const t = useT();
  if (!error) return null;
  return <div className="error" role="alert">{t('common.error', { msg: error.message || String(error) })}</div>;
}

export function LangSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <select className="lang" aria-label={t('lang.label')} value={lang} onChange={(e) => setLang(e.target.value)} data-testid="lang">
      {LANGS.map((l) => <option key={l.code} value={l.code}>{l.label}</option>)}
    </select>
  );
}
