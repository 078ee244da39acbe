import { Badge, ErrorLine, fmtBytes, fmtDuration, fmtHashrate, fmtNum, fmtTime, html, minersOf, rateText, rigEarningsRows, useApi } from '../lib.js';
import { useLive } from '../live.js';

export function Overview() {
  const { data, error } = useApi('/api/overview', 10_000);
  const rig = useApi('/api/rig/earnings', 30_000).data;
  const live = useLive();
  if (!data) return html`<${ErrorLine} error=${error} />`;
  const d = data.device;
  const online = live.link ? live.link.status === 'online' : d.connected;
  const m = live.latest?.metrics ?? data.latest?.metrics ?? {};
  return html`<section>
    <h2>Overview</h2>
    <div class="grid">
      <div class="card">
        <h3>${d.name}</h3>
        <dl>
          <dt>Device id</dt><dd data-testid="device-id">${d.deviceId}</dd>
          <dt>Hub</dt><dd>${d.hubId} <span class="muted">${d.hubUrl}</span></dd>
          <dt>Hub link</dt><dd><${Badge} level=${online ? 'ok' : 'error'} testid="link-state">${online ? 'connected' : 'not connected'}<//></dd>
          <dt>Agent</dt><dd>${d.agentVersion}, up ${fmtDuration(d.uptimeSec)}</dd>
          <dt>System</dt><dd>${d.os.distro} (${d.arch}), kernel ${d.os.kernel}</dd>
          <dt>CPU</dt><dd>${d.cpu.brand}, ${d.cpu.cores} threads</dd>
          <dt>Memory</dt><dd>${fmtBytes(d.memoryTotalBytes)}</dd>
        </dl>
      </div>
      <div class="card">
        <h3>Health <${Badge} level=${data.health.level} testid="health">${data.health.level}<//></h3>
        <ul class="checks">
          ${data.health.checks.map((c) => html`<li><${Badge} level=${c.level}>${c.level}<//> ${c.name}: <span class="muted">${c.detail}</span></li>`)}
        </ul>
      </div>
      ${d.hubChoice ? html`<div class="card" data-testid="hub-choice">
        <h3>Hub choice</h3>
        <p>Chose <b>${d.hubChoice.hubId}</b> <span class="muted">${d.hubChoice.url}, ${fmtTime(d.hubChoice.at)}: ${d.hubChoice.why}</span></p>
        <ol>
          ${d.hubChoice.ranking.map((h) => html`<li>${h.hubId} <span class="muted">${h.trusted ? 'trusted' : 'listed'}, pays ${h.price ?? '?'} wei/s, approved to owner ${h.paidToOwner} wei</span>
            <div class="muted" data-testid="hub-record">record ${h.record ? h.record.summary : 'unknown'}</div></li>`)}
        </ol>
        ${d.hubChoice.refused.map((h) => html`<div><${Badge} level="error">refused<//> ${h.hubId}: <span class="muted">${h.reasons.join('; ')}</span></div>`)}
      </div>` : null}
      ${minersOf(m).map((r) => html`<div class="card" data-testid="miner">
        <h3>Mining ${r.id} <${Badge} level=${r.up ? 'ok' : 'warn'}>${r.up ? 'running' : 'not running'}<//></h3>
        <dl>
          <dt>Hashrate (10 s)</dt><dd data-testid="miner-hashrate">${fmtHashrate(r.hashrate['10s'])}</dd>
          <dt>Hashrate (60 s / 15 min)</dt><dd>${fmtHashrate(r.hashrate['60s'])} / ${fmtHashrate(r.hashrate['15m'])}</dd>
          <dt>Shares</dt><dd>${r.accepted ?? '—'} accepted, ${r.rejected ?? '—'} rejected</dd>
          <dt>Revenue rate</dt><dd data-testid="miner-rate">${r.rate?.stale ? html`<${Badge} level="warn">${rateText(r.rate)}<//>` : rateText(r.rate)}</dd>
          ${r.gpus.map((g) => html`<dt>GPU ${g.index}</dt><dd>${fmtHashrate(g.hashrate)}</dd>`)}
        </dl>
      </div>`)}
      ${rig?.available ? html`<${RigEarningsCard} e=${rig.earnings} />` : null}
      <div class="card">
        <h3>Now</h3>
        <dl>
          <dt>CPU load</dt><dd>${fmtNum(m['cpu.loadPct'], 1, '%')}</dd>
          <dt>CPU temperature</dt><dd>${fmtNum(m['cpu.tempC'], 0, '°C')}</dd>
          <dt>Memory used</dt><dd>${fmtBytes(m['mem.usedBytes'])}</dd>
          <dt>Load (1 min)</dt><dd>${fmtNum(m['load.1m'], 2)}</dd>
          <dt>Updated</dt><dd>${fmtTime(live.latest?.at ?? data.latest?.at)}</dd>
        </dl>
      </div>
    </div>
  </section>`;
}

/** Rig mode: mining and compute revenue side by side per interval (newest first) and the switching decisions. */
function RigEarningsCard({ e }) {
  const rows = rigEarningsRows(e);
  return html`<div class="card wide" data-testid="rig-earnings">
    <h3>Rig earnings</h3>
    ${rows.length ? html`<p>Last ${fmtDuration(e.totals.sec)}: mining <b data-testid="rig-mining-total">${e.totals.miningWei}</b> wei, compute <b data-testid="rig-compute-total">${e.totals.computeWei}</b> wei</p>
    <table data-testid="rig-intervals"><thead><tr><th>Interval</th><th>Mining (wei)</th><th>Compute (wei)</th><th></th></tr></thead>
      <tbody>${rows.map((r) => html`<tr><td>${r.when}</td><td>${r.mining}</td><td>${r.compute}</td><td class="muted">${r.note}</td></tr>`)}</tbody></table>`
      : html`<p class="muted" data-testid="rig-earnings-empty">nothing recorded yet: mining and compute revenue appear here per ${e.intervalSec} s interval once the rig has mined or run a job</p>`}
    <h4>Decisions</h4>
    ${e.decisions.length ? html`<ul data-testid="rig-decisions">${[...e.decisions].reverse().slice(0, 10).map((d) => html`<li>${fmtTime(d.at)} ${d.gpu >= 0 ? `GPU ${d.gpu}: ${d.from} → ${d.to}` : 'run refused'} <span class="muted">${d.reason}</span></li>`)}</ul>` : html`<p class="muted">no switching decisions yet</p>`}
  </div>`;
}
