// SchemaForm: a node's configuration form, generated from the JSON Schema the server gives
// for its type (the server's validation stays the authority; this only helps to write it).
// Supported: string, number/integer, boolean, enum → select, const, object → fieldset
// (properties, additionalProperties → key/value rows), array → repeatable list,
// oneOf/anyOf and type unions → a choice, local $ref. `x-widget` hints pick special editors:
// condition, template, staff, team, provider, duration, cron. Anything else: raw JSON.
import { memo, useEffect, useState } from 'react';
import { useT } from '../i18n.js';
import { resolveRef, defaultConfig } from '../model/registry.js';
import ConditionField from './ConditionField.jsx';
import TemplateField from './TemplateField.jsx';
import { useList, itemLabel } from './pickers.js';
import JsonField from './JsonField.jsx';

export { JsonField };

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (Number.isInteger(v)) return 'integer';
  return typeof v;
}

function typeMatches(t, v) {
  const vt = typeOf(v);
  if (t === vt) return true;
  if (t === 'number' && vt === 'integer') return true;
  return false;
}

/* Does a value plausibly belong to this (sub)schema? Used to pick the active oneOf branch. */
export function fits(schema, root, v) {
  const s = resolveRef(schema, root) || {};
  if (v === undefined) return false;
  if (s.const !== undefined) return JSON.stringify(s.const) === JSON.stringify(v);
  if (s.enum) return s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v));
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : s.properties ? ['object'] : null;
  if (types && !types.some((t) => typeMatches(t, v))) return false;
  if (typeOf(v) === 'object') {
    for (const r of s.required || []) if (!(r in v)) return false;
    for (const [k, sub] of Object.entries(s.properties || {})) {
      const rs = resolveRef(sub, root);
      if (rs && rs.const !== undefined && k in v && JSON.stringify(rs.const) !== JSON.stringify(v[k])) return false;
    }
    if (s.additionalProperties === false && s.properties) for (const k of Object.keys(v)) if (!(k in s.properties)) return false;
  }
  if (s.oneOf || s.anyOf) return (s.oneOf || s.anyOf).some((x) => fits(x, root, v));
  return true;
}

function labelOf(s, key) { return (s && s.title) || key || ''; }

function Label({ text, required, hint, children, wide }) {
  return (
    <div className={`field${wide ? ' wide' : ''}`}>
      {text && <label className="field-label">{text}{required && <span className="req">*</span>}</label>}
      {children}
      {hint && <div className="hint">{hint}</div>}
    </div>
  );
}

/* A text input that commits on every keystroke but keeps its own draft for numbers. */
function NumberInput({ value, onChange, integer, ...rest }) {
  const [text, setText] = useState(value == null ? '' : String(value));
  useEffect(() => { if (String(value ?? '') !== text && Number(text) !== value) setText(value == null ? '' : String(value)); }, [value]); // eslint-disable-line
  return (
    <input type="number" step={integer ? 1 : 'any'} value={text} {...rest}
      onChange={(e) => {
        setText(e.target.value);
        if (e.target.value === '') onChange(undefined);
        else { const n = Number(e.target.value); if (Number.isFinite(n)) onChange(integer ? Math.trunc(n) : n); }
      }} />
  );
}

/* "Template or JSON" values (set.values, update_record.set): text; JSON if it parses as a
 * number, boolean, null, array or object; otherwise the text itself (a template). */
function LooseValue({ value, onChange }) {
  const show = (v) => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));
  const [text, setText] = useState(() => show(value));
  useEffect(() => { if (show(value) !== text) setText(show(value)); }, [value]); // eslint-disable-line
  return (
    <input type="text" value={text} onChange={(e) => {
      const s = e.target.value;
      setText(s);
      let v = s;
      if (/^\s*(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null|\[.*\]|\{.*\})\s*$/s.test(s)) { try { v = JSON.parse(s); } catch { v = s; } }
      onChange(v);
    }} />
  );
}

function Picker({ kind, value, onChange, multiple }) {
  const t = useT();
  const { items, error } = useList(kind);
  if (error || (!items && multiple)) {
    if (multiple) return <input type="text" value={(value || []).join(', ')} placeholder={t('picker.loadFailed')} onChange={(e) => onChange(e.target.value.split(',').map((x) => x.trim()).filter(Boolean))} />;
    return <input type="text" value={value ?? ''} placeholder={t('picker.loadFailed')} onChange={(e) => onChange(e.target.value || undefined)} />;
  }
  const list = items || [];
  if (multiple) {
    const cur = new Set(Array.isArray(value) ? value : []);
    return (
      <div className="checks" data-widget={kind}>
        {list.map((x) => (
          <label key={x.id} className="check">
            <input type="checkbox" checked={cur.has(x.id)} onChange={(e) => {
              const next = new Set(cur);
              if (e.target.checked) next.add(x.id); else next.delete(x.id);
              onChange([...next]);
            }} />{itemLabel(x)}
          </label>
        ))}
      </div>
    );
  }
  // A free input with suggestions: these fields also take templates ({{customer.owner_id}}).
  const listId = `pick-${kind}`;
  return (
    <>
      <input type="text" list={listId} value={value ?? ''} placeholder={t('form.choose')} onChange={(e) => onChange(e.target.value || undefined)} data-widget={kind} />
      <datalist id={listId}>{list.map((x) => <option key={x.id} value={x.id}>{itemLabel(x)}</option>)}</datalist>
    </>
  );
}

function ObjectField({ schema, root, value, onChange, label, required, path, depth, forceOpen }) {
  const t = useT();
  const v = value && typeof value === 'object' && !Array.isArray(value) ? value : {};
  const props = schema.properties || {};
  const req = new Set(schema.required || []);
  const set = (k, x) => {
    const next = { ...v };
    if (x === undefined) delete next[k]; else next[k] = x;
    onChange(Object.keys(next).length || value !== undefined ? next : undefined);
  };
  const extraSchema = schema.additionalProperties;
  const extras = Object.keys(v).filter((k) => !(k in props));
  const allowExtra = extraSchema !== false && (extraSchema !== undefined || !Object.keys(props).length);
  const body = (
    <>
      {Object.entries(props).map(([k, sub]) => (
        <SchemaField key={k} name={k} schema={sub} root={root} value={v[k]} required={req.has(k)}
          onChange={(x) => set(k, x)} path={`${path}/${k}`} depth={depth + 1} />
      ))}
      {allowExtra && (
        <MapRows entries={extras.map((k) => [k, v[k]])} valueSchema={typeof extraSchema === 'object' ? extraSchema : null} root={root}
          onChange={(pairs) => {
            const next = {};
            for (const k of Object.keys(v)) if (k in props) next[k] = v[k];
            for (const [k, x] of pairs) next[k] = x;
            onChange(next);
          }} path={path} depth={depth} />
      )}
      {!Object.keys(props).length && !allowExtra && <div className="muted small">{t('form.empty')}</div>}
    </>
  );
  if (depth === 0) return body;
  return <Collapsible label={label} required={required} description={schema.description} path={path} initiallyOpen={forceOpen || required || Object.keys(v).length > 0}>{body}</Collapsible>;
}

/* An optional nested object starts folded while it is empty, so long forms (assign,
 * robocall) show what is set and stay short. */
function Collapsible({ label, required, description, path, initiallyOpen, children }) {
  const [open, setOpen] = useState(initiallyOpen);
  return (
    <fieldset className={`obj${open ? '' : ' folded'}`} data-path={path}>
      <legend><button type="button" className="fold" onClick={() => setOpen(!open)} aria-expanded={open}>{open ? '▾' : '▸'} {label}</button>{required && <span className="req">*</span>}</legend>
      {open && description && <div className="hint">{description}</div>}
      {open && children}
    </fieldset>
  );
}

function MapRows({ entries, valueSchema, root, onChange, path, depth }) {
  const t = useT();
  const [rows, setRows] = useState(entries);
  useEffect(() => {
    // Adopt outside changes (undo) but keep a row whose key is still being typed.
    const a = JSON.stringify(entries);
    const b = JSON.stringify(rows.filter(([k]) => k !== ''));
    if (a !== b) setRows(entries);
  }, [JSON.stringify(entries)]); // eslint-disable-line
  const commit = (next) => { setRows(next); onChange(next.filter(([k]) => k !== '')); };
  return (
    <div className="map-rows">
      {rows.map(([k, x], i) => (
        <div className="map-row" key={i}>
          <input className="map-key" value={k} placeholder={t('form.key')} onChange={(e) => commit(rows.map((r, j) => (j === i ? [e.target.value, r[1]] : r)))} />
          <div className="map-val">
            {valueSchema ? (
              <SchemaField schema={valueSchema} root={root} value={x} onChange={(y) => commit(rows.map((r, j) => (j === i ? [r[0], y] : r)))} path={`${path}/${k}`} depth={depth + 1} bare />
            ) : (
              <LooseValue value={x} onChange={(y) => commit(rows.map((r, j) => (j === i ? [r[0], y] : r)))} />
            )}
          </div>
          <button type="button" className="icon" title={t('common.remove')} onClick={() => commit(rows.filter((_, j) => j !== i))}>×</button>
        </div>
      ))}
      <button type="button" className="small" onClick={() => setRows([...rows, ['', '']])}>+ {t('form.addKey')}</button>
    </div>
  );
}

function ArrayField({ schema, root, value, onChange, label, required, path, depth }) {
  const t = useT();
  const list = Array.isArray(value) ? value : [];
  const items = resolveRef(schema.items || {}, root) || {};
  const widget = schema['x-widget'] || items['x-widget'];
  if (widget === 'staff' || widget === 'team' || widget === 'provider' || widget === 'teams') {
    return <Label text={label} required={required} hint={schema.description}><Picker kind={widget} value={list} onChange={onChange} multiple /></Label>;
  }
  if (items.enum) {
    const cur = new Set(list);
    return (
      <Label text={label} required={required} hint={schema.description}>
        <div className="checks">{items.enum.map((e) => (
          <label key={String(e)} className="check"><input type="checkbox" checked={cur.has(e)} onChange={(ev) => {
            onChange(ev.target.checked ? [...list, e] : list.filter((x) => x !== e));
          }} />{String(e)}</label>))}
        </div>
      </Label>
    );
  }
  const simple = ['string', 'number', 'integer'].includes(items.type) && !items['x-widget'];
  const add = () => {
    const d = defaultConfig(items, root);
    onChange([...list, d !== undefined ? d : items.type === 'string' ? '' : items.type === 'number' || items.type === 'integer' ? 0 : items.type === 'object' || items.properties ? {} : null]);
  };
  const move = (i, d) => { const n = [...list]; const [x] = n.splice(i, 1); n.splice(i + d, 0, x); onChange(n); };
  return (
    <fieldset className={`arr${simple ? ' simple' : ''}`} data-path={path}>
      <legend>{label}{required && <span className="req">*</span>}</legend>
      {schema.description && <div className="hint">{schema.description}</div>}
      {list.map((x, i) => (
        <div className="arr-item" key={i} data-testid="array-item">
          <div className="arr-item-body">
            <SchemaField schema={items} root={root} value={x} name={simple ? '' : `#${i + 1}`} forceOpen
              onChange={(y) => onChange(list.map((z, j) => (j === i ? y : z)))} path={`${path}/${i}`} depth={depth + 1} bare={simple} />
          </div>
          <div className="arr-item-tools">
            <button type="button" className="icon" disabled={i === 0} onClick={() => move(i, -1)} title="↑">↑</button>
            <button type="button" className="icon" disabled={i === list.length - 1} onClick={() => move(i, 1)} title="↓">↓</button>
            <button type="button" className="icon" onClick={() => onChange(list.filter((_, j) => j !== i))} title={t('common.remove')}>×</button>
          </div>
        </div>
      ))}
      <button type="button" className="small" onClick={add} data-testid="array-add">+ {t('form.addItem')}</button>
    </fieldset>
  );
}

function ChoiceField({ options, root, value, onChange, label, required, path, depth, description }) {
  const t = useT();
  const idx = value === undefined ? -1 : options.findIndex((o) => fits(o, root, value));
  const [chosen, setChosen] = useState(idx);
  const cur = idx >= 0 ? idx : chosen;
  const optLabel = (o, i) => {
    const r = resolveRef(o, root) || {};
    return r.title || (r.const !== undefined ? String(r.const) : Array.isArray(r.type) ? r.type.join('/') : r.type) || (r.required ? r.required.join('+') : `#${i + 1}`);
  };
  return (
    <fieldset className="choice" data-path={path}>
      <legend>{label}{required && <span className="req">*</span>}</legend>
      {description && <div className="hint">{description}</div>}
      <select value={cur} onChange={(e) => {
        const i = Number(e.target.value);
        setChosen(i);
        if (i < 0) { onChange(undefined); return; }
        const r = resolveRef(options[i], root) || {};
        const d = defaultConfig(r, root);
        onChange(d !== undefined ? d : r.const !== undefined ? r.const : r.type === 'string' ? '' : r.type === 'number' || r.type === 'integer' ? 0 : r.type === 'boolean' ? false : r.type === 'array' ? [] : {});
      }}>
        <option value={-1}>{t('form.unset')}</option>
        {options.map((o, i) => <option key={i} value={i}>{optLabel(o, i)}</option>)}
      </select>
      {cur >= 0 && (() => {
        const r = resolveRef(options[cur], root) || {};
        if (r.const !== undefined) return null;
        return <SchemaField schema={r} root={root} value={value} onChange={onChange} path={path} depth={depth} bare name="" />;
      })()}
    </fieldset>
  );
}

export const SchemaField = memo(function SchemaField({ schema: raw, root, value, onChange, name, required, path = '', depth = 0, bare, forceOpen }) {
  const t = useT();
  const schema = resolveRef(raw, root) || {};
  const label = bare ? '' : labelOf(schema, name);
  const hint = bare ? null : schema.description;
  const widget = schema['x-widget'];
  const props = { schema, root, value, onChange, label, required, path, depth, forceOpen };

  if (widget === 'condition') return <Label text={label} required={required} hint={hint} wide><ConditionField value={value} onChange={onChange} path={path} /></Label>;
  if (widget === 'template') return <Label text={label} required={required} hint={hint} wide><TemplateField value={value} onChange={onChange} multiline={schema.format !== 'line' && (schema.maxLength == null || schema.maxLength > 120)} maxLength={schema.maxLength} path={path} /></Label>;
  if (widget === 'staff' || widget === 'team' || widget === 'teams' || widget === 'provider') {
    if (schema.type === 'array') return <ArrayField {...props} />;
    if (value !== undefined && typeof value !== 'string') return <Label text={label} required={required} hint={hint}><JsonField value={value} onChange={onChange} /></Label>;
    return <Label text={label} required={required} hint={hint}><Picker kind={widget} value={value} onChange={onChange} /></Label>;
  }
  if (widget === 'duration' || widget === 'cron') {
    return (
      <Label text={label} required={required} hint={hint || t(widget === 'cron' ? 'form.cronHint' : 'form.durationHint')}>
        <input type="text" value={value ?? ''} placeholder={widget === 'cron' ? '0 9 * * 1-5' : '15m'} onChange={(e) => onChange(e.target.value || undefined)}
          className={widget === 'duration' && value && !/^(\d+[smhdw])+$/.test(value) ? 'invalid' : ''} data-widget={widget} />
      </Label>
    );
  }
  const alts = schema.oneOf || schema.anyOf;
  if (alts && !schema.properties) return <ChoiceField {...props} options={alts} description={hint} />;
  if (Array.isArray(schema.type)) {
    const opts = schema.type.filter((x) => x !== 'null').map((ty) => ({ ...schema, type: ty, title: ty }));
    if (opts.length === 1) return <SchemaField {...props} schema={opts[0]} name={name} bare={bare} />;
    return <ChoiceField {...props} options={opts} description={hint} />;
  }
  if (schema.enum) {
    return (
      <Label text={label} required={required} hint={hint}>
        <select value={value === undefined ? '' : JSON.stringify(value)} onChange={(e) => onChange(e.target.value === '' ? undefined : JSON.parse(e.target.value))} data-field={name}>
          {(!required || value === undefined) && <option value="">{schema.default !== undefined ? `(${String(schema.default)})` : t('form.unset')}</option>}
          {schema.enum.map((e) => <option key={JSON.stringify(e)} value={JSON.stringify(e)}>{String(e)}</option>)}
        </select>
      </Label>
    );
  }
  if (schema.const !== undefined) return null;
  const type = schema.type || (schema.properties ? 'object' : schema.items ? 'array' : null);
  switch (type) {
    case 'object': return <ObjectField {...props} />;
    case 'array': return <ArrayField {...props} />;
    case 'boolean':
      return (
        <div className="field check-field">
          <label className="check"><input type="checkbox" checked={value === undefined ? !!schema.default : !!value} onChange={(e) => onChange(e.target.checked)} data-field={name} />{label}{required && <span className="req">*</span>}</label>
          {hint && <div className="hint">{hint}</div>}
        </div>
      );
    case 'number': case 'integer':
      return <Label text={label} required={required} hint={hint}><NumberInput value={value} onChange={onChange} integer={type === 'integer'} min={schema.minimum} max={schema.maximum} placeholder={schema.default != null ? String(schema.default) : ''} data-field={name} /></Label>;
    case 'string': {
      const long = (schema.maxLength && schema.maxLength > 200) || schema.format === 'textarea';
      const common = { value: value ?? '', placeholder: schema.default != null ? String(schema.default) : (schema.examples && typeof schema.examples[0] === 'string' && schema.examples[0]) || '', 'data-field': name, maxLength: schema.maxLength, onChange: (e) => onChange(e.target.value === '' ? undefined : e.target.value) };
      // `examples` become suggestions (record kinds: order, customer, lead…).
      const ex = Array.isArray(schema.examples) ? schema.examples.filter((x) => typeof x === 'string') : [];
      const listId = ex.length ? `ex-${path.replace(/[^A-Za-z0-9_-]/g, '_')}` : undefined;
      return (
        <Label text={label} required={required} hint={hint}>
          {long ? <textarea rows={4} {...common} /> : <input type={schema.format === 'uri' ? 'url' : 'text'} list={listId} {...common} />}
          {listId && <datalist id={listId}>{ex.map((x) => <option key={x} value={x} />)}</datalist>}
        </Label>
      );
    }
    default:
      return <Label text={label} required={required} hint={hint || t('form.json')}><JsonField value={value} onChange={onChange} /></Label>;
  }
});

export default function SchemaForm({ schema, value, onChange }) {
  const root = schema || { type: 'object' };
  return <div className="schema-form"><SchemaField schema={root} root={root} value={value} onChange={onChange} depth={0} path="" /></div>;
}
