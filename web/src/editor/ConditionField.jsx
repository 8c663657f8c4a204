// ConditionField: the `x-widget: condition` editor. Three ways to write one condition:
// a visual rule builder (field / operator / value rows in AND/OR groups), raw JSON Logic,
// or an Odoo domain ({"domain": [...]}). "Test" sends it with sample data to
// POST /api/conditions/eval so the server — the authority on semantics — says the result.
import { useState } from 'react';
import { useT } from '../i18n.js';
import { api } from '../api.js';
import { useStore } from '../lib/store.js';
import { fromLogic, toLogic, OPS, parseValue, showValue, parseList } from '../model/condition.js';
import JsonField from './JsonField.jsx';
import { useEditor } from './context.js';

function isDomain(v) { return v && typeof v === 'object' && !Array.isArray(v) && Array.isArray(v.domain); }

function Rule({ rule, onChange, onRemove, fields }) {
  const t = useT();
  const noValue = rule.op === 'truthy' || rule.op === 'falsy';
  const isList = rule.op === 'in' || rule.op === '!in';
  return (
    <div className="cond-rule" data-testid="cond-rule">
      <input className="cond-field" list="flowd-scope-paths" value={rule.field} placeholder={t('cond.field')} onChange={(e) => onChange({ ...rule, field: e.target.value })} />
      <select className="cond-op" value={rule.op} onChange={(e) => onChange({ ...rule, op: e.target.value, value: ['in', '!in'].includes(e.target.value) ? (Array.isArray(rule.value) ? rule.value : rule.value === '' ? [] : [rule.value]) : Array.isArray(rule.value) ? (rule.value[0] ?? '') : rule.value })}>
        {OPS.map((o) => <option key={o} value={o}>{t(`op.${o}`)}</option>)}
      </select>
      {!noValue && (
        <ValueInput key={`${rule.op}`} value={rule.value} list={isList} onChange={(v) => onChange({ ...rule, value: v })} placeholder={isList ? 'a, b, c' : t('cond.value')} />
      )}
      <button type="button" className="icon" onClick={onRemove} title={t('common.remove')}>×</button>
      {fields}
    </div>
  );
}

function ValueInput({ value, list, onChange, placeholder }) {
  const [text, setText] = useState(() => showValue(value));
  return <input className="cond-value" value={text} placeholder={placeholder} onChange={(e) => { setText(e.target.value); onChange(list ? parseList(e.target.value) : parseValue(e.target.value)); }} />;
}

function Group({ group, onChange, onRemove, depth }) {
  const t = useT();
  const set = (i, x) => onChange({ ...group, items: group.items.map((y, j) => (j === i ? x : y)) });
  const del = (i) => onChange({ ...group, items: group.items.filter((_, j) => j !== i) });
  return (
    <div className={`cond-group depth-${depth}`} data-testid="cond-group">
      <div className="cond-group-head">
        <select value={group.op} onChange={(e) => onChange({ ...group, op: e.target.value })} data-testid="cond-group-op">
          <option value="and">{t('cond.all')}</option>
          <option value="or">{t('cond.any')}</option>
        </select>
        {onRemove && <button type="button" className="icon" onClick={onRemove} title={t('common.remove')}>×</button>}
      </div>
      {group.items.map((x, i) => (x.kind === 'group'
        ? <Group key={i} group={x} depth={depth + 1} onChange={(y) => set(i, y)} onRemove={() => del(i)} />
        : <Rule key={i} rule={x} onChange={(y) => set(i, y)} onRemove={() => del(i)} />))}
      <div className="cond-add">
        <button type="button" className="small" data-testid="cond-add-rule" onClick={() => onChange({ ...group, items: [...group.items, { kind: 'rule', field: '', op: '==', value: '' }] })}>+ {t('cond.addRule')}</button>
        {depth < 3 && <button type="button" className="small" onClick={() => onChange({ ...group, items: [...group.items, { kind: 'group', op: group.op === 'and' ? 'or' : 'and', items: [] }] })}>+ {t('cond.addGroup')}</button>}
      </div>
    </div>
  );
}

function ConditionTest({ value }) {
  const t = useT();
  const { session } = useEditor();
  const sample = useStore(session.sample);
  const [open, setOpen] = useState(false);
  const [data, setData] = useState(sample);
  const [res, setRes] = useState(null);
  async function run() {
    setRes({ busy: true });
    try {
      const r = await api.post('/api/conditions/eval', { when: value === undefined ? true : value, data });
      setRes({ value: r && 'result' in r ? r.result : r });
    } catch (e) { setRes({ error: e.message }); }
  }
  return (
    <div className="cond-test">
      <button type="button" className="small" onClick={() => { setOpen(!open); if (!open) setData(session.sample.get()); }} data-testid="cond-test-toggle">{t('cond.test')}</button>
      {open && (
        <div className="cond-test-body">
          <label className="field-label">{t('cond.sample')}</label>
          <JsonField value={data} onChange={(v) => setData(v)} rows={6} testid="cond-sample" />
          <button type="button" className="primary small" onClick={run} data-testid="cond-test-run">{t('cond.test')}</button>
          {res && res.busy && <span className="muted small"> …</span>}
          {res && 'value' in res && <div className={`cond-result r-${String(!!res.value)}`} data-testid="cond-result">{t('cond.result', { r: JSON.stringify(res.value) })}</div>}
          {res && res.error && <div className="error small">{res.error}</div>}
        </div>
      )}
    </div>
  );
}

export default function ConditionField({ value, onChange }) {
  const t = useT();
  const parsed = isDomain(value) ? null : fromLogic(value);
  const [mode, setMode] = useState(() => (isDomain(value) ? 'domain' : parsed ? 'visual' : 'jsonlogic'));
  // The builder keeps its own model so half-written rules (empty field) survive re-renders.
  const [model, setModel] = useState(() => parsed || { kind: 'group', op: 'and', items: [] });
  const [lastEmitted, setLastEmitted] = useState(value);
  if (mode === 'visual' && value !== lastEmitted) {
    // The value changed from outside (undo, raw edit): rebuild the model when we can.
    const p = isDomain(value) ? null : fromLogic(value);
    setLastEmitted(value);
    if (p) setModel(p); else setMode(isDomain(value) ? 'domain' : 'jsonlogic');
  }
  const emit = (v) => { setLastEmitted(v); onChange(v); };
  const switchMode = (m) => {
    if (m === 'visual') {
      const p = isDomain(value) ? null : fromLogic(value);
      if (!p) { alert(t('cond.notVisual')); return; }
      setModel(p);
    }
    if (m === 'domain' && !isDomain(value)) emit({ domain: [] });
    if (m !== 'domain' && isDomain(value)) emit(undefined);
    setMode(m);
  };
  return (
    <div className="cond" data-testid="condition-field">
      <div className="seg">
        {['visual', 'jsonlogic', 'domain'].map((m) => (
          <button type="button" key={m} className={mode === m ? 'on' : ''} onClick={() => switchMode(m)} data-testid={`cond-mode-${m}`}>{t(`cond.${m}`)}</button>
        ))}
      </div>
      {mode === 'visual' && (
        <>
          <Group group={model} depth={0} onChange={(g) => { setModel(g); emit(toLogic(g)); }} />
          {!model.items.length && <div className="muted small">{t('cond.empty')}</div>}
        </>
      )}
      {mode === 'jsonlogic' && <JsonField value={value} onChange={emit} rows={6} testid="cond-json" />}
      {mode === 'domain' && (
        <JsonField value={isDomain(value) ? value.domain : []} onChange={(v) => emit(v === undefined ? { domain: [] } : { domain: v })} rows={5} testid="cond-domain" />
      )}
      <ConditionTest value={value} />
    </div>
  );
}
