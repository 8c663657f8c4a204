// useRegistry: loads GET /api/node-types once per page load and shares the registry.
import { useEffect, useState } from 'react';
import { api, asList } from '../api.js';
import { normalizeTypes } from './registry.js';

let cached = null; // {promise, value, error}

export function loadRegistry(force) {
  if (!cached || force) {
    const c = { value: null, error: null };
    c.promise = api.get('/api/node-types').then((d) => { c.value = normalizeTypes(asList(d, 'node_types', 'types', 'nodes')); return c.value; },
      (e) => { c.error = e; c.value = new Map(); return c.value; });
    cached = c;
  }
  return cached.promise;
}

export function useRegistry() {
  const [st, setSt] = useState(() => (cached && cached.value ? { registry: cached.value, error: cached.error } : null));
  useEffect(() => {
    let alive = true;
    loadRegistry(cached && cached.error).then((registry) => alive && setSt((old) => (old && old.registry === registry ? old : { registry, error: cached.error })));
    return () => { alive = false; };
  }, []);
  return st;
}
