// Editor dialogs: save conflict (409), test run event, versions, keyboard shortcuts.
import { useEffect, useState } from 'react';
import { useT, useI18n, fmtTime } from '../i18n.js';
import { api, asList, enc } from '../api.js';
import { Modal, ErrorText } from '../lib/ui.jsx';
import JsonField from './JsonField.jsx';

export function ConflictDialog({ details, onReload, onOverwrite, onClose }) {
  const t = useT();
  const { lang } = useI18n();
  const d = details || {};
  const who = d.updated_by ? (typeof d.updated_by === 'object' ? d.updated_by.name || d.updated_by.email || d.updated_by.id : d.updated_by) : t('conflict.someone');
  return (
    <Modal title={t('conflict.title')} onClose={onClose} testid="conflict-dialog"
      footer={<>
        <button onClick={onClose}>{t('common.cancel')}</button>
        <button onClick={onReload} data-testid="conflict-reload">{t('conflict.reload')}</button>
        <button className="danger" onClick={onOverwrite} data-testid="conflict-overwrite">{t('conflict.overwrite')}</button>
      </>}>
      <p data-testid="conflict-message">{t('conflict.body', { who, rev: d.revision ?? '?', at: fmtTime(lang, d.updated_at) || '?' })}</p>
    </Modal>
  );
}

export function TestDialog({ initial, onRun, onClose, busy }) {
  const t = useT();
  const [ev, setEv] = useState(initial);
  return (
    <Modal title={t('test.title')} onClose={onClose} wide testid="test-dialog"
      footer={<>
        <button onClick={onClose}>{t('common.cancel')}</button>
        <button className="primary" disabled={busy || !ev} onClick={() => onRun(ev)} data-testid="test-run">{busy ? t('test.running') : t('test.run')}</button>
      </>}>
      <p className="hint">{t('test.hint')}</p>
      <label className="field-label">{t('test.event')}</label>
      <JsonField value={ev} onChange={setEv} rows={16} testid="test-event" />
    </Modal>
  );
}

export function VersionsDialog({ flowId, activeVersion, onActivate, onLoad, onClose }) {
  const t = useT();
  const { lang } = useI18n();
  const [st, setSt] = useState({ loading: true });
  useEffect(() => {
    api.get(`/api/flows/${enc(flowId)}/versions`).then((d) => setSt({ list: asList(d, 'versions'), active: d && d.active_version }), (error) => setSt({ error }));
  }, [flowId]);
  return (
    <Modal title={t('versions.title')} onClose={onClose} wide testid="versions-dialog">
      <ErrorText error={st.error} />
      {st.loading && <div className="muted">{t('common.loading')}</div>}
      {st.list && !st.list.length && <div className="muted">{t('versions.none')}</div>}
      {st.list && st.list.length > 0 && (
        <table className="grid">
          <thead><tr><th>{t('versions.col.v')}</th><th>{t('versions.col.at')}</th><th>{t('versions.col.by')}</th><th /></tr></thead>
          <tbody>
            {st.list.map((v) => {
              const n = v.version ?? v.n ?? v.number;
              const cur = st.active !== undefined ? st.active : activeVersion;
              const active = v.active === true || (cur != null && Number(cur) === Number(n));
              return (
                <tr key={n} data-testid="version-row">
                  <td>v{n} {active && <span className="pill st-succeeded">{t('versions.active')}</span>}</td>
                  <td className="small">{fmtTime(lang, v.published_at || v.created_at)}</td>
                  <td className="small">{typeof v.published_by === 'object' && v.published_by ? v.published_by.name || v.published_by.id : v.published_by || v.created_by || ''}</td>
                  <td className="actions">
                    {!active && <button onClick={() => onActivate(n)}>{t('versions.activate')}</button>}
                    <button onClick={() => onLoad(n)} data-testid="version-load">{t('versions.view')}</button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Modal>
  );
}

const t2 = (k) => k; // the key column is translated where it is shown
export const SHORTCUTS = [
  ['Ctrl+S', 'keys.save'], ['Ctrl+Z', 'keys.undo'], ['Ctrl+Shift+Z / Ctrl+Y', 'keys.redo'],
  ['Ctrl+C', 'keys.copy'], ['Ctrl+X', 'keys.cut'], ['Ctrl+V', 'keys.paste'], ['Ctrl+D', 'keys.duplicate'], ['Ctrl+A', 'keys.selectAll'],
  ['Esc', 'keys.deselect'], ['/', 'keys.search'],
  ['Delete / Backspace', 'keys.delete'], ['F', 'keys.fit'], ['Shift+L', 'keys.tidy'],
  ['Shift+drag, Ctrl+click', 'keys.multi'], [t2('keys.dblclick'), 'keys.quickAdd'], ['?', 'keys.help'],
];

export function ShortcutsDialog({ onClose }) {
  const t = useT();
  return (
    <Modal title={t('keys.title')} onClose={onClose}>
      <table className="grid compact">
        <tbody>{SHORTCUTS.map(([k, l]) => <tr key={k}><td><kbd>{k.startsWith('keys.') ? t(k) : k}</kbd></td><td>{t(l)}</td></tr>)}</tbody>
      </table>
    </Modal>
  );
}
