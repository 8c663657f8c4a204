// Canvas: the @xyflow/react view of the document. The document (model) is the truth; this
// module derives React Flow nodes/edges from it, keeping the previous objects for document
// nodes that did not change (object identity = no re-render), and turns user gestures
// (drop from palette, connect, drag stop, delete, paste) into document commits.
// View-only state (selection, in-flight drag positions, measured sizes) stays here.
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import {
  ReactFlow, ReactFlowProvider, Background, Controls, MiniMap, useReactFlow, useStore as useFlowStore,
  applyNodeChanges, applyEdgeChanges, MarkerType,
} from '@xyflow/react';
import { useStore, useKeyedVersion } from '../lib/store.js';
import { edgeKey, edgePort, moveNodes, connect, createsCycle } from '../model/flowDoc.js';
import FlowNode from './FlowNode.jsx';
import { portsOf } from '../model/registry.js';
import QuickAdd from './QuickAdd.jsx';
import { useEditor } from './context.js';

const nodeTypes = { flow: FlowNode };
const selectDoc = (s) => s.doc;
const BIG = 150; // above this many nodes, render only what is on screen
const defaultEdgeOptions = { markerEnd: { type: MarkerType.ArrowClosed, width: 14, height: 14 } };
const proOptions = { hideAttribution: true };
const fitViewOptions = { padding: 0.15, maxZoom: 1 };

/* Header + id/summary lines + one 18 px row per output port: close to the rendered height,
 * so fitting on open is right before anything is measured. */
function estimateHeight(typeDef, n) {
  return 64 + 18 * portsOf(typeDef, n).length;
}

function deriveNodes(doc, registry, prev, selectNext) {
  const prevById = new Map(prev.map((n) => [n.id, n]));
  return doc.nodes.map((n) => {
    const p = prevById.get(n.id);
    const typeDef = registry.get(n.type);
    const selected = selectNext ? selectNext.has(n.id) : !!(p && p.selected);
    if (p && p.data.node === n && p.data.typeDef === typeDef && p.selected === selected) return p;
    return {
      ...(p || {}),
      id: n.id,
      type: 'flow',
      position: n.position || { x: 0, y: 0 },
      data: { node: n, typeDef },
      // Sizes before measuring: lets fitView and onlyRenderVisibleElements work on nodes
      // that were never drawn (off screen in a big flow).
      initialWidth: 190,
      initialHeight: estimateHeight(typeDef, n),
      selected,
      dragging: false,
    };
  });
}

function deriveEdges(doc, prev, runStore) {
  const prevById = new Map(prev.map((e) => [e.id, e]));
  const hasRun = runStore.all().size > 0;
  return doc.edges.map((e) => {
    const id = edgeKey(e);
    const p = prevById.get(id);
    let cls = edgePort(e) === 'error' ? 'e-error' : '';
    if (hasRun) {
      const a = runStore.get(e.from);
      const b = runStore.get(e.to);
      const portOk = !a || !a.port || a.port === edgePort(e) || (a.output && a.output.port === edgePort(e));
      if (a && b && b.status !== 'skipped' && portOk) cls += ' taken';
      else cls += ' not-taken';
    }
    if (p && p.className === cls) return p;
    return { id, source: e.from, target: e.to, sourceHandle: edgePort(e), className: cls, selected: !!(p && p.selected) };
  });
}

function CanvasInner({ apiRef, onSelection, readOnly, onDropType }) {
  const { session, registry } = useEditor();
  const doc = useStore(session.store, selectDoc);
  const runVersion = useKeyedVersion(session.run);
  const [nodes, setNodes] = useState(() => deriveNodes(doc, registry, [], null));
  const [quick, setQuick] = useState(null); // {screen: {x,y} in the wrapper, flow: {x,y}}
  const [edges, setEdges] = useState(() => deriveEdges(doc, [], session.run));
  const selectNext = useRef(null);
  const draggingRef = useRef(false); // a mouse drag is in progress
  // Fit the view on open only when there is something to fit; an empty flow keeps zoom 1
  // (fitting the first dropped node would zoom far in).
  const initialFit = useRef(doc.nodes.length > 0);
  const rf = useReactFlow();
  const wrapper = useRef(null);
  const nodesRef = useRef(nodes);
  nodesRef.current = nodes;
  const edgesRef = useRef(edges);
  edgesRef.current = edges;

  useLayoutEffect(() => {
    const sel = selectNext.current;
    selectNext.current = null;
    setNodes((prev) => deriveNodes(doc, registry, prev, sel));
  }, [doc, registry]);
  useLayoutEffect(() => {
    setEdges((prev) => deriveEdges(doc, prev, session.run));
  }, [doc, runVersion, session.run]);

  // Fit on open from the document's positions and the sizes nodes will have, without
  // waiting for every node to be measured (off-screen nodes of a big flow never are).
  const onInit = useCallback((inst) => {
    if (!initialFit.current) return;
    const ns = session.store.get().doc.nodes.filter((n) => n.position);
    const h = (n) => estimateHeight(registry.get(n.type), n);
    if (!ns.length) return;
    let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity;
    for (const n of ns) {
      x0 = Math.min(x0, n.position.x); y0 = Math.min(y0, n.position.y);
      x1 = Math.max(x1, n.position.x + 190); y1 = Math.max(y1, n.position.y + h(n));
    }
    inst.fitBounds({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, { padding: 0.1 });
    if (inst.getZoom() > 1) inst.zoomTo(1);
  }, [session, registry]);

  const onNodesChange = useCallback((changes) => {
    const keep = changes.filter((c) => c.type !== 'remove' && c.type !== 'add' && c.type !== 'replace');
    if (keep.length) setNodes((ns) => applyNodeChanges(keep, ns));
    // Moves that are not part of a mouse drag (arrow keys nudge the selection) go to the
    // document at once; a drag is committed once, on drag stop.
    const settled = keep.filter((c) => c.type === 'position' && c.position && c.dragging === false);
    if (settled.length && !draggingRef.current) {
      session.store.commit((d) => moveNodes(d, new Map(settled.map((c) => [c.id, c.position]))), { merge: 'nudge' });
    }
  }, [session]);
  const onEdgesChange = useCallback((changes) => {
    const keep = changes.filter((c) => c.type === 'select');
    if (keep.length) setEdges((es) => applyEdgeChanges(keep, es));
  }, []);

  const onNodeDragStart = useCallback(() => { draggingRef.current = true; if (wrapper.current) wrapper.current.classList.add('dragging'); }, []);
  const onNodeDragStop = useCallback((_, __, dragged) => {
    draggingRef.current = false;
    if (wrapper.current) wrapper.current.classList.remove('dragging');
    const pos = new Map((dragged || []).map((n) => [n.id, n.position]));
    session.store.commit((d) => moveNodes(d, pos));
  }, [session]);

  const isValidConnection = useCallback((c) => {
    if (!c.source || !c.target || c.source === c.target) return false;
    return !createsCycle(session.store.get().doc, c.source, c.target);
  }, [session]);

  const onConnect = useCallback((c) => {
    if (readOnly) return;
    session.store.commit((d) => (createsCycle(d, c.source, c.target) ? d : connect(d, c.source, c.sourceHandle || 'out', c.target)));
  }, [session, readOnly]);

  const onSelectionChange = useCallback(({ nodes: ns, edges: es }) => {
    if (onSelection) onSelection(ns.map((n) => n.id), es.map((e) => e.id));
  }, [onSelection]);

  const onDragOver = useCallback((e) => {
    if (e.dataTransfer.types.includes('application/x-flowd-type')) { e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; }
  }, []);
  const onDrop = useCallback((e) => {
    if (readOnly) return;
    const type = e.dataTransfer.getData('application/x-flowd-type');
    if (!type) return;
    e.preventDefault();
    const p = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    onDropType(type, { x: Math.round(p.x - 90), y: Math.round(p.y - 30) });
  }, [rf, onDropType, readOnly]);

  // Double-click on the empty canvas opens the quick-add search there.
  const onDoubleClick = useCallback((e) => {
    if (readOnly || !e.target.classList || !e.target.classList.contains('react-flow__pane')) return;
    const r = wrapper.current.getBoundingClientRect();
    setQuick({ screen: { x: e.clientX - r.left, y: e.clientY - r.top }, flow: rf.screenToFlowPosition({ x: e.clientX, y: e.clientY }) });
  }, [readOnly, rf]);

  // The page drives the canvas through this small imperative API.
  useEffect(() => {
    if (!apiRef) return;
    apiRef.current = {
      fitView: () => rf.fitView({ ...fitViewOptions, duration: 200 }),
      selectAfterCommit: (ids) => { selectNext.current = new Set(ids); },
      select(ids) {
        const s = new Set(ids);
        setNodes((ns) => ns.map((n) => (n.selected === s.has(n.id) ? n : { ...n, selected: s.has(n.id) })));
        setEdges((es) => es.map((e) => (e.selected ? { ...e, selected: false } : e)));
      },
      selectAll() { setNodes((ns) => ns.map((n) => (n.selected ? n : { ...n, selected: true }))); },
      selection: () => ({
        nodes: nodesRef.current.filter((n) => n.selected).map((n) => n.id),
        edges: edgesRef.current.filter((e) => e.selected).map((e) => e.id),
      }),
      heights: () => new Map(nodesRef.current.map((n) => [n.id, (n.measured && n.measured.height) || 90])),
      focusNode(id) {
        const n = nodesRef.current.find((x) => x.id === id);
        if (!n) return;
        const w = (n.measured && n.measured.width) || 180;
        const h = (n.measured && n.measured.height) || 80;
        rf.setCenter(n.position.x + w / 2, n.position.y + h / 2, { zoom: Math.max(rf.getZoom(), 1), duration: 250 });
        this.select([id]);
      },
      center: () => {
        const r = wrapper.current ? wrapper.current.getBoundingClientRect() : { left: 0, top: 0, width: 800, height: 600 };
        return rf.screenToFlowPosition({ x: r.left + r.width / 2, y: r.top + r.height / 2 });
      },
      viewport: () => rf.getViewport(),
    };
  }, [apiRef, rf]);

  const big = doc.nodes.length > BIG;
  // Far out, node text is unreadable anyway: hide it (same geometry, so no re-measuring)
  // and the browser paints a big flow much faster.
  const far = useFlowStore(selectFar);
  return (
    <div className={`canvas${far ? ' far' : ''}`} ref={wrapper} onDragOver={onDragOver} onDrop={onDrop} onDoubleClick={onDoubleClick} data-testid="canvas">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        defaultEdgeOptions={defaultEdgeOptions}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onNodeDragStart={onNodeDragStart}
        onNodeDragStop={onNodeDragStop}
        onConnect={onConnect}
        isValidConnection={isValidConnection}
        onSelectionChange={onSelectionChange}
        nodesDraggable={!readOnly}
        nodesConnectable={!readOnly}
        deleteKeyCode={null}
        selectionKeyCode="Shift"
        multiSelectionKeyCode={['Meta', 'Control']}
        selectionOnDrag={false}
        panOnDrag
        onlyRenderVisibleElements={big}
        elevateNodesOnSelect={!big}
        minZoom={0.05}
        maxZoom={2.5}
        onInit={onInit}
        proOptions={proOptions}
        zoomOnDoubleClick={false}
        snapToGrid
        snapGrid={[10, 10]}
      >
        <Background gap={20} size={1} />
        <Controls showInteractive={false} />
        {!big && <MiniMap pannable zoomable nodeStrokeWidth={3} nodeClassName={miniClass} style={miniStyle} />}
      </ReactFlow>
      {quick && (
        <QuickAdd registry={registry} at={quick.screen} onClose={() => setQuick(null)}
          onAdd={(type) => onDropType(type, { x: Math.round(quick.flow.x - 90), y: Math.round(quick.flow.y - 30) })} />
      )}
    </div>
  );
}

const miniStyle = { width: 160, height: 110 };
const selectFar = (s) => s.transform[2] < 0.45;

function miniClass(n) {
  const g = n.data && n.data.typeDef ? n.data.typeDef.group : 'unknown';
  return `mm-${g}`;
}

export default function Canvas(props) {
  return <ReactFlowProvider><CanvasInner {...props} /></ReactFlowProvider>;
}
