// layout: the "tidy layout" button. A small layered DAG layout (Sugiyama-style, no library):
// 1. rank = longest path from the sources (triggers) — edges always point to a higher rank;
// 2. order inside each rank by repeated barycentre sweeps (down, then up) to cut crossings;
// 3. place ranks left to right, nodes top to bottom, centred on their rank.
// Cost is O((V + E) * sweeps); a cycle (invalid, but drafts may have one) is broken by
// ignoring the edges Kahn's algorithm could not consume.
import { edgePort } from './flowDoc.js';

export const RANK_GAP = 300;
export const ROW_GAP = 40;
const SWEEPS = 6;

/* heights: optional Map id -> rendered height, so tall nodes do not overlap. */
export function layeredLayout(doc, heights = new Map(), portsOf = null) {
  const ids = doc.nodes.map((n) => n.id);
  const index = new Map(ids.map((id, i) => [id, i]));
  const outs = ids.map(() => []);
  const ins = ids.map(() => []);
  for (const e of doc.edges) {
    const a = index.get(e.from);
    const b = index.get(e.to);
    if (a === undefined || b === undefined || a === b) continue;
    // Port index orders children of one node: "true" above "false", cases in order.
    const ports = portsOf ? portsOf(doc.nodes[a]) : [];
    const pi = Math.max(0, ports.indexOf(edgePort(e)));
    outs[a].push({ to: b, pi });
    ins[b].push({ from: a, pi });
  }
  // 1. Longest-path ranks via Kahn's topological order.
  const indeg = ins.map((l) => l.length);
  const rank = ids.map(() => 0);
  const queue = [];
  ids.forEach((_, i) => { if (!indeg[i]) queue.push(i); });
  let head = 0;
  while (head < queue.length) {
    const v = queue[head++];
    for (const { to } of outs[v]) {
      if (rank[to] < rank[v] + 1) rank[to] = rank[v] + 1;
      if (--indeg[to] === 0) queue.push(to);
    }
  }
  if (queue.length < ids.length) {
    // Nodes on a cycle: put them after everything that was ranked.
    const maxR = Math.max(0, ...rank);
    ids.forEach((_, i) => { if (indeg[i] > 0) rank[i] = maxR + 1; });
  }
  // Triggers without inputs stay in rank 0 even when nothing follows them.
  const layers = [];
  ids.forEach((_, i) => { (layers[rank[i]] ||= []).push(i); });
  for (let r = 0; r < layers.length; r++) if (!layers[r]) layers[r] = [];

  // Initial order: by current y, so a user's arrangement is a starting point.
  const orig = doc.nodes.map((n) => (n.position ? n.position.y : 0));
  layers.forEach((l) => l.sort((a, b) => orig[a] - orig[b] || a - b));
  const pos = new Float64Array(ids.length);
  const setPos = () => layers.forEach((l) => l.forEach((v, i) => { pos[v] = i; }));
  setPos();

  // 2. Barycentre sweeps; port index is a small tie-breaker so branch order is kept.
  for (let s = 0; s < SWEEPS; s++) {
    const down = s % 2 === 0;
    const order = down ? layers.map((_, i) => i).slice(1) : layers.map((_, i) => i).reverse().slice(1);
    for (const r of order) {
      const l = layers[r];
      const bc = new Map();
      for (const v of l) {
        const nb = down ? ins[v].map((x) => pos[x.from] + x.pi * 0.01) : outs[v].map((x) => pos[x.to] - x.pi * 0.01 * 0);
        bc.set(v, nb.length ? nb.reduce((a, b) => a + b, 0) / nb.length : pos[v]);
      }
      l.sort((a, b) => bc.get(a) - bc.get(b) || pos[a] - pos[b]);
      l.forEach((v, i) => { pos[v] = i; });
    }
  }

  // 3. Coordinates: each rank a column; columns centred vertically.
  const h = (v) => heights.get(ids[v]) || 90;
  const colHeight = layers.map((l) => l.reduce((a, v) => a + h(v) + ROW_GAP, -ROW_GAP));
  const tallest = Math.max(0, ...colHeight);
  const out = new Map();
  layers.forEach((l, r) => {
    let y = (tallest - colHeight[r]) / 2;
    for (const v of l) {
      out.set(ids[v], { x: r * RANK_GAP, y: Math.round(y) });
      y += h(v) + ROW_GAP;
    }
  });
  return out;
}
