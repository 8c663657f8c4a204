// Small observable stores. createStore holds one value (useSyncExternalStore-friendly);
// createKeyedStore holds one value per key and notifies only that key's subscribers, which
// is how per-node overlays (problems, counters, test-run status) reach exactly the node
// components that changed instead of re-rendering the whole canvas.
import { useSyncExternalStore, useCallback } from 'react';

export function createStore(initial) {
  let state = initial;
  const ls = new Set();
  return {
    get: () => state,
    set(next) {
      const v = typeof next === 'function' ? next(state) : next;
      if (v === state) return;
      state = v;
      ls.forEach((f) => f());
    },
    subscribe(f) { ls.add(f); return () => ls.delete(f); },
  };
}

export function useStore(store, select = (s) => s) {
  const get = useCallback(() => select(store.get()), [store, select]);
  return useSyncExternalStore(store.subscribe, get, get);
}

export function createKeyedStore() {
  let map = new Map();
  const subs = new Map(); // key -> Set<fn>
  const anySubs = new Set();
  let version = 0;
  function notify(keys) {
    version++;
    for (const k of keys) { const s = subs.get(k); if (s) s.forEach((f) => f()); }
    anySubs.forEach((f) => f());
  }
  return {
    get: (k) => map.get(k),
    all: () => map,
    version: () => version,
    /* Replace a batch of keys at once: entries is an iterable of [key, value|undefined]. */
    setMany(entries) {
      const changed = [];
      for (const [k, v] of entries) {
        if (map.get(k) === v) continue;
        if (v === undefined) map.delete(k); else map.set(k, v);
        changed.push(k);
      }
      if (changed.length) notify(changed);
    },
    set(k, v) { this.setMany([[k, v]]); },
    /* Replace the whole content; only keys whose value changed are notified. */
    replace(next) {
      const changed = [];
      for (const k of map.keys()) if (!next.has(k)) changed.push(k);
      for (const [k, v] of next) if (map.get(k) !== v) changed.push(k);
      map = next;
      if (changed.length) notify(changed);
    },
    clear() { this.replace(new Map()); },
    subscribe(k, f) {
      let s = subs.get(k);
      if (!s) subs.set(k, (s = new Set()));
      s.add(f);
      return () => { s.delete(f); if (!s.size) subs.delete(k); };
    },
    subscribeAll(f) { anySubs.add(f); return () => anySubs.delete(f); },
  };
}

export function useKeyed(store, key) {
  const sub = useCallback((f) => store.subscribe(key, f), [store, key]);
  const get = useCallback(() => store.get(key), [store, key]);
  return useSyncExternalStore(sub, get, get);
}

export function useKeyedVersion(store) {
  return useSyncExternalStore(store.subscribeAll, store.version, store.version);
}
