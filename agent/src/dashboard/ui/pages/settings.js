import { useEffect, useState } from 'preact/hooks';
import { api, ErrorLine, html, useApi } from '../lib.js';

function Field({ id, label, hint, error, children }) {
  return html`<div class=${`field${error ? ' invalid' : ''}`}>
    <label for=${id}>${label}</label>
    ${children}
    ${hint ? html`<small class="muted">${hint}</small>` : null}
    ${error ? html`<small class="error" role="alert" data-testid=${`error-${id}`}>${error}</small>` : null}
  </div>`;
}

export function Settings() {
  const { data, error, reload } = useApi('/api/settings');
  const [form, setForm] = useState(null);
  const [errors, setErrors] = useState({});
  const [result, setResult] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (data) setForm({ name: data.values.name, interval: String(data.values['telemetry.intervalSec']), password: '', confirm: '' });
  }, [data]);
  if (!data || !form) return html`<${ErrorLine} error=${error} />`;
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });

  const save = async (e) => {
    e.preventDefault();
    setErrors({});
    setResult(null);
    if (form.password && form.password !== form.confirm) return setErrors({ 'dashboard.password': 'the two passwords differ' });
    const patch = {};
    if (form.name !== data.values.name) patch.name = form.name;
    if (form.interval !== String(data.values['telemetry.intervalSec'])) {
      const n = Number(form.interval);
      patch['telemetry.intervalSec'] = form.interval.trim() !== '' && Number.isFinite(n) ? n : form.interval;
    }
    if (form.password) patch['dashboard.password'] = form.password;
    if (Object.keys(patch).length === 0) return setResult({ ok: true, text: 'Nothing changed.' });
    setBusy(true);
    try {
      const r = await api('/api/settings', { method: 'PUT', body: patch });
      const parts = ['Saved.'];
      if (r.restartRequired.length) parts.push(`Takes effect when the agent restarts: ${r.restartRequired.join(', ')}.`);
      if (r.changed.includes('dashboard.password')) parts.push('Password changed; other browsers are logged out.');
      if (r.overriddenByEnv.length) parts.push(`Note: an environment variable overrides ${r.overriddenByEnv.join(', ')}.`);
      setResult({ ok: true, text: parts.join(' ') });
      reload();
    } catch (err) {
      const list = err.data?.errors ?? [];
      setErrors(Object.fromEntries(list.map((x) => [x.field, x.reason])));
      setResult({ ok: false, text: list.length ? `Not saved: ${list.map((x) => `${x.field}: ${x.reason}`).join('; ')}` : err.message });
    } finally {
      setBusy(false);
    }
  };

  const pending = data.running.name !== (data.values.name || data.running.name) || data.running['telemetry.intervalSec'] !== data.values['telemetry.intervalSec'];
  return html`<section>
    <h2>Settings</h2>
    <form class="card form" onSubmit=${save} data-testid="settings-form" novalidate>
      <${Field} id="name" label="Device name" hint="Empty: the host name." error=${errors.name}>
        <input id="name" value=${form.name} onInput=${set('name')} maxlength="200" />
      <//>
      <${Field} id="telemetry.intervalSec" label="Telemetry interval (seconds)" hint="1 to 3600" error=${errors['telemetry.intervalSec']}>
        <input id="telemetry.intervalSec" inputmode="decimal" value=${form.interval} onInput=${set('interval')} />
      <//>
      <${Field} id="dashboard.password" label=${data.login === 'password' ? 'New dashboard password' : 'Dashboard password (none set: login uses a one-time code)'} hint="At least 8 characters; stored as a scrypt hash." error=${errors['dashboard.password']}>
        <input id="dashboard.password" type="password" autocomplete="new-password" value=${form.password} onInput=${set('password')} />
        <input id="dashboard.password.confirm" type="password" autocomplete="new-password" placeholder="repeat" value=${form.confirm} onInput=${set('confirm')} />
      <//>
      <fieldset disabled class="later">
        <legend>Coming with jobs and payouts</legend>
        <label>Hub preference <input placeholder="any hub" /></label>
        <label>Owner wallet <input placeholder="0x…" /></label>
        <label>Price floor <input placeholder="tokens per hour" /></label>
      </fieldset>
      <button type="submit" disabled=${busy}>Save</button>
      ${result ? html`<p class=${result.ok ? 'ok' : 'error'} role="status" data-testid="settings-result">${result.text}</p>` : null}
      ${pending ? html`<p class="muted" data-testid="restart-pending">Saved values differ from what the agent runs with (running: ${data.running.name}, every ${data.running['telemetry.intervalSec']} s) until it restarts.</p>` : null}
      <p class="muted">Config file: <code>${data.file ?? 'none (configured from the environment: settings cannot be saved)'}</code></p>
    </form>
  </section>`;
}
