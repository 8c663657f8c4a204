// liveCounters: turns websocket messages of topic flow:<id> into per-node counters.
// Messages are folded into a pending map as they arrive and pushed to the keyed store at
// most once per animation frame, so a burst of thousands of node events costs one render
// of the nodes that changed. `running` and `waiting` count steps in that state now; the
// terminal states count steps that ended there since the editor was opened.
import { subscribe } from '../ws.js';

const TRANSIENT = new Set(['running', 'waiting']);
const ZERO = Object.freeze({ running: 0, waiting: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 });

export function startLiveCounters(session, flowId, onRunEvent, onLagged) {
  const state = new Map(); // `${run}|${node}` -> current status
  const pending = new Map(); // node -> counters object (mutable until flushed)
  let frame = 0;

  function counters(node) {
    let c = pending.get(node);
    if (!c) { c = { ...(session.counters.get(node) || ZERO) }; pending.set(node, c); }
    return c;
  }

  function move(run, node, status) {
    const key = `${run}|${node}`;
    const prev = state.get(key);
    const c = counters(node);
    if (prev && TRANSIENT.has(prev)) c[prev] = Math.max(0, c[prev] - 1);
    if (status in c || TRANSIENT.has(status)) c[status] = (c[status] || 0) + 1;
    if (TRANSIENT.has(status)) state.set(key, status); else state.delete(key);
    schedule();
  }

  function flush() {
    frame = 0;
    const entries = [...pending.entries()].map(([k, v]) => [k, Object.freeze(v)]);
    pending.clear();
    session.counters.setMany(entries);
  }
  function schedule() {
    if (frame) return;
    frame = typeof requestAnimationFrame === 'function' ? requestAnimationFrame(flush) : setTimeout(flush, 16);
  }

  function onMsg(m) {
    const run = m.run || m.run_id || (m.data && m.data.run) || '';
    const node = m.node || m.node_id || (m.data && m.data.node);
    switch (m.type) {
      case 'node.started': if (node) move(run, node, 'running'); break;
      case 'node.finished': if (node) move(run, node, m.status || (m.data && m.data.status) || 'succeeded'); break;
      case 'run.finished':
        // A run that ends clears whatever of it was still running or waiting (cancelled runs).
        for (const [key, st] of [...state]) {
          if (key.startsWith(`${run}|`)) {
            const c = counters(key.slice(run.length + 1));
            c[st] = Math.max(0, c[st] - 1);
            state.delete(key);
          }
        }
        schedule();
        break;
      case 'lagged':
        // The server dropped progress messages for this slow client: counts may be short.
        if (onLagged) onLagged(m.dropped);
        break;
      default: break;
    }
    if (onRunEvent) onRunEvent(m);
  }

  const unsub = subscribe(`flow:${flowId}`, onMsg);
  return {
    stop() { unsub(); if (frame && typeof cancelAnimationFrame === 'function') cancelAnimationFrame(frame); },
    reset() { state.clear(); pending.clear(); session.counters.clear(); },
  };
}
