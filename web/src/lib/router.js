// router: hash routes (#/flows, #/flows/<id>, #/runs, #/runs/<id>, #/staff) so the server
// only has to serve index.html at "/". A guard (unsaved changes) may veto navigation.
import { useEffect, useState } from 'react';

let guard = null;
let approved = null; // a hash navigate() already asked the guard about
export function setNavigationGuard(fn) { guard = fn; }

export function parseHash(h = location.hash) {
  const [path, q = ''] = h.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, query: Object.fromEntries(new URLSearchParams(q)) };
}

export function navigate(to) {
  if (guard && !guard(to)) return;
  approved = `#${String(to).replace(/^#/, '')}`;
  location.hash = to;
}

export function useRoute() {
  const [r, setR] = useState(() => parseHash());
  useEffect(() => {
    let last = location.hash;
    const on = () => {
      const asked = approved === location.hash;
      approved = null;
      if (!asked && guard && !guard(location.hash)) { history.replaceState(null, '', last); return; }
      last = location.hash;
      setR(parseHash());
    };
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return r;
}
