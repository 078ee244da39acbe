import { useEffect, useState } from 'preact/hooks';
import { api, html } from '../lib.js';

export function Login() {
  const [mode, setMode] = useState(null);
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api('/api/login').then((r) => (r.authenticated ? location.replace('/') : setMode(r.mode)), () => setMode('password'));
  }, []);

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api('/api/login', { method: 'POST', body: { password } });
      const next = new URLSearchParams(location.search).get('next');
      location.replace(next && /^\/[a-z]*$/.test(next) ? next : '/');
    } catch (err) {
      setError(err.message);
      setBusy(false);
    }
  };

  return html`<main class="login">
    <form class="card" onSubmit=${submit} data-testid="login-form">
      <h1>sosna device</h1>
      <label for="password">${mode === 'code' ? 'One-time login code' : 'Dashboard password'}</label>
      ${mode === 'code' ? html`<p class="muted">No password is set: the agent prints a code on its console (or in its log) at start and after each use.</p>` : null}
      <input id="password" name="password" type="password" autocomplete="current-password" autofocus value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} />
      <button type="submit" disabled=${busy || !password}>Log in</button>
      ${error ? html`<p class="error" role="alert" data-testid="login-error">${error}</p>` : null}
    </form>
  </main>`;
}
