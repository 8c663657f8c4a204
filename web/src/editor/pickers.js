// pickers: cached lists behind the staff / team / provider widgets (GET /api/staff,
// /api/teams, /api/providers). One request per list per page load; failures are remembered
// so the widget falls back to a plain text field instead of retrying on every render.
import { useEffect, useState } from 'react';
import { api, asList } from '../api.js';

const cache = new Map(); // url -> {promise, items, error}
const URLS = { staff: '/api/staff', team: '/api/teams', teams: '/api/teams', provider: '/api/providers', providers: '/api/providers' };

export function loadList(kind) {
  const url = URLS[kind];
  if (!url) return Promise.resolve([]);
  let e = cache.get(url);
  if (!e) {
    e = { items: null, error: null };
    e.promise = api.get(url).then((d) => { e.items = asList(d, kind === 'staff' ? 'staff' : kind.startsWith('team') ? 'teams' : 'providers'); return e.items; },
      (err) => { e.error = err; throw err; });
    cache.set(url, e);
  }
  return e.promise;
}

export function invalidateList(kind) { cache.delete(URLS[kind]); }

export function useList(kind) {
  const e = cache.get(URLS[kind]);
  const [st, setSt] = useState(() => ({ items: e ? e.items : null, error: e ? e.error : null }));
  useEffect(() => {
    let alive = true;
    loadList(kind).then((items) => alive && setSt({ items, error: null }), (error) => alive && setSt({ items: null, error }));
    return () => { alive = false; };
  }, [kind]);
  return st;
}

export function itemLabel(x) {
  if (!x || typeof x !== 'object') return String(x);
  const name = x.name || x.title || x.email || x.id;
  return x.type && !x.name ? `${x.id} (${x.type})` : name === x.id ? String(x.id) : `${name} (${x.id})`;
}
