// localDrafts: flows opened from a file when the server could not import them (or is not
// there yet). They live in sessionStorage under "local:<n>" ids and can be saved to the
// server later with POST /api/flows.
const PREFIX = 'flowd.local.';

export function isLocalId(id) { return String(id).startsWith('local:'); }

export function putLocalDraft(doc) {
  const id = `local:${Date.now().toString(36)}`;
  sessionStorage.setItem(PREFIX + id, JSON.stringify(doc));
  return id;
}

export function getLocalDraft(id) {
  const s = sessionStorage.getItem(PREFIX + id);
  return s ? JSON.parse(s) : null;
}

export function updateLocalDraft(id, doc) {
  try { sessionStorage.setItem(PREFIX + id, JSON.stringify(doc)); } catch { /* quota: keep in memory only */ }
}

export function dropLocalDraft(id) { sessionStorage.removeItem(PREFIX + id); }

/* An exported file may hold the flow itself or wrap it ({"flow": {...}} / {"draft": {...}}). */
export function flowFromFile(obj) {
  if (!obj || typeof obj !== 'object') return null;
  if (Array.isArray(obj.nodes)) return obj;
  for (const k of ['flow', 'draft', 'document', 'definition']) if (obj[k] && Array.isArray(obj[k].nodes)) return { ...obj[k], name: obj[k].name || obj.name };
  return null;
}
