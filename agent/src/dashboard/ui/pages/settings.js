import { useEffect, useState } from 'preact/hooks';
import { api, ErrorLine, fmtTokens, html, useApi } from '../lib.js';

/** The price floor (wei per second, a decimal string) per hour in tokens; exact (BigInt), '' when not a number yet. */
function perHour(wei) {
  const t = wei.trim();
  return /^\d{1,78}$/.test(t) ? `= ${fmtTokens((BigInt(t) * 3600n).toString())} tokens per hour.` : '';
}

/** The text fields of the form: DeviceConfig path -> form key. An empty value means "back to the default". */
const TEXT_FIELDS = [['name', 'name'], ['owner', 'owner'], ['jobs.askPerSec', 'ask'], ['hubPreference', 'hubPreference']];

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
    if (data) {
      const v = data.values;
      setForm({ name: v.name, owner: v.owner, ask: v['jobs.askPerSec'], hubPreference: v.hubPreference, interval: String(v['telemetry.intervalSec']), password: '', confirm: '' });
    }
  }, [data]);
  if (!data || !form) return html`<${ErrorLine} error=${error} />`;
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });

  const save = async (e) => {
    e.preventDefault();
    setErrors({});
    setResult(null);
    if (form.password && form.password !== form.confirm) return setErrors({ 'dashboard.password': 'the two passwords differ' });
    const patch = {};
    for (const [field, key] of TEXT_FIELDS) {
      const value = key === 'hubPreference' && form[key] === 'best' ? '' : form[key].trim();
      const was = key === 'hubPreference' && data.values[field] === 'best' ? '' : data.values[field];
      if (value !== was) patch[field] = value;
    }
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

  const run = data.running;
  const pending = run.name !== (data.values.name || run.name) || ['owner', 'jobs.askPerSec', 'hubPreference', 'telemetry.intervalSec'].some((f) => run[f] !== data.values[f]);
  const hubs = data.hubs ?? [];
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
      <${Field} id="owner" label="Owner wallet" hint="The Ethereum address hubs approve this device's earnings to (no key is kept on the device). Empty: none. Takes effect when the agent restarts." error=${errors.owner}>
        <input id="owner" value=${form.owner} onInput=${set('owner')} placeholder="0x… (40 hex digits)" spellcheck="false" autocomplete="off" />
      <//>
      <${Field} id="jobs.askPerSec" label="Price floor (token wei per second)" hint=${`The least this device takes for a job, in wei (10^18 wei = 1 token) per second of running. ${perHour(form.ask)} Takes effect when the agent restarts.`} error=${errors['jobs.askPerSec']}>
        <input id="jobs.askPerSec" inputmode="numeric" value=${form.ask} onInput=${set('ask')} placeholder="0" spellcheck="false" />
      <//>
      <${Field} id="hubPreference" label="Hub preference" hint="Best: the agent ranks the configured hubs (trusted first, then the price they pay). A chosen hub wins over the ranking when it passes the trust checks; one that fails them is still refused. Takes effect when the agent restarts." error=${errors.hubPreference}>
        <select id="hubPreference" value=${form.hubPreference} onChange=${set('hubPreference')}>
          <option value="best">Best (ranking)</option>
          ${(hubs.includes(form.hubPreference) || form.hubPreference === 'best' ? hubs : [...hubs, form.hubPreference]).map((u) => html`<option value=${u}>${u}</option>`)}
        </select>
      <//>
      <button type="submit" disabled=${busy}>Save</button>
      ${result ? html`<p class=${result.ok ? 'ok' : 'error'} role="status" data-testid="settings-result">${result.text}</p>` : null}
      ${pending ? html`<p class="muted" data-testid="restart-pending">Saved values differ from what the agent runs with (running: ${run.name}, every ${run['telemetry.intervalSec']} s, ask ${run['jobs.askPerSec']} wei/s, owner ${run.owner || 'none'}, hub preference ${run.hubPreference}) until it restarts.</p>` : null}
      <p class="muted">Config file: <code>${data.file ?? 'none (configured from the environment: settings cannot be saved)'}</code></p>
    </form>
  </section>`;
}
