// GMiner's HTTP API (`--api PORT`): GET /stat gives `uptime`, `server`, `algorithm`,
// `total_accepted_shares`/`total_rejected_shares`/`total_stale_shares`/`total_invalid_shares`, and
// `devices[]`, one per GPU: `gpu_id` (GMiner's device index, the one `--devices` takes), `bus_id`, `speed`
// (H/s) and its own share counts. Mapped onto the MinerStats of xmrig and T-Rex: the summed device speeds
// (or `pool_speed` where no device reports) as the 10 s figure, per GPU by `gpu_id` (the rig turns that into
// the inventory index). Pure and lenient.
import { getJson } from './xmrig.js';
import type { MinerStats, XmrigApi } from './xmrig.js';

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/** Pure: GMiner's /stat body -> the miner's figures. */
export function parseGminerStat(body: unknown): MinerStats {
  const s = obj(body) ?? {};
  const out: MinerStats = { hashrate: {}, gpus: [] };
  const devices = (Array.isArray(s.devices) ? s.devices : []).map(obj);
  let sum = 0;
  let good = num(s.total_accepted_shares);
  let bad = (num(s.total_rejected_shares) ?? 0) + (num(s.total_stale_shares) ?? 0) + (num(s.total_invalid_shares) ?? 0);
  const perDevice = good === undefined;
  for (const d of devices) {
    const index = num(d?.gpu_id);
    const rate = num(d?.speed);
    if (perDevice && d) {
      const a = num(d.accepted_shares);
      if (a !== undefined) good = (good ?? 0) + a;
      bad += (num(d.rejected_shares) ?? 0) + (num(d.stale_shares) ?? 0) + (num(d.invalid_shares) ?? 0);
    }
    if (index === undefined || !Number.isInteger(index) || rate === undefined) continue;
    sum += rate;
    out.gpus.push({ index, backend: 'gpu', hashrate: rate });
  }
  if (out.gpus.length) out.hashrate['10s'] = sum;
  else if (num(s.pool_speed) !== undefined) out.hashrate['10s'] = num(s.pool_speed)!;
  if (good !== undefined) out.sharesGood = good;
  if (good !== undefined || bad) out.sharesTotal = (good ?? 0) + bad;
  if (typeof s.algorithm === 'string') out.algo = s.algorithm.slice(0, 64);
  if (typeof s.server === 'string') out.pool = s.server.slice(0, 256);
  const up = num(s.uptime);
  if (up !== undefined) out.uptimeSec = up;
  return out;
}

export async function readGminer(api: XmrigApi): Promise<MinerStats> {
  return parseGminerStat(await getJson(api, '/stat'));
}
