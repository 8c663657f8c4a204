// PropertyPanel: edits the selected node (id, configuration form generated from its type's
// schema or raw JSON, join mode) or, with nothing selected, the flow's own settings.
// Every change is a document commit; typing in one field merges into one undo step.
import { useEffect, useState } from 'react';
import { useT, typeTitle } from '../i18n.js';
import { useStore, useKeyed } from '../lib/store.js';
import { setNodeConfig, renameNode, updateNode } from '../model/flowDoc.js';
import { hasInput } from '../model/registry.js';
import SchemaForm from './SchemaForm.jsx';
import JsonField from './JsonField.jsx';
import { JsonView, StatusPill } from '../lib/ui.jsx';
import { useEditor } from './context.js';

function IdInput({ id, onRename }) {
  const t = useT();
  const [v, setV] = useState(id);
  const [err, setErr] = useState(false);
  useEffect(() => { setV(id); setErr(false); }, [id]);
  const done = () => { if (v !== id) { if (!onRename(v.trim())) { setErr(true); } } };
  return (
    <>
      <input value={v} onChange={(e) => { setV(e.target.value.replace(/\s/g, '_')); setErr(false); }} onBlur={done} onKeyDown={(e) => { if (e.key === 'Enter') done(); }} data-testid="node-id-input" />
      {err && <div className="error small">{t('panel.idTaken')}</div>}
    </>
  );
}

function NodePanel({ nodeId, onRenamed }) {
  const t = useT();
  const { session, registry, readOnly } = useEditor();
  const node = useStore(session.store, (s) => s.doc.nodes.find((n) => n.id === nodeId));
  const step = useKeyed(session.run, nodeId);
  const problems = useKeyed(session.problems, nodeId);
  const incoming = useStore(session.store, (s) => s.doc.edges.reduce((n, e) => n + (e.to === nodeId ? 1 : 0), 0));
  const [raw, setRaw] = useState(false);
  if (!node) return null;
  const typeDef = registry.get(node.type);
  const setConfig = (cfg) => session.store.commit((d) => setNodeConfig(d, nodeId, cfg || {}), { merge: `cfg:${nodeId}` });
  const rename = (to) => {
    if (!to || to === nodeId) return true;
    const before = session.store.get().doc;
    session.store.commit((d) => renameNode(d, nodeId, to));
    if (session.store.get().doc === before) return false;
    onRenamed(to);
    return true;
  };
  return (
    <div className="node-panel" data-testid="node-panel" data-node-id={nodeId}>
      <div className="panel-section">
        <div className="panel-type">
          <div className="strong">{typeTitle(t, typeDef, node.type)}</div>
          <div className="muted small mono">{node.type}</div>
          {typeDef && typeDef.description && <div className="hint">{typeDef.description}</div>}
          {!typeDef && <div className="error small">{t('panel.unknownType')}</div>}
        </div>
        <label className="field-label">{t('panel.id')}</label>
        {readOnly ? <input value={nodeId} readOnly /> : <IdInput id={nodeId} onRename={rename} />}
        {hasInput(typeDef, node) && (incoming > 1 || node.join) && (
          <>
            <label className="field-label">{t('panel.join')}</label>
            <select value={node.join || 'all'} onChange={(e) => session.store.commit((d) => updateNode(d, nodeId, { join: e.target.value === 'any' ? 'any' : undefined }))}>
              <option value="all">{t('panel.joinAll')}</option>
              <option value="any">{t('panel.joinAny')}</option>
            </select>
          </>
        )}
      </div>
      {problems && problems.list.length > 0 && (
        <ul className="problems-inline">
          {problems.list.map((p, i) => <li key={i} className={p.severity}><span className="mono small">{p.path || p.code}</span> {p.message}</li>)}
        </ul>
      )}
      <div className="panel-section">
        <div className="panel-tabs">
          <span className="strong">{t('panel.config')}</span>
          <div className="spacer" />
          <div className="seg">
            <button type="button" className={raw ? '' : 'on'} onClick={() => setRaw(false)}>{t('panel.form')}</button>
            <button type="button" className={raw ? 'on' : ''} onClick={() => setRaw(true)} data-testid="raw-json-toggle">{t('panel.rawJson')}</button>
          </div>
        </div>
        <fieldset disabled={readOnly} className="bare">
          {raw || !typeDef
            ? <JsonField value={node.config} onChange={(v) => v && typeof v === 'object' && setConfig(v)} rows={14} testid="config-json" />
            : <SchemaForm key={nodeId} schema={typeDef.schema} value={node.config} onChange={setConfig} />}
        </fieldset>
      </div>
      {step && (
        <div className="panel-section" data-testid="node-output">
          <div className="strong">{t('panel.output')} <StatusPill status={step.status} /></div>
          {step.error && <div className="error small">{typeof step.error === 'string' ? step.error : JSON.stringify(step.error)}</div>}
          <JsonView value={step.output} />
        </div>
      )}
    </div>
  );
}

function FlowSettings({ count }) {
  const t = useT();
  const { session, readOnly } = useEditor();
  const doc = useStore(session.store, (s) => s.doc);
  return (
    <div className="flow-settings" data-testid="flow-settings">
      <div className="side-head">{t('panel.flow')}</div>
      <fieldset disabled={readOnly} className="bare">
        <label className="field-label">{t('panel.flowName')}</label>
        <input value={doc.name || ''} onChange={(e) => session.store.commit((d) => ({ ...d, name: e.target.value }), { merge: 'flow:name' })} data-testid="flow-name-input" />
        <label className="field-label">{t('panel.priority')}</label>
        <input type="number" value={doc.priority ?? ''} onChange={(e) => session.store.commit((d) => ({ ...d, priority: e.target.value === '' ? undefined : Number(e.target.value) }), { merge: 'flow:priority' })} />
      </fieldset>
      <div className="muted small gap">{count > 1 ? t('panel.multi', { n: count }) : t('panel.nothing')}</div>
    </div>
  );
}

export default function PropertyPanel({ selected, onRenamed }) {
  return (
    <aside className="props" data-testid="props">
      {selected.length === 1 ? <NodePanel nodeId={selected[0]} onRenamed={onRenamed} /> : <FlowSettings count={selected.length} />}
    </aside>
  );
}
