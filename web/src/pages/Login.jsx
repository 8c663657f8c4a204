// Login: e-mail/password through POST /api/login (session); when the server has no such
// endpoint (404) or the user prefers, an admin API token pasted here and kept in localStorage.
import { useState } from 'react';
import { useT } from '../i18n.js';
import { request, setToken, setCsrf, ApiError } from '../api.js';
import { LangSwitch } from '../lib/ui.jsx';

export default function Login({ onLogin }) {
  const t = useT();
  const [mode, setMode] = useState('password');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [token, setTok] = useState('');
  const [msg, setMsg] = useState(null);
  const [busy, setBusy] = useState(false);

  async function submitPassword(e) {
    e.preventDefault();
    setBusy(true); setMsg(null);
    try {
      setToken('');
      const res = await request('POST', '/api/login', { email, password }, { noAuthRedirect: true });
      // flowd answers with a session cookie (HttpOnly) plus the CSRF token writes must carry.
      const tok = res && (res.token || (res.session && res.session.token));
      if (res && res.csrf_token) setCsrf(res.csrf_token);
      onLogin({ token: tok, session: true });
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405 || err.status === 501)) {
        setMode('token');
        setMsg({ kind: 'info', text: t('login.noSession') });
      } else setMsg({ kind: 'error', text: t('login.failed', { msg: err.message }) });
    } finally { setBusy(false); }
  }

  async function submitToken(e) {
    e.preventDefault();
    const tok = token.trim();
    if (!tok) return;
    setBusy(true); setMsg(null);
    setToken(tok);
    try {
      // /api/me answers for any valid token whatever its role; older servers: /api/flows.
      try { await request('GET', '/api/me', undefined, { noAuthRedirect: true }); } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 404) throw e;
        await request('GET', '/api/flows', undefined, { noAuthRedirect: true });
      }
      onLogin({ token: tok });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        setToken('');
        setMsg({ kind: 'error', text: t('login.badToken') });
      } else onLogin({ token: tok }); // the flows API may not exist yet; the token is still ours
    } finally { setBusy(false); }
  }

  return (
    <div className="login">
      <div className="login-box">
        <div className="login-head"><h1>{t('login.title')}</h1><LangSwitch /></div>
        {msg && <div className={msg.kind === 'error' ? 'error' : 'note'} role="alert">{msg.text}</div>}
        {mode === 'password' ? (
          <form onSubmit={submitPassword} data-testid="login-form">
            <label>{t('login.email')}<input type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required /></label>
            <label>{t('login.password')}<input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required /></label>
            <button className="primary" disabled={busy}>{t('login.submit')}</button>
            <button type="button" className="link" onClick={() => { setMode('token'); setMsg(null); }} data-testid="use-token">{t('login.useToken')}</button>
          </form>
        ) : (
          <form onSubmit={submitToken} data-testid="token-form">
            <label>{t('login.token')}<input type="password" name="token" value={token} onChange={(e) => setTok(e.target.value)} autoFocus data-testid="token-input" /></label>
            <div className="hint">{t('login.tokenHint')}</div>
            <button className="primary" disabled={busy} data-testid="token-submit">{t('login.tokenSubmit')}</button>
            <button type="button" className="link" onClick={() => { setMode('password'); setMsg(null); }}>{t('login.usePassword')}</button>
          </form>
        )}
      </div>
    </div>
  );
}
