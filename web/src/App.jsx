// App: the shell — language, login, top navigation and the page for the current route.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { I18nContext, detectLang, saveLang, translate } from './i18n.js';
import { api, getToken, setToken, setCsrf, onUnauthorized, ApiError } from './api.js';
import { disconnect, onWsStatus } from './ws.js';
import { useRoute, navigate } from './lib/router.js';
import { Toasts, LangSwitch } from './lib/ui.jsx';
import { useStore } from './lib/store.js';
import { meStore, loadMe } from './lib/me.js';
import Login from './pages/Login.jsx';
import FlowList from './pages/FlowList.jsx';
import FlowEditor from './pages/FlowEditor.jsx';
import Runs from './pages/Runs.jsx';
import Staff from './pages/Staff.jsx';

const SESSION_KEY = 'flowd.session';

function isLoggedIn() {
  try { return !!getToken() || localStorage.getItem(SESSION_KEY) === '1'; } catch { return false; }
}

export default function App() {
  const [lang, setLangState] = useState(detectLang);
  const [authed, setAuthed] = useState(isLoggedIn);
  const setLang = useCallback((l) => { saveLang(l); setLangState(l); }, []);
  const i18n = useMemo(() => ({ lang, setLang, t: (k, p) => translate(lang, k, p) }), [lang, setLang]);
  useEffect(() => { document.documentElement.lang = lang; }, [lang]);

  const logout = useCallback(() => {
    if (!getToken()) api.post('/api/logout', {}, { noAuthRedirect: true }).catch(() => {});
    setToken('');
    setCsrf('');
    try { localStorage.removeItem(SESSION_KEY); } catch { /* ignore */ }
    disconnect();
    meStore.set(null);
    setAuthed(false);
  }, []);
  useEffect(() => { onUnauthorized(logout); }, [logout]);

  const onLogin = useCallback(({ token, session }) => {
    if (token) setToken(token);
    if (session) try { localStorage.setItem(SESSION_KEY, '1'); } catch { /* ignore */ }
    setAuthed(true);
  }, []);

  return (
    <I18nContext.Provider value={i18n}>
      {authed ? <Shell onLogout={logout} /> : <Login onLogin={onLogin} />}
      <Toasts />
    </I18nContext.Provider>
  );
}

function WsDot() {
  const [s, setS] = useState('closed');
  useEffect(() => onWsStatus(setS), []);
  return (
    <I18nContext.Consumer>
      {({ t }) => <span className={`ws-dot ws-${s}`} title={t(`ws.${s}`)} data-testid="ws-status">{t(`ws.${s}`)}</span>}
    </I18nContext.Consumer>
  );
}

/* Who is logged in (GET /api/me); for a session it also renews the CSRF token. */
function Me() {
  const me = useStore(meStore);
  useEffect(() => { loadMe(); }, []);
  if (!me) return null;
  const name = (me.staff && me.staff.name) || me.name || '';
  return <span className="me" data-testid="me" title={me.role || ''}>{name}{me.role ? ` · ${me.role}` : ''}</span>;
}

function Shell({ onLogout }) {
  const { parts } = useRoute();
  const section = parts[0] || 'flows';
  const tabs = ['flows', 'runs', 'staff'];
  return (
    <I18nContext.Consumer>
      {({ t }) => (
        <div className="shell">
          <header className="topnav">
            <a className="brand" href="#/flows">flowd</a>
            <nav>
              {tabs.map((s) => (
                <a key={s} href={`#/${s}`} className={section === s ? 'active' : ''} data-testid={`nav-${s}`}>{t(`nav.${s}`)}</a>
              ))}
            </nav>
            <div className="spacer" />
            <Me />
            <WsDot />
            <LangSwitch />
            <button className="link" onClick={onLogout} data-testid="logout">{t('nav.logout')}</button>
          </header>
          <main className="page">
            {section === 'flows' && !parts[1] && <FlowList />}
            {section === 'flows' && parts[1] && <FlowEditor key={parts[1]} flowId={parts[1]} />}
            {section === 'runs' && <Runs runId={parts[1]} />}
            {section === 'staff' && <Staff />}
            {!tabs.includes(section) && <FlowList />}
          </main>
        </div>
      )}
    </I18nContext.Consumer>
  );
}

export { navigate, api, ApiError };
