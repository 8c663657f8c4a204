// TemplateField: the `x-widget: template` editor — a text area, a picker that inserts
// {{path}} for any run-scope variable at the cursor, and a live preview rendered by the
// server (POST /api/templates/render) against the editor's sample scope.
import { useEffect, useMemo, useRef, useState } from 'react';
import { useT } from '../i18n.js';
import { api } from '../api.js';
import { useStore } from '../lib/store.js';
import { scopePaths } from '../model/sample.js';
import { useEditor } from './context.js';

export default function TemplateField({ value, onChange, multiline = true, maxLength }) {
  const t = useT();
  const { session } = useEditor();
  const sample = useStore(session.sample);
  const doc = useStore(session.store, (s) => s.doc);
  const paths = useMemo(() => scopePaths(sample, doc), [sample, doc]);
  const ref = useRef(null);
  const [preview, setPreview] = useState(null);
  const text = typeof value === 'string' ? value : value == null ? '' : JSON.stringify(value);

  useEffect(() => {
    if (!text) { setPreview(null); return undefined; }
    const ctl = new AbortController();
    const h = setTimeout(() => {
      api.post('/api/templates/render', { template: text, data: sample }, { signal: ctl.signal })
        .then((r) => setPreview({ text: r && typeof r.text === 'string' ? r.text : JSON.stringify(r) }),
          (e) => { if (e.name !== 'AbortError') setPreview({ error: e.message }); });
    }, 350);
    return () => { clearTimeout(h); ctl.abort(); };
  }, [text, sample]);

  function insert(p) {
    if (!p) return;
    const token = p.startsWith('#') ? p : `{{${p}}}`;
    const el = ref.current;
    const start = el ? el.selectionStart ?? text.length : text.length;
    const end = el ? el.selectionEnd ?? text.length : text.length;
    const next = text.slice(0, start) + token + text.slice(end);
    onChange(next);
    requestAnimationFrame(() => { if (el) { el.focus(); el.selectionStart = el.selectionEnd = start + token.length; } });
  }

  const common = { ref, value: text, onChange: (e) => onChange(e.target.value === '' ? undefined : e.target.value), spellCheck: false, 'data-widget': 'template' };
  return (
    <div className="tmpl" data-testid="template-field">
      {multiline ? <textarea rows={3} {...common} /> : <input type="text" {...common} />}
      <div className="tmpl-tools">
        <select value="" onChange={(e) => insert(e.target.value)} data-testid="tmpl-insert">
          <option value="">{t('tmpl.insert')}</option>
          {paths.map((p) => <option key={p} value={p}>{p}</option>)}
        </select>
        <span className={`muted small${maxLength && preview && preview.text && preview.text.length > maxLength ? ' over' : ''}`}>
          {preview && preview.text != null ? t('tmpl.chars', { n: preview.text.length }) : ''}
        </span>
      </div>
      {preview && (
        <div className="tmpl-preview" data-testid="tmpl-preview">
          {preview.error ? <span className="error small">{t('tmpl.previewError', { msg: preview.error })}</span> : <><span className="muted small">{t('tmpl.preview')}: </span>{preview.text}</>}
        </div>
      )}
    </div>
  );
}
