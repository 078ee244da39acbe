// What this device earned: accrued and paid from each hub's ledger (asked over the agent's link), what the
// owner can claim from the hub's wallet on chain; refreshed every few seconds and when a run ends.
import { useEffect } from 'preact/hooks';
import { ErrorLine, fmtDuration, fmtTime, fmtTokens, html, useApi } from '../lib.js';
import { onJobEvent } from '../live.js';

const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'lost']);

export function Earnings() {
  const { data, error, reload } = useApi('/api/earnings', 5000);
  useEffect(() => onJobEvent((kind, p) => kind === 'update' && FINAL.has(p.state) && setTimeout(reload, 500)), [reload]);
  if (!data) return html`<${ErrorLine} error=${error} />`;
  const e = data.earnings;
  if (!data.available || !e) return html`<section><h2>Earnings</h2><p class="card muted" data-testid="earnings-unavailable">Earnings appear here once this device runs paid jobs for a hub.</p></section>`;
  const stat = (label, wei, id, why) => html`<div class="card stat"><span class="label">${label}</span>${wei == null
    ? html`<span class="value" data-testid=${`earnings-${id}`}>unknown</span><small class="muted" data-testid=${`earnings-${id}-why`}>${why}</small>`
    : html`<span class="value" data-testid=${`earnings-${id}`} data-wei=${wei}>${fmtTokens(wei)} ${e.token}</span>`}</div>`;
  return html`<section>
    <h2>Earnings</h2>
    <p class="muted">Owner: <code data-testid="earnings-owner">${e.owner ?? 'not set (owner in the device config)'}</code></p>
    <div class="grid" style="margin-bottom:16px">
      ${stat('Accrued (this device)', e.accrued, 'accrued')}
      ${stat('Paid (this device)', e.paid, 'paid')}
      ${stat('Claimable (owner, on chain)', e.claimable, 'claimable', e.claimableNote)}
    </div>
    <table class="card">
      <thead><tr><th>Hub</th><th>Runs</th><th>Billed</th><th>Accrued</th><th>Paid</th><th>Claimable</th><th>As of</th></tr></thead>
      <tbody>${e.perHub.map((h) => html`<tr key=${h.hubId} data-testid=${`earnings-hub-${h.hubId}`}>
          <td>${h.hubId}${h.wallet ? html`<br /><small class="muted">wallet ${h.wallet}</small>` : null}</td>
          <td>${h.runs ?? '—'}</td><td>${h.seconds != null ? fmtDuration(h.seconds) : '—'}</td>
          <td>${fmtTokens(h.accrued)}</td><td>${fmtTokens(h.paid)}</td><td>${h.claimable == null ? 'unknown' : fmtTokens(h.claimable)}</td><td>${fmtTime(h.asOf)}</td>
        </tr>${h.note ? html`<tr><td colspan="7" class="muted">${h.note}</td></tr>` : null}`)}</tbody>
    </table>
  </section>`;
}
