// FlowNode: the canvas node. Shows the type's title, the node id, a one-line summary of its
// config, one named source handle per output port, problem badges, the last test run's
// status and live counters. Memoised: it re-renders only when its own document node, its
// selection, or its own overlay entries change (each overlay is a per-key subscription).
import { memo, useEffect, useMemo, useRef } from 'react';
import { Handle, Position, useUpdateNodeInternals } from '@xyflow/react';
import { useKeyed } from '../lib/store.js';
import { portsOf, hasInput } from '../model/registry.js';
import { useEditor } from './context.js';
import { useT, typeTitle } from '../i18n.js';

const ICON = { triggers: '⚡', conditions: '◆', actions: '▶', control: '○' };

function short(v) {
  if (v == null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.length}]`;
  return '{…}';
}

/* One line that tells similar nodes apart without opening them. */
export function summarize(node, t) {
  const c = node.config || {};
  switch (node.type) {
    case 'trigger.record': return [c.kind, c.on, c.to ? `→ ${c.to}` : ''].filter(Boolean).join(' ');
    case 'trigger.event': case 'wait.event': return short(c.type);
    case 'trigger.schedule': return short(c.cron);
    case 'delay': return c.for ? short(c.for) : short(c.until);
    case 'branch.switch': return t('node.cases', { n: (c.cases || []).length }) + (c.match === 'all' ? ` (${t('node.matchAll')})` : '');
    case 'action.assign': return [c.target, c.strategy, c.staff].filter(Boolean).map(short).join(' · ');
    case 'action.create_task': case 'action.send_email': return short(c.title || c.subject);
    case 'action.send_sms': case 'action.send_message': case 'action.notify': return short(c.text);
    case 'action.http': return [c.method, c.url].filter(Boolean).join(' ');
    case 'stop': return short(c.outcome);
    default: {
      const first = Object.entries(c).find(([, v]) => typeof v === 'string' || typeof v === 'number');
      return first ? `${first[0]}: ${short(first[1])}` : '';
    }
  }
}

const Counters = memo(function Counters({ c, flowId }) {
  const t = useT();
  const items = [['running', c.running], ['waiting', c.waiting], ['succeeded', c.succeeded], ['failed', c.failed], ['skipped', c.skipped]]
    .filter(([, v]) => v > 0);
  if (!items.length) return null;
  return (
    <div className="fnode-counters" data-testid="node-counters">
      {items.map(([k, v]) => (
        <a key={`${k}${v}`} className={`ctr ctr-${k}`} title={`${t(`counter.${k}`)} — ${t('counter.open')}`} data-counter={k}
          href={`#/runs?flow=${encodeURIComponent(flowId)}&status=${k === 'skipped' ? '' : k}`}>{v}</a>
      ))}
    </div>
  );
});

function FlowNode({ id, data, selected }) {
  const { session } = useEditor();
  const { node, typeDef } = data;
  const problems = useKeyed(session.problems, id);
  const step = useKeyed(session.run, id);
  const counters = useKeyed(session.counters, id);
  const ports = useMemo(() => portsOf(typeDef, node), [typeDef, node]);
  const portsKey = ports.join('\u0001');
  // When the ports change (switch cases edited) React Flow must re-measure the handles.
  // Not on mount: React Flow measures new nodes itself, and 500 single-node updates on
  // open would each force a layout (quadratic).
  const updateInternals = useUpdateNodeInternals();
  const firstPorts = useRef(portsKey);
  useEffect(() => {
    if (firstPorts.current === portsKey) return;
    firstPorts.current = portsKey;
    updateInternals(id);
  }, [id, portsKey, updateInternals]);

  const group = typeDef ? typeDef.group : 'unknown';
  const input = hasInput(typeDef, node);
  const t = useT();
  const summary = summarize(node, t);
  const cls = ['fnode', `g-${group}`];
  if (selected) cls.push('selected');
  if (step) cls.push(`run-${step.status}`);
  if (problems && problems.errors) cls.push('has-errors');
  else if (problems && problems.warnings) cls.push('has-warnings');
  if (!typeDef) cls.push('unknown');
  if (counters && counters.running > 0) cls.push('live-running');
  else if (counters && counters.waiting > 0) cls.push('live-waiting');

  return (
    <div className={cls.join(' ')} data-testid="flow-node" data-node-id={id} data-node-type={node.type}>
      <div className="fnode-head">
        {input && <Handle type="target" position={Position.Left} className="h-in" />}
        <span className="fnode-icon">{ICON[group] || '•'}</span>
        <span className="fnode-title">{typeTitle(t, typeDef, node.type)}</span>
        {problems && problems.errors > 0 && <span className="badge err" title={problems.list.map((p) => p.message).join('\n')} data-testid="node-error-badge">{problems.errors}</span>}
        {problems && !problems.errors && problems.warnings > 0 && <span className="badge warn" title={problems.list.map((p) => p.message).join('\n')}>{problems.warnings}</span>}
      </div>
      <div className="fnode-body">
        <div className="fnode-id">{id}</div>
        {summary && <div className="fnode-summary">{summary}</div>}
        {step && <div className={`fnode-step st-${step.status}`} data-testid="node-step-status">{step.status}</div>}
      </div>
      {ports.length > 0 && (
        <div className="fnode-ports">
          {ports.map((p) => (
            <div key={p} className={`fnode-port p-${p}`}>
              <span className="port-label">{p}</span>
              <Handle type="source" position={Position.Right} id={p} className="h-out" data-port={p} />
            </div>
          ))}
        </div>
      )}
      {counters && <Counters c={counters} flowId={session.flowId} />}
    </div>
  );
}

export default memo(FlowNode);
