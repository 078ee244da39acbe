import { ErrorLine, fmtBytes, fmtDuration, html, useApi } from '../lib.js';

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
        <dt>Updates</dt><dd>${data.update.note}</dd>
        <dt>Config file</dt><dd><code>${data.configFile ?? '(environment)'}</code></dd>
        <dt>State directory</dt><dd><code>${data.stateDir}</code></dd>
      </dl>
    </div>
    <h3>Log (newest last)</h3>
    <pre class="card logs" data-testid="logs">${data.logs.join('\n') || 'no log lines kept'}</pre>
  </section>`;
}
