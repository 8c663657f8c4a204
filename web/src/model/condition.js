// condition: conversion between JSON Logic and the rule builder's model
//   group = {kind:'group', op:'and'|'or', items:[group|rule]}
//   rule  = {kind:'rule', field, op, value}
// Only the shapes the builder can show round-trip; anything else returns null from
// fromLogic and the editor falls back to raw JSON (nothing is ever silently dropped).

export const OPS = ['==', '!=', '>', '>=', '<', '<=', 'in', '!in', 'contains', 'truthy', 'falsy'];
const CMP = new Set(['==', '!=', '===', '!==', '>', '>=', '<', '<=']);

function isVar(x) { return x && typeof x === 'object' && !Array.isArray(x) && Object.keys(x).length === 1 && 'var' in x && typeof (Array.isArray(x.var) ? x.var[0] : x.var) === 'string'; }
function varName(x) { return Array.isArray(x.var) ? x.var[0] : x.var; }
function isPrim(v) { return v === null || ['string', 'number', 'boolean'].includes(typeof v); }
function args(v) { return Array.isArray(v) ? v : [v]; }

function ruleFrom(j) {
  if (!j || typeof j !== 'object' || Array.isArray(j)) return null;
  const keys = Object.keys(j);
  if (keys.length !== 1) return null;
  const op = keys[0];
  const a = args(j[op]);
  if (op === 'var' && isVar(j)) return { kind: 'rule', field: varName(j), op: 'truthy', value: '' };
  if (CMP.has(op) && a.length === 2 && isVar(a[0]) && isPrim(a[1])) {
    return { kind: 'rule', field: varName(a[0]), op: op.length === 3 ? op.slice(0, 2) : op, value: a[1] };
  }
  if (op === 'in' && a.length === 2 && isVar(a[0]) && Array.isArray(a[1]) && a[1].every(isPrim)) return { kind: 'rule', field: varName(a[0]), op: 'in', value: a[1] };
  if (op === 'in' && a.length === 2 && isPrim(a[0]) && isVar(a[1])) return { kind: 'rule', field: varName(a[1]), op: 'contains', value: a[0] };
  if (op === '!!' && a.length === 1 && isVar(a[0])) return { kind: 'rule', field: varName(a[0]), op: 'truthy', value: '' };
  if (op === '!' && a.length === 1) {
    if (isVar(a[0])) return { kind: 'rule', field: varName(a[0]), op: 'falsy', value: '' };
    const inner = ruleFrom(a[0]);
    if (inner && inner.op === 'in') return { ...inner, op: '!in' };
  }
  return null;
}

export function fromLogic(j) {
  if (j === undefined || j === null || (typeof j === 'object' && !Array.isArray(j) && !Object.keys(j).length)) return { kind: 'group', op: 'and', items: [] };
  if (j && typeof j === 'object' && !Array.isArray(j) && Object.keys(j).length === 1 && (j.and || j.or) && Array.isArray(j.and || j.or)) {
    const op = j.and ? 'and' : 'or';
    const items = [];
    for (const x of j[op]) {
      const sub = x && typeof x === 'object' && (x.and || x.or) ? fromLogic(x) : ruleFrom(x);
      if (!sub) return null;
      items.push(sub);
    }
    return { kind: 'group', op, items };
  }
  const r = ruleFrom(j);
  return r ? { kind: 'group', op: 'and', items: [r] } : null;
}

function ruleTo(r) {
  const v = { var: r.field };
  switch (r.op) {
    case 'in': return { in: [v, Array.isArray(r.value) ? r.value : [r.value]] };
    case '!in': return { '!': { in: [v, Array.isArray(r.value) ? r.value : [r.value]] } };
    case 'contains': return { in: [r.value, v] };
    case 'truthy': return { '!!': [v] };
    case 'falsy': return { '!': [v] };
    default: return { [r.op]: [v, r.value] };
  }
}

function groupTo(g) {
  const items = g.items.map((x) => (x.kind === 'group' ? groupTo(x) : ruleTo(x))).filter((x) => x !== undefined);
  if (!items.length) return undefined;
  return { [g.op]: items };
}

/* The top group with one rule becomes that rule alone; an empty builder is "no condition". */
export function toLogic(g) {
  if (!g.items.length) return undefined;
  if (g.items.length === 1 && g.items[0].kind === 'rule' && g.op === 'and') return ruleTo(g.items[0]);
  return groupTo(g);
}

/* Text typed into a value box: numbers and true/false/null become JSON, the rest stays text. */
export function parseValue(s) {
  const t = String(s).trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t === 'null') return null;
  return s;
}
export function showValue(v) { return Array.isArray(v) ? v.map(showValue).join(', ') : v === null ? 'null' : String(v ?? ''); }
export function parseList(s) { return String(s).split(',').map((x) => x.trim()).filter((x) => x !== '').map(parseValue); }
