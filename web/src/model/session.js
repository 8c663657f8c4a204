// session: everything the editor holds for one open flow, kept apart from any view.
//   store    — the document with undo/redo (history.js)
//   problems — keyed by node id: {errors, warnings, list}; plus problemList (all, in order)
//   run      — keyed by node id: the step of the last test run / inspected run
//   counters — keyed by node id: live {running, succeeded, failed, waiting, skipped}
//   sample   — the run scope used to test conditions and preview templates
import { createFlowStore } from './history.js';
import { createKeyedStore, createStore } from '../lib/store.js';
import { nodeIdFromPath } from './flowDoc.js';
import { defaultSample } from './sample.js';

export function createSession(doc) {
  return {
    flowId: doc.id,
    store: createFlowStore(doc),
    problems: createKeyedStore(),
    problemList: createStore([]),
    run: createKeyedStore(),
    runInfo: createStore(null),
    counters: createKeyedStore(),
    sample: createStore(defaultSample(doc)),
  };
}

function severityOf(p) {
  const s = String(p.severity || p.level || 'error').toLowerCase();
  return s.startsWith('warn') || s === 'info' ? 'warning' : 'error';
}

/* Attach server problems to nodes (by `node`, else by the JSON Pointer `path`). */
export function setProblems(session, list) {
  const doc = session.store.get().doc;
  const norm = (Array.isArray(list) ? list : []).map((p) => ({
    ...p, severity: severityOf(p), node: p.node || nodeIdFromPath(doc, p.path) || null,
  }));
  const byNode = new Map();
  for (const p of norm) {
    if (!p.node) continue;
    let e = byNode.get(p.node);
    if (!e) byNode.set(p.node, (e = { errors: 0, warnings: 0, list: [] }));
    if (p.severity === 'warning') e.warnings++; else e.errors++;
    e.list.push(p);
  }
  // Keep old entry objects when nothing changed, so those nodes do not re-render.
  const next = new Map();
  for (const [k, v] of byNode) {
    const old = session.problems.get(k);
    next.set(k, old && JSON.stringify(old.list) === JSON.stringify(v.list) ? old : v);
  }
  session.problems.replace(next);
  session.problemList.set(norm);
}

/* Show a run (test run or inspected run) on the canvas: one entry per node, last attempt wins. */
export function setRunOverlay(session, run) {
  const next = new Map();
  const steps = (run && Array.isArray(run.steps)) ? run.steps : [];
  for (const s of steps) {
    const id = s.node || s.node_id;
    if (!id) continue;
    const prev = next.get(id);
    if (!prev || (s.attempt || 0) >= (prev.attempt || 0)) next.set(id, s);
  }
  session.run.replace(next);
  session.runInfo.set(run || null);
}

export const COUNTER_KEYS = ['running', 'waiting', 'succeeded', 'failed', 'skipped'];
