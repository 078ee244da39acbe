// T-Rex's HTTP API (NVIDIA GPU miner, `--api-bind-http 127.0.0.1:PORT`): GET /summary gives totals and a
// `gpus` array. Mapped onto the same MinerStats as xmrig's: `hashrate` (the current average) as the 10 s
// figure, `hashrate_minute` as 60 s; accepted/rejected shares; per GPU by `device_id` (the CUDA index the
// miner was started with), its current hashrate, else its minute average. Parsing is pure and lenient.
import { getJson } from './xmrig.js';
import type { MinerStats, XmrigApi } from './xmrig.js';

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/** Pure: T-Rex's /summary body -> the miner's figures. */
export function parseTrexSummary(body: unknown): MinerStats {
  const s = obj(body) ?? {};
  const hashrate: MinerStats['hashrate'] = {};
  const now = num(s.hashrate);
  const minute = num(s.hashrate_minute);
  if (now !== undefined) hashrate['10s'] = now;
  if (minute !== undefined) hashrate['60s'] = minute;
  const out: MinerStats = { hashrate, gpus: [] };
  const good = num(s.accepted_count);
  const bad = num(s.rejected_count);
  if (good !== undefined) out.sharesGood = good;
  if (good !== undefined || bad !== undefined) out.sharesTotal = (good ?? 0) + (bad ?? 0);
  if (typeof s.algorithm === 'string') out.algo = s.algorithm.slice(0, 64);
  const pool = obj(s.active_pool)?.url;
  if (typeof pool === 'string') out.pool = pool.slice(0, 256);
  const up = num(s.uptime);
  if (up !== undefined) out.uptimeSec = up;
  for (const g of Array.isArray(s.gpus) ? s.gpus.map(obj) : []) {
    const index = num(g?.device_id) ?? num(g?.gpu_id);
    const rate = num(g?.hashrate) || num(g?.hashrate_minute) || num(g?.hashrate);
    if (index === undefined || !Number.isInteger(index) || rate === undefined) continue;
    out.gpus.push({ index, backend: 'cuda', hashrate: rate });
  }
  return out;
}

export async function readTrex(api: XmrigApi): Promise<MinerStats> {
  return parseTrexSummary(await getJson(api, '/summary'));
}
