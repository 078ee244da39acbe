// Shared pieces of the dashboard UI: the html tag (htm bound to Preact), API calls, formatting.
import { html } from 'htm/preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { snm } from '../../../../protocol/src/amount.ts';

export { html };

export function goLogin() {
  const next = location.pathname === '/' || location.pathname === '/login' ? '' : `?next=${encodeURIComponent(location.pathname)}`;
  location.assign(`/login${next}`);
}

/** Calls the agent's API; a 401 sends the browser to the login page. Errors carry the server's JSON. */
export async function api(path, { method = 'GET', body } = {}) {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const data = await res.json().catch(() => ({}));
  if (res.status === 401 && path !== '/api/login') goLogin();
  if (!res.ok) {
    const err = new Error(data.message || `${res.status} ${res.statusText}`);
    err.status = res.status;
    err.data = data;
    throw err;
  }
  return data;
}

/** Loads an API path; `every` (ms) refreshes it while the component is shown. */
export function useApi(path, every = 0) {
  const [state, setState] = useState({ data: null, error: null });
  const load = useCallback(() => api(path).then((data) => setState({ data, error: null }), (error) => setState((s) => ({ data: s.data, error }))), [path]);
  useEffect(() => {
    load();
    if (!every) return undefined;
    const t = setInterval(load, every);
    return () => clearInterval(t);
  }, [load, every]);
  return { ...state, reload: load };
}

export function fmtBytes(n) {
  if (n == null || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${n.toFixed(i === 0 ? 0 : n >= 100 ? 0 : 1)} ${units[i]}`;
}

export function fmtHashrate(n) {
  if (n == null || !Number.isFinite(n)) return '—';
  const units = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s', 'PH/s'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) (n /= 1000), i++;
  return `${n.toFixed(n >= 100 ? 0 : 2)} ${units[i]}`;
}

/** Rig mode: the revenue rate's line ("the hub's, 2 min old", "stale or missing: mining keeps no job away"). */
export function rateText(rate) {
  if (!rate) return '—';
  const age = rate.ageSec == null ? '' : `, ${rate.ageSec < 120 ? `${Math.round(rate.ageSec)} s` : rate.ageSec < 7200 ? `${Math.round(rate.ageSec / 60)} min` : `${Math.round(rate.ageSec / 3600)} h`} old`;
  const whose = rate.source === 'hub' ? `the hub's${age}` : rate.source === 'owner' ? "the owner's" : 'none';
  return rate.stale ? `stale or missing (${whose}): mining keeps no job away` : whose;
}

/** Rig mode: the rig ledger's intervals as table rows, newest first (at most 12). */
export function rigEarningsRows(e) {
  return [...(e?.intervals ?? [])].reverse().slice(0, 12).map((b) => ({
    when: new Date(b.at).toISOString().slice(11, 16), mining: b.miningWei, compute: b.computeWei,
    note: b.miningUnknownSec ? `mining's worth unknown for ${b.miningUnknownSec} s` : '',
  }));
}

/** Rig mode: the miners in a telemetry sample (`miner.<id>.hashrate10s`, `miner.<id>.gpu.N.hashrate10s`, shares). */
export function minersOf(metrics) {
  const out = new Map();
  for (const [k, v] of Object.entries(metrics ?? {})) {
    const m = /^miner\.([a-z0-9_-]+)\.(.+)$/.exec(k);
    if (!m || !Number.isFinite(v)) continue;
    if (!out.has(m[1])) out.set(m[1], { id: m[1], up: false, hashrate: {}, gpus: [], accepted: null, rejected: null, rate: null });
    const f = out.get(m[1]);
    const w = /^hashrate(10s|60s|15m)$/.exec(m[2]);
    const g = /^gpu\.(\d+)\.hashrate10s$/.exec(m[2]);
    if (m[2] === 'up') f.up = v === 1;
    else if (w) f.hashrate[w[1]] = v;
    else if (g) f.gpus.push({ index: Number(g[1]), hashrate: v });
    else if (m[2] === 'sharesAccepted') f.accepted = v;
    else if (m[2] === 'sharesRejected') f.rejected = v;
    else if (m[2] === 'rateStale') f.rate = { ...f.rate, stale: v === 1 };
    else if (m[2] === 'rateSource') f.rate = { ...f.rate, source: v === 1 ? 'owner' : v === 2 ? 'hub' : 'none' };
    else if (m[2] === 'rateAgeSec') f.rate = { ...f.rate, ageSec: v };
  }
  for (const f of out.values()) f.gpus.sort((a, b) => a.index - b.index);
  return [...out.values()];
}

export function fmtNum(n, digits = 1, unit = '') {
  if (n == null || !Number.isFinite(n)) return '—';
  return `${n.toFixed(digits)}${unit ? ` ${unit}` : ''}`;
}

export function fmtDuration(sec) {
  if (sec == null) return '—';
  const d = Math.floor(sec / 86400);
  const h = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : m ? `${m} min ${Math.floor(sec % 60)} s` : `${Math.floor(sec)} s`;
}

export const fmtTime = (ms) => (ms ? new Date(ms).toLocaleTimeString() : '—');

/** A token amount in wei (decimal string) as tokens with up to 4 decimals; never through floats. */
/** Wei as SNM, exact: the same formatter as the CLI and the hub (protocol/src/amount.ts), never a rounded 0. */
export function fmtTokens(wei) {
  if (typeof wei !== 'string' || !/^\d+$/.test(wei)) return '—';
  return snm(wei);
}

export function Badge({ level, children, testid }) {
  return html`<span class=${`badge ${level}`} data-testid=${testid}>${children}</span>`;
}

export function ErrorLine({ error }) {
  return error ? html`<p class="error" role="alert">${error.message}</p>` : null;
}
