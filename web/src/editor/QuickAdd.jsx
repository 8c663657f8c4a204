// QuickAdd: double-click the empty canvas, type a few letters, Enter — the node is added
// where you clicked (Node-RED's quick-add, n8n's node creator, without leaving the keyboard).
import { useMemo, useState } from 'react';
import { useT, typeTitle } from '../i18n.js';

export default function QuickAdd({ registry, at, onAdd, onClose }) {
  const t = useT();
  const [q, setQ] = useState('');
  const [sel, setSel] = useState(0);
  const items = useMemo(() => {
    const n = q.trim().toLowerCase();
    const all = [...registry.values()];
    const hit = n ? all.filter((x) => `${x.name} ${x.title} ${typeTitle(t, x)}`.toLowerCase().includes(n)) : all;
    return hit.slice(0, 9);
  }, [registry, q, t]);
  const pick = (x) => { if (x) onAdd(x.name); onClose(); };
  return (
    <div className="quick-add" style={{ left: at.x, top: at.y }} data-testid="quick-add" onMouseDown={(e) => e.stopPropagation()}>
      <input autoFocus value={q} placeholder={t('palette.search')} data-testid="quick-add-input"
        onChange={(e) => { setQ(e.target.value); setSel(0); }}
        onKeyDown={(e) => {
          if (e.key === 'Escape') { e.stopPropagation(); onClose(); }
          else if (e.key === 'ArrowDown') { e.preventDefault(); setSel((i) => Math.min(items.length - 1, i + 1)); }
          else if (e.key === 'ArrowUp') { e.preventDefault(); setSel((i) => Math.max(0, i - 1)); }
          else if (e.key === 'Enter') { e.preventDefault(); pick(items[sel]); }
        }}
        onBlur={() => setTimeout(onClose, 150)} />
      <ul>
        {items.map((x, i) => (
          <li key={x.name} className={`g-${x.group}${i === sel ? ' on' : ''}`} onMouseDown={(e) => { e.preventDefault(); pick(x); }} data-type={x.name}>
            <span className="strong">{typeTitle(t, x)}</span> <span className="muted small mono">{x.name}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
