// shortcuts: the editor's keyboard map (the keys users of node editors expect). Keys are
// ignored while typing in a field, except Ctrl+S; the list shown to users is SHORTCUTS in
// Dialogs.jsx and must follow this map.
import { useEffect, useRef } from 'react';

function isTyping(el) {
  if (!el) return false;
  const tag = el.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable;
}

export function useShortcuts(h) {
  // The latest handlers, without re-binding the listener on every render.
  const ref = useRef(h);
  ref.current = h;
  useEffect(() => {
    const onKey = (e) => {
      const x = ref.current;
      const mod = e.ctrlKey || e.metaKey;
      const k = e.key.toLowerCase();
      if (mod && k === 's') { e.preventDefault(); if (!x.readOnly) x.save(); return; }
      if (isTyping(e.target) || !x.enabled) return;
      if (x.readOnly) {
        // Looking is allowed: selection, fit, help. Nothing that edits.
        if (e.key === 'Escape') x.deselect();
        else if (e.key === '?') x.help();
        else if (!mod && !e.altKey && !e.shiftKey && k === 'f') x.fit();
        else if (mod && k === 'a') { e.preventDefault(); x.selectAll(); }
        return;
      }
      if (mod && k === 'z' && !e.shiftKey) { e.preventDefault(); x.undo(); }
      else if ((mod && k === 'z' && e.shiftKey) || (mod && k === 'y')) { e.preventDefault(); x.redo(); }
      else if (mod && k === 'c') { if (x.copy()) e.preventDefault(); }
      else if (mod && k === 'x') { if (x.copy()) { e.preventDefault(); x.deleteSelection(); } }
      else if (mod && k === 'v') { e.preventDefault(); x.paste(); }
      else if (mod && k === 'd') { e.preventDefault(); if (x.copy()) x.paste(); }
      else if (mod && k === 'a') { e.preventDefault(); x.selectAll(); }
      else if (e.key === 'Delete' || e.key === 'Backspace') { e.preventDefault(); x.deleteSelection(); }
      else if (e.key === 'Escape') x.deselect();
      else if (e.key === '/') { e.preventDefault(); const el = document.querySelector('.palette .search'); if (el) el.focus(); }
      else if (e.key === '?') x.help();
      else if (!mod && !e.altKey && !e.shiftKey && k === 'f') x.fit();
      else if (!mod && e.shiftKey && k === 'l') x.tidy();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}
