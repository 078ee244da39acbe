import { ErrorLine, fmtTime, html, useApi } from '../lib.js';

export function Jobs() {
  const { data, error } = useApi('/api/jobs', 5000);
  if (!data) return html`<${ErrorLine} error=${error} />`;
  if (!data.available) return html`<section><h2>Jobs</h2><p class="card muted" data-testid="jobs-unavailable">The job runner does not report to the dashboard on this agent yet.</p></section>`;
  return html`<section>
    <h2>Jobs</h2>
    ${data.jobs.length === 0
      ? html`<p class="card muted">No jobs yet.</p>`
      : html`<table class="card" data-testid="jobs-table">
          <thead><tr><th>Job</th><th>Image</th><th>State</th><th>Started</th><th>Ended</th><th>Exit</th></tr></thead>
          <tbody>${data.jobs.map((j) => html`<tr key=${j.id}>
            <td><code>${j.id}</code></td><td>${j.image}</td><td>${j.state}</td><td>${fmtTime(j.startedAt)}</td><td>${fmtTime(j.endedAt)}</td><td>${j.exitCode ?? '—'}</td>
          </tr>${j.logTail?.length ? html`<tr><td colspan="6"><pre class="logs small">${j.logTail.join('\n')}</pre></td></tr>` : null}`)}</tbody>
        </table>`}
  </section>`;
}
