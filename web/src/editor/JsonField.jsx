// JsonField: a raw JSON text editor that keeps the text while it does not parse and shows
// the parse error; the value changes only when the text is valid JSON (or empty → undefined).
import { useEffect, useState } from 'react';
import { useT } from '../i18n.js';

/* Raw JSON editor: keeps the text while it does not parse, reports the parse error. */
export default function JsonField({ value, onChange, rows = 4, testid }) {
  const t = useT();
  const fmt = (v) => (v === undefined ? '' : JSON.stringify(v, null, 2));
  const [text, setText] = useState(() => fmt(value));
  const [err, setErr] = useState(null);
  useEffect(() => {
    let same = false;
    try { same = text.trim() !== '' && JSON.stringify(JSON.parse(text)) === JSON.stringify(value); } catch { /* keep */ }
    if (!same && !(text.trim() === '' && value === undefined)) { setText(fmt(value)); setErr(null); }
  }, [value]); // eslint-disable-line
  return (
    <>
      <textarea className="code" rows={rows} value={text} spellCheck={false} data-testid={testid}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value.trim() === '') { setErr(null); onChange(undefined); return; }
          try { const v = JSON.parse(e.target.value); setErr(null); onChange(v); } catch (x) { setErr(x.message); }
        }} />
      {err && <div className="error small">{t('panel.invalidJson', { msg: err })}</div>}
    </>
  );
}

