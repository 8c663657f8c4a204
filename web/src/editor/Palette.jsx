// Palette: the node types from the registry, grouped (triggers, conditions, actions,
// control), searchable; drag an entry onto the canvas, or click it to add it at the centre.
import { memo, useMemo, useState } from 'react';
import { useT, typeTitle } from '../i18n.js';
import { groupTypes } from '../model/registry.js';

function Palette({ registry, onAdd, disabled }) {
  const t = useT();
  const [q, setQ] = useState('');
  const groups = useMemo(() => groupTypes(registry), [registry]);
  const needle = q.trim().toLowerCase();
  return (
    <aside className="palette" data-testid="palette">
      <div className="side-head">{t('palette.title')}</div>
      <input className="search" type="search" placeholder={t('palette.search')} value={q} onChange={(e) => setQ(e.target.value)} />
      <div className="palette-scroll">
        {groups.map(({ group, types }) => {
          const shown = needle ? types.filter((x) => `${x.name} ${x.title} ${typeTitle(t, x)} ${x.description}`.toLowerCase().includes(needle)) : types;
          if (!shown.length) return null;
          return (
            <div key={group} className="pal-group">
              <div className="pal-group-title">{t(`group.${group}`)}</div>
              {shown.map((x) => (
                <div
                  key={x.name}
                  className={`pal-item g-${x.group}`}
                  draggable={!disabled}
                  onDragStart={(e) => { e.dataTransfer.setData('application/x-flowd-type', x.name); e.dataTransfer.effectAllowed = 'copy'; }}
                  onClick={() => !disabled && onAdd(x.name)}
                  title={x.description || x.name}
                  data-testid="palette-item"
                  data-type={x.name}
                >
                  <div className="pal-title">{typeTitle(t, x)}</div>
                  <div className="pal-name">{x.name}</div>
                </div>
              ))}
            </div>
          );
        })}
      </div>
      <div className="hint small">{t('palette.hint')}</div>
    </aside>
  );
}

export default memo(Palette);
