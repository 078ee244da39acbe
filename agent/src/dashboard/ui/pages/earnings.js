import { ErrorLine, fmtTokens, html, useApi } from '../lib.js';

export function Earnings() {
  const { data, error } = useApi('/api/earnings', 30_000);
  if (!data) return html`<${ErrorLine} error=${error} />`;
  const e = data.earnings;
  if (!data.available || !e) return html`<section><h2>Earnings</h2><p class="card muted" data-testid="earnings-unavailable">Earnings appear here once this device runs paid jobs for a hub.</p></section>`;
  return html`<section>
    <h2>Earnings</h2>
    <div class="grid">
      <div class="card stat"><span class="label">Accrued</span><span class="value">${fmtTokens(e.accrued)} ${e.token}</span></div>
      <div class="card stat"><span class="label">Paid</span><span class="value">${fmtTokens(e.paid)} ${e.token}</span></div>
      <div class="card stat"><span class="label">Claimable</span><span class="value">${fmtTokens(e.claimable)} ${e.token}</span></div>
    </div>
    <table class="card">
      <thead><tr><th>Hub</th><th>Accrued</th><th>Paid</th><th>Claimable</th></tr></thead>
      <tbody>${e.perHub.map((h) => html`<tr key=${h.hubId}><td>${h.hubId}</td><td>${fmtTokens(h.accrued)}</td><td>${fmtTokens(h.paid)}</td><td>${fmtTokens(h.claimable)}</td></tr>`)}</tbody>
    </table>
  </section>`;
}
