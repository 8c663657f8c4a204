// api: the one place that talks HTTP to flowd (SPEC §2). Every call carries the stored
// bearer token (or the session cookie after /api/login) and turns error bodies
// {"error":{code,message,details}} into ApiError, so views never parse responses themselves.

const TOKEN_KEY = 'flowd.token';
const CSRF_KEY = 'flowd.csrf';

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || String(status);
    this.details = e.details || null;
    this.body = body;
  }
}

let unauthorizedHandler = null;
export function onUnauthorized(fn) { unauthorizedHandler = fn; }

export function getToken() { try { return localStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; } }
export function setToken(tok) {
  try { if (tok) localStorage.setItem(TOKEN_KEY, tok); else localStorage.removeItem(TOKEN_KEY); } catch { /* private mode */ }
}

/* Session logins (cookie) must send the session's CSRF token with every write. */
export function getCsrf() { try { return localStorage.getItem(CSRF_KEY) || ''; } catch { return ''; } }
export function setCsrf(v) {
  try { if (v) localStorage.setItem(CSRF_KEY, v); else localStorage.removeItem(CSRF_KEY); } catch { /* private mode */ }
}

export async function request(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  const tok = getToken();
  if (tok) headers.Authorization = `Bearer ${tok}`;
  else if (method !== 'GET' && getCsrf()) headers['X-CSRF-Token'] = getCsrf();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: opts.signal,
  });
  const text = await res.text();
  let data = null;
  if (text) { try { data = JSON.parse(text); } catch { data = { text }; } }
  if (!res.ok) {
    if (res.status === 401 && unauthorizedHandler && !opts.noAuthRedirect) unauthorizedHandler();
    throw new ApiError(res.status, data);
  }
  return data;
}

export const api = {
  get: (p, o) => request('GET', p, undefined, o),
  post: (p, b, o) => request('POST', p, b === undefined ? {} : b, o),
  put: (p, b, o) => request('PUT', p, b, o),
  patch: (p, b, o) => request('PATCH', p, b, o),
  del: (p, o) => request('DELETE', p, undefined, o),
};

/* Lists come back either bare or wrapped ({"flows": [...]}, {"items": [...]}). */
export function asList(data, ...keys) {
  if (Array.isArray(data)) return data;
  if (!data || typeof data !== 'object') return [];
  for (const k of [...keys, 'items', 'data', 'results']) if (Array.isArray(data[k])) return data[k];
  const arr = Object.values(data).find(Array.isArray);
  return arr || [];
}

export const enc = encodeURIComponent;
