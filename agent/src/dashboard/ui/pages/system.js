import { ErrorLine, fmtBytes, fmtDuration, html, useApi } from '../lib.js';

const when = (ms) => (ms ? new Date(ms).toLocaleString() : '—');

/** The update state (agent/src/dashboard/update-view.ts): running bundle, fallback, trial, rollback, refusal. */
function Update({ u }) {
  return html`<div class="card" data-testid="update">
    <p data-testid="update-summary"><strong>${u.summary}</strong></p>
    <dl>
      <dt>Bundle</dt><dd data-testid="update-current">${u.current ? `updated bundle ${u.current}` : 'the installed bundle'}</dd>
      <dt>Falls back to</dt><dd data-testid="update-previous">${u.current ? (u.previous ?? 'the installed bundle') : '—'}</dd>
      <dt>Trial</dt><dd data-testid="update-trial">${u.trial ? `${u.trial.version}: start ${u.trial.attempts} of ${u.trial.maxAttempts}, must report healthy ${u.trial.deadline ? `by ${when(u.trial.deadline)}` : `within ${u.trial.healthDeadlineSec} s of its start`}` : 'none'}</dd>
      <dt>Last rollback</dt><dd data-testid="update-rollback">${u.lastRollback ? `${u.lastRollback.version} at ${when(u.lastRollback.at)}: ${u.lastRollback.reason}` : 'none'}</dd>
      ${u.outcome ? html`<dt>Last outcome</dt><dd data-testid="update-outcome">${u.outcome.version} ${u.outcome.state}${u.outcome.reason ? `: ${u.outcome.reason}` : ''} (not yet acknowledged by the hub)</dd>` : null}
      <dt>Last refused offer</dt><dd data-testid="update-refused">${u.lastRefused ? `${u.lastRefused.version} at ${when(u.lastRefused.at)}: ${u.lastRefused.reason}` : 'none since the agent started'}</dd>
    </dl>
    ${u.unreadable ? html`<p class="error" role="alert" data-testid="update-unreadable">Update state unreadable (the installed bundle runs): ${u.unreadable}</p>` : null}
  </div>`;
}

export function System() {
  const { data, error } = useApi('/api/system', 5000);
  if (!data) return html`<${ErrorLine} error=${error} />`;
  return html`<section>
    <h2>System</h2>
    <div class="card">
      <dl>
        <dt>Agent version</dt><dd data-testid="agent-version">${data.agentVersion}</dd>
        <dt>Node.js</dt><dd>${data.node}</dd>
        <dt>Uptime</dt><dd>${fmtDuration(data.uptimeSec)}</dd>
        <dt>Agent memory</dt><dd>${fmtBytes(data.rssBytes)} resident, ${fmtBytes(data.heapUsedBytes)} heap</dd>
        <dt>Config file</dt><dd><code>${data.configFile ?? '(environment)'}</code></dd>
        <dt>State directory</dt><dd><code>${data.stateDir}</code></dd>
      </dl>
    </div>
    <h3>Updates</h3>
    <${Update} u=${data.update} />
    <h3>Log (newest last)</h3>
    <pre class="card logs" data-testid="logs">${data.logs.join('\n') || 'no log lines kept'}</pre>
  </section>`;
}
