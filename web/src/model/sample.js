// sample: the run scope (SPEC §1 "Run scope") used to test conditions and preview
// templates in the editor, and the paths the variable picker offers.

export function defaultSample(doc) {
  const now = new Date().toISOString();
  return {
    event: { id: 'evt_test', type: 'order.created', key: 'test-1', at: now, data: { id: 'SO1001' } },
    order: { id: 'SO1001', status: 'new', amount: 250000, source: 'website', city: 'Hà Nội', owner_id: null, customer_id: 'c_1' },
    customer: { id: 'c_1', name: 'Nguyễn Văn An', phone: '+84901234567', email: 'an@example.com', city: 'Hà Nội', owner_id: null },
    lead: { id: 'l_1', name: 'Acme', country: 'Vietnam', owner_id: null, status: 'new' },
    conversation: { id: 'cv_1', page: 'page_1', customer_id: 'c_1', owner_id: null },
    staff: { id: 's_lan', name: 'Trần Thị Lan', email: 'lan@example.com', roles: ['sales'] },
    vars: {},
    nodes: {},
    flow: { id: doc ? doc.id : 'f', name: doc ? doc.name : '', version: 0 },
    run: { id: 'run_test' },
  };
}

/* The scope of a test event: the event plus its record under its kind (order.created → order). */
export function sampleFromEvent(ev, doc) {
  const s = defaultSample(doc);
  if (!ev || typeof ev !== 'object') return s;
  s.event = { ...s.event, ...ev };
  const kind = String(ev.type || '').split('.')[0];
  if (ev.data && typeof ev.data === 'object' && kind && kind in s) {
    const { customer, ...rec } = ev.data;
    s[kind] = { ...rec };
    if (customer && typeof customer === 'object') s.customer = { ...customer };
  }
  return s;
}

function flatten(obj, prefix, out, depth) {
  if (depth > 3 || !obj || typeof obj !== 'object' || Array.isArray(obj)) return;
  for (const [k, v] of Object.entries(obj)) {
    const p = prefix ? `${prefix}.${k}` : k;
    out.push(p);
    flatten(v, p, out, depth + 1);
  }
}

/* Variable picker entries: sample scope paths, then nodes.<id> and vars.<name> of the doc. */
export function scopePaths(sample, doc) {
  const out = [];
  flatten(sample, '', out, 0);
  if (doc) {
    for (const n of doc.nodes) {
      out.push(`nodes.${n.id}`);
      if (n.type === 'set' && n.config && n.config.values && typeof n.config.values === 'object') {
        for (const k of Object.keys(n.config.values)) out.push(`vars.${k}`);
      }
    }
  }
  out.push('#ORDER_ID#', '#NAME#', '#PHONE#', '#EMAIL#');
  return [...new Set(out)].filter((p) => !['event', 'order', 'customer', 'lead', 'conversation', 'staff', 'vars', 'nodes', 'flow', 'run'].includes(p));
}
