// registry: the node-type registry from GET /api/node-types. Each type has
// {name, group, title, description, ports, schema}; this module normalises what the server
// sends (ports as strings or {name} objects, groups under several spellings) and answers
// the questions the views ask: which group, which output ports for a given node.
import { DEFAULT_PORT } from './flowDoc.js';

export const GROUP_ORDER = ['triggers', 'conditions', 'actions', 'control'];

function normGroup(g, name) {
  const s = String(g || '').toLowerCase();
  if (s.startsWith('trigger')) return 'triggers';
  if (s.startsWith('condition') || s.startsWith('branch') || s === 'logic') return 'conditions';
  if (s.startsWith('action')) return 'actions';
  if (s.startsWith('control') || s === 'flow' || s === 'core') return 'control';
  if (s) return s;
  const n = String(name || '');
  if (n.startsWith('trigger.')) return 'triggers';
  if (n.startsWith('branch.')) return 'conditions';
  if (n.startsWith('action.')) return 'actions';
  return 'control';
}

function portName(p) {
  if (typeof p === 'string') return p;
  if (p && typeof p === 'object') return p.name || p.id || p.port || null;
  return null;
}

export function normalizeTypes(list) {
  const byName = new Map();
  for (const raw of Array.isArray(list) ? list : []) {
    if (!raw || !(raw.name || raw.type)) continue;
    const name = raw.name || raw.type;
    const portsRaw = Array.isArray(raw.ports) ? raw.ports
      : raw.ports && Array.isArray(raw.ports.out) ? raw.ports.out
      : raw.ports && typeof raw.ports === 'object' ? Object.keys(raw.ports) : null;
    const ports = portsRaw ? portsRaw.map(portName).filter(Boolean) : [DEFAULT_PORT];
    byName.set(name, {
      ...raw,
      name,
      group: normGroup(raw.group || raw.kind, name),
      title: raw.title || name,
      description: raw.description || '',
      ports,
      schema: raw.schema || raw.config_schema || { type: 'object' },
      isTrigger: normGroup(raw.group || raw.kind, name) === 'triggers',
    });
  }
  return byName;
}

export function groupTypes(byName) {
  const groups = new Map();
  for (const t of byName.values()) {
    if (!groups.has(t.group)) groups.set(t.group, []);
    groups.get(t.group).push(t);
  }
  const order = [...GROUP_ORDER, ...[...groups.keys()].filter((g) => !GROUP_ORDER.includes(g)).sort()];
  return order.filter((g) => groups.has(g)).map((g) => ({ group: g, types: groups.get(g) }));
}

/* Output ports of one node. Types whose ports depend on the config (branch.switch) name
 * an array in it (`dynamic_ports`, a JSON Pointer such as "/cases"): each item's `port`
 * is a port, before the type's fixed ones ("default"). Unknown types get "out". */
export function portsOf(typeDef, node) {
  const type = node ? node.type : typeDef && typeDef.name;
  const ptr = typeDef && typeof typeDef.dynamic_ports === 'string' ? typeDef.dynamic_ports
    : type === 'branch.switch' ? '/cases' : null;
  if (ptr) {
    let arr = node && node.config;
    for (const part of ptr.split('/').filter(Boolean)) arr = arr && typeof arr === 'object' ? arr[part] : undefined;
    const ps = [];
    for (const c of Array.isArray(arr) ? arr : []) if (c && c.port && !ps.includes(String(c.port))) ps.push(String(c.port));
    const fixed = typeDef ? typeDef.ports.filter((p) => p !== DEFAULT_PORT || !typeDef.dynamic_ports) : ['default'];
    for (const p of fixed.length ? fixed : ['default']) if (!ps.includes(p)) ps.push(p);
    return ps;
  }
  if (!typeDef) return [DEFAULT_PORT];
  return typeDef.ports;
}

export function hasInput(typeDef, node) {
  if (typeDef) return !typeDef.isTrigger;
  return !String(node && node.type).startsWith('trigger.');
}

/* A starting config: the required fields, from their defaults (and required objects/arrays).
 * An optional field's default is left out: the server applies it, the form shows it as the
 * placeholder, and the saved document stays what the user wrote (no `sticky: "none"`). */
export function defaultConfig(schema, root = schema) {
  const s = resolveRef(schema, root);
  if (!s || typeof s !== 'object') return undefined;
  if (s.default !== undefined) return structuredClone(s.default);
  if (s.type === 'object' || s.properties) {
    const out = {};
    const req = new Set(s.required || []);
    for (const [k, sub] of Object.entries(s.properties || {})) {
      const r = resolveRef(sub, root);
      if (!req.has(k)) continue;
      if (r && r.default !== undefined) out[k] = structuredClone(r.default);
      else {
        const v = defaultConfig(r, root);
        if (v !== undefined) out[k] = v;
        else if (r && r.enum && r.enum.length) out[k] = r.enum[0];
      }
    }
    return out;
  }
  if (s.type === 'array') return [];
  return undefined;
}

export function resolveRef(s, root) {
  let guard = 0;
  while (s && typeof s === 'object' && typeof s.$ref === 'string' && guard++ < 20) {
    const ref = s.$ref;
    if (!ref.startsWith('#')) return { ...s, $ref: undefined };
    const parts = ref.slice(1).split('/').filter(Boolean).map((p) => decodeURIComponent(p.replace(/~1/g, '/').replace(/~0/g, '~')));
    let cur = root;
    for (const p of parts) cur = cur && cur[p];
    const rest = { ...s };
    delete rest.$ref;
    s = cur ? { ...cur, ...rest } : rest;
  }
  return s;
}
