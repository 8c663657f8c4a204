// history: the editor's document store with undo/redo. State = {doc, past, future, savedDoc}.
// Each commit pushes the previous document; commits with the same `merge` tag inside a
// short window (typing into one field) collapse into a single undo step.
import { createStore } from '../lib/store.js';

const LIMIT = 200;
const MERGE_MS = 1200;

export function createFlowStore(doc) {
  const store = createStore({ doc, past: [], future: [], savedDoc: doc });
  let lastTag = null;
  let lastAt = 0;

  function commit(update, opts = {}) {
    const s = store.get();
    const next = typeof update === 'function' ? update(s.doc) : update;
    if (!next || next === s.doc) return false;
    const now = Date.now();
    const merge = opts.merge && opts.merge === lastTag && now - lastAt < MERGE_MS;
    lastTag = opts.merge || null;
    lastAt = now;
    store.set({
      ...s,
      doc: next,
      past: merge ? s.past : [...s.past, s.doc].slice(-LIMIT),
      future: [],
    });
    return true;
  }

  function undo() {
    const s = store.get();
    if (!s.past.length) return;
    lastTag = null;
    store.set({ ...s, doc: s.past[s.past.length - 1], past: s.past.slice(0, -1), future: [s.doc, ...s.future] });
  }

  function redo() {
    const s = store.get();
    if (!s.future.length) return;
    lastTag = null;
    store.set({ ...s, doc: s.future[0], past: [...s.past, s.doc], future: s.future.slice(1) });
  }

  /* Replace the document (load, reload after conflict); clears history. */
  function reset(d) { lastTag = null; store.set({ doc: d, past: [], future: [], savedDoc: d }); }
  function markSaved(d) { store.set({ ...store.get(), savedDoc: d || store.get().doc }); }

  return { ...store, commit, undo, redo, reset, markSaved };
}
