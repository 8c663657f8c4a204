// me: who is logged in (GET /api/me: kind, role, name, staff). Shared so views can adapt to
// the role — only admins edit flows; managers see them read-only.
import { createStore } from './store.js';
import { api, getToken, setCsrf } from '../api.js';

export const meStore = createStore(null);

export function loadMe() {
  return api.get('/api/me').then((m) => {
    if (m && m.csrf_token && !getToken()) setCsrf(m.csrf_token);
    meStore.set(m || null);
    return m;
  }, () => null);
}

/* Unknown (server without /api/me, or not loaded yet) counts as admin: the server decides. */
export function canEditFlows(me) { return !me || !me.role || me.role === 'admin'; }
