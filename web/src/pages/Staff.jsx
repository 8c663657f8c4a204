// Staff: staff members (roles, teams, pages) with a live online dot fed by GET /api/presence
// and the websocket topic "presence"; teams with their domain rule and members.
import { useEffect, useState } from 'react';
import { useT } from '../i18n.js';
import { api, asList, enc } from '../api.js';
import { subscribe } from '../ws.js';
import { useLoad, ErrorText, toast, Modal } from '../lib/ui.jsx';

function list(v) { return Array.isArray(v) ? v.map((x) => (typeof x === 'object' && x ? x.name || x.id || x.staff : x)).join(', ') : v ? String(v) : ''; }

function presenceMap(d) {
  const m = new Map();
  if (Array.isArray(d)) for (const x of d) { if (typeof x === 'string') m.set(x, true); else if (x) m.set(x.staff || x.id || x.staff_id, x.online !== false); }
  else if (d && typeof d === 'object') {
    const arr = asList(d, 'presence', 'online', 'staff');
    if (arr.length) return presenceMap(arr);
    for (const [k, v] of Object.entries(d)) if (typeof v === 'boolean') m.set(k, v);
  }
  return m;
}

function NewStaff({ onClose, onDone }) {
  const t = useT();
  const [f, setF] = useState({ id: '', name: '', email: '', phone: '', roles: '', teams: '', pages: '', password: '' });
  const split = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
  async function submit(e) {
    e.preventDefault();
    const body = { name: f.name, email: f.email || undefined, phone: f.phone || undefined, roles: split(f.roles), teams: split(f.teams), pages: split(f.pages) };
    if (f.id) body.id = f.id;
    if (f.password) body.password = f.password;
    try { await api.post('/api/staff', body); onDone(); } catch (err) { toast(t('common.error', { msg: err.message }), 'error'); }
  }
  const inp = (k, label, type = 'text') => <label>{label}<input type={type} value={f[k]} onChange={(e) => setF({ ...f, [k]: e.target.value })} data-testid={`staff-${k}`} /></label>;
  return (
    <Modal title={t('staff.new')} onClose={onClose}>
      <form className="form" onSubmit={submit}>
        {inp('id', t('staff.id'))}{inp('name', t('staff.col.name'))}{inp('email', t('staff.col.email'), 'email')}{inp('phone', t('staff.col.phone'))}
        {inp('roles', `${t('staff.col.roles')} (${t('staff.rolesHint')})`)}{inp('teams', `${t('staff.col.teams')} (${t('staff.rolesHint')})`)}{inp('pages', `${t('staff.col.pages')} (${t('staff.rolesHint')})`)}
        {inp('password', t('login.password'), 'password')}
        <div className="row-end"><button type="button" onClick={onClose}>{t('common.cancel')}</button><button className="primary" data-testid="staff-create">{t('common.create')}</button></div>
      </form>
    </Modal>
  );
}

export default function Staff() {
  const t = useT();
  const staff = useLoad(() => api.get('/api/staff'), []);
  const teams = useLoad(() => api.get('/api/teams'), []);
  const [online, setOnline] = useState(new Map());
  const [adding, setAdding] = useState(false);

  useEffect(() => {
    api.get('/api/presence').then((d) => setOnline(presenceMap(d)), () => {});
    return subscribe('presence', (m) => {
      const id = m.staff || m.staff_id || m.id || (m.data && (m.data.staff || m.data.id));
      const on = m.online ?? (m.data && m.data.online);
      if (id != null) setOnline((old) => { const n = new Map(old); n.set(id, !!on); return n; });
    });
  }, []);

  async function setPresence(id, on) {
    try { await api.put(`/api/staff/${enc(id)}/presence`, { online: on }); setOnline((o) => new Map(o).set(id, on)); } catch (e) { toast(t('common.error', { msg: e.message }), 'error'); }
  }

  const people = asList(staff.data, 'staff');
  const tlist = asList(teams.data, 'teams');
  return (
    <div className="list-page" data-testid="staff-page">
      <div className="page-head">
        <h1>{t('staff.title')}</h1>
        <div className="spacer" />
        <button className="primary" onClick={() => setAdding(true)} data-testid="new-staff">{t('staff.new')}</button>
        <button onClick={() => { staff.reload(); teams.reload(); }}>{t('common.refresh')}</button>
      </div>
      <ErrorText error={staff.error} />
      {!staff.loading && !staff.error && !people.length && <div className="empty">{t('staff.empty')}</div>}
      {people.length > 0 && (
        <table className="grid">
          <thead><tr><th>{t('staff.col.online')}</th><th>{t('staff.col.name')}</th><th>{t('staff.col.email')}</th><th>{t('staff.col.phone')}</th><th>{t('staff.col.roles')}</th><th>{t('staff.col.teams')}</th><th>{t('staff.col.pages')}</th><th /></tr></thead>
          <tbody>
            {people.map((s) => {
              const on = online.has(s.id) ? online.get(s.id) : !!s.online;
              return (
                <tr key={s.id} data-testid="staff-row" data-staff-id={s.id}>
                  <td><span className={`dot ${on ? 'on' : 'off'}`} data-testid="presence-dot" data-online={on ? '1' : '0'} title={t(on ? 'staff.online' : 'staff.offline')} /></td>
                  <td><span className="strong">{s.name}</span><div className="muted small mono">{s.id}</div></td>
                  <td>{s.email}</td><td>{s.phone}</td>
                  <td>{list(s.roles)}</td><td>{list(s.teams)}</td><td>{list(s.pages)}</td>
                  <td className="actions"><button className="small" onClick={() => setPresence(s.id, !on)}>{t(on ? 'staff.setOffline' : 'staff.setOnline')}</button></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <h2>{t('staff.teams')}</h2>
      <ErrorText error={teams.error} />
      {!teams.loading && !teams.error && !tlist.length && <div className="empty">{t('staff.teamsEmpty')}</div>}
      {tlist.length > 0 && (
        <table className="grid">
          <thead><tr><th>{t('common.name')}</th><th>{t('staff.teamDomain')}</th><th>{t('staff.members')}</th></tr></thead>
          <tbody>
            {tlist.map((tm) => (
              <tr key={tm.id} data-testid="team-row">
                <td><span className="strong">{tm.name}</span><div className="muted small mono">{tm.id}</div></td>
                <td className="mono small">{tm.domain ? JSON.stringify(tm.domain) : '—'}</td>
                <td>{(tm.members || []).map((m, i) => (
                  <div key={i} className="small">
                    <span className={`dot ${online.get(m.staff) ? 'on' : 'off'}`} /> {m.staff}
                    {m.domain && <span className="mono muted"> {JSON.stringify(m.domain)}</span>}
                    {m.max_per_day != null && <span className="muted"> · {m.max_per_day} {t('staff.maxPerDay')}</span>}
                  </div>))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {adding && <NewStaff onClose={() => setAdding(false)} onDone={() => { setAdding(false); staff.reload(); }} />}
    </div>
  );
}
