// flowDoc: pure functions over the flow document of SPEC §1
//   {id, name, priority, nodes:[{id,type,config,position}], edges:[{from,port?,to}]}.
// Invariant: documents are immutable; every operation returns a new document that shares
// untouched node and edge objects, so views can memoise on object identity and undo keeps
// whole snapshots cheaply. An edge's port defaults to "out" and is omitted when it is "out".

export const DEFAULT_PORT = 'out';

export function edgePort(e) { return e.port || DEFAULT_PORT; }
export function edgeKey(e) { return `${e.from}\u0001${edgePort(e)}\u0001${e.to}`; }

/* Bring a document from the server (or an import) into the shape the editor keeps. */
export function normalizeDoc(raw) {
  const d = raw && typeof raw === 'object' ? raw : {};
  const nodes = Array.isArray(d.nodes) ? d.nodes : [];
  const edges = Array.isArray(d.edges) ? d.edges : [];
  const out = { ...d };
  delete out.revision; delete out.problems;
  out.nodes = nodes.map((n, i) => ({
    ...n,
    id: String(n.id ?? `n${i + 1}`),
    config: n.config && typeof n.config === 'object' ? n.config : {},
    position: n.position && Number.isFinite(+n.position.x) && Number.isFinite(+n.position.y)
      ? { x: +n.position.x, y: +n.position.y } : null,
  }));
  out.edges = edges
    .filter((e) => e && e.from != null && e.to != null)
    .map((e) => {
      const x = { ...e, from: String(e.from), to: String(e.to) };
      if (!x.port || x.port === DEFAULT_PORT) delete x.port;
      return x;
    });
  return out;
}

/* Nodes without a position get one from a quick grid so the canvas never stacks them. */
export function ensurePositions(doc, layoutFn) {
  if (doc.nodes.every((n) => n.position)) return doc;
  if (layoutFn) {
    const pos = layoutFn(doc);
    return { ...doc, nodes: doc.nodes.map((n) => (n.position ? n : { ...n, position: pos.get(n.id) || { x: 0, y: 0 } })) };
  }
  let i = 0;
  return { ...doc, nodes: doc.nodes.map((n) => (n.position ? n : { ...n, position: { x: (i % 6) * 260, y: Math.floor(i++ / 6) * 140 } })) };
}

export function uniqueId(doc, base) {
  const taken = new Set(doc.nodes.map((n) => n.id));
  const stem = String(base || 'n').replace(/[^A-Za-z0-9_]/g, '_').replace(/^_+|_+$/g, '') || 'n';
  for (let i = 1; ; i++) { const id = `${stem}_${i}`; if (!taken.has(id)) return id; }
}

export function shortName(type) {
  const last = String(type || 'node').split('.').pop();
  return last.length > 12 ? last.slice(0, 12) : last;
}

export function addNode(doc, node) {
  return { ...doc, nodes: [...doc.nodes, node] };
}

export function removeNodes(doc, ids) {
  const del = new Set(ids);
  if (!del.size) return doc;
  return {
    ...doc,
    nodes: doc.nodes.filter((n) => !del.has(n.id)),
    edges: doc.edges.filter((e) => !del.has(e.from) && !del.has(e.to)),
  };
}

export function removeEdges(doc, keys) {
  const del = new Set(keys);
  if (!del.size) return doc;
  return { ...doc, edges: doc.edges.filter((e) => !del.has(edgeKey(e))) };
}

/* positions: Map id -> {x,y}. Nodes whose position did not change keep their identity. */
export function moveNodes(doc, positions) {
  let changed = false;
  const nodes = doc.nodes.map((n) => {
    const p = positions.get(n.id);
    if (!p || (n.position && n.position.x === p.x && n.position.y === p.y)) return n;
    changed = true;
    return { ...n, position: { x: Math.round(p.x), y: Math.round(p.y) } };
  });
  return changed ? { ...doc, nodes } : doc;
}

export function updateNode(doc, id, patch) {
  return { ...doc, nodes: doc.nodes.map((n) => (n.id === id ? { ...n, ...patch } : n)) };
}

export function setNodeConfig(doc, id, config) {
  return { ...doc, nodes: doc.nodes.map((n) => (n.id === id ? { ...n, config } : n)) };
}

/* Rename a node and rewrite the edges that touch it. Returns doc unchanged on a clash. */
export function renameNode(doc, from, to) {
  if (!to || from === to || doc.nodes.some((n) => n.id === to)) return doc;
  return {
    ...doc,
    nodes: doc.nodes.map((n) => (n.id === from ? { ...n, id: to } : n)),
    edges: doc.edges.map((e) => (e.from === from || e.to === from
      ? { ...e, from: e.from === from ? to : e.from, to: e.to === from ? to : e.to } : e)),
  };
}

/* Would an edge from -> to close a cycle? (the graph must stay a DAG) */
export function createsCycle(doc, from, to) {
  if (from === to) return true;
  const out = new Map();
  for (const e of doc.edges) { if (!out.has(e.from)) out.set(e.from, []); out.get(e.from).push(e.to); }
  const seen = new Set();
  const stack = [to];
  while (stack.length) {
    const x = stack.pop();
    if (x === from) return true;
    if (seen.has(x)) continue;
    seen.add(x);
    for (const y of out.get(x) || []) stack.push(y);
  }
  return false;
}

export function connect(doc, from, port, to) {
  const e = { from, to };
  if (port && port !== DEFAULT_PORT) e.port = port;
  const k = edgeKey(e);
  if (doc.edges.some((x) => edgeKey(x) === k)) return doc;
  return { ...doc, edges: [...doc.edges, e] };
}

/* Copy: the chosen nodes and the edges among them. */
export function extractFragment(doc, ids) {
  const keep = new Set(ids);
  return {
    nodes: doc.nodes.filter((n) => keep.has(n.id)),
    edges: doc.edges.filter((e) => keep.has(e.from) && keep.has(e.to)),
  };
}

/* Paste a fragment with fresh ids, offset so it does not cover the originals.
 * Returns {doc, ids} (the new node ids, for selecting them). */
export function pasteFragment(doc, frag, offset = { x: 40, y: 40 }) {
  let d = doc;
  const map = new Map();
  const ids = [];
  for (const n of frag.nodes || []) {
    const id = uniqueId(d, shortName(n.type));
    map.set(n.id, id);
    ids.push(id);
    const p = n.position || { x: 0, y: 0 };
    d = addNode(d, { ...n, id, config: structuredClone(n.config || {}), position: { x: p.x + offset.x, y: p.y + offset.y } });
  }
  for (const e of frag.edges || []) {
    if (map.has(e.from) && map.has(e.to)) d = connect(d, map.get(e.from), e.port, map.get(e.to));
  }
  return { doc: d, ids };
}

/* What is sent to the server: the document without editor-only fields. */
export function toServerDoc(doc) {
  const out = { ...doc };
  out.nodes = doc.nodes.map((n) => {
    const x = { ...n };
    if (!x.position) delete x.position;
    return x;
  });
  return out;
}

/* JSON Pointer helpers (problems carry a `path` such as /nodes/3/config/when). */
export function nodeIdFromPath(doc, path) {
  if (!path || typeof path !== 'string') return null;
  const m = /^\/nodes\/(\d+)(\/|$)/.exec(path);
  if (m) { const n = doc.nodes[+m[1]]; return n ? n.id : null; }
  const e = /^\/edges\/(\d+)(\/|$)/.exec(path);
  if (e) { const x = doc.edges[+e[1]]; return x ? x.from : null; }
  return null;
}
