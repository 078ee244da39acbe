// lolMiner's HTTP API (`--apiport PORT`, JSON at GET /): two documented shapes, both read.
// - lolMiner 1.x: `Session.Uptime`; `Workers[]` (one per GPU, `Index` is lolMiner's device index, the one
//   `--devices` takes); `Algorithms[]`, each with `Algorithm`, `Pool`, `Performance_Unit` ("Mh/s", ...),
//   `Performance_Factor` (H/s per unit), `Total_Performance`, `Total_Accepted`/`Total_Rejected`/`Total_Stales`
//   and `Worker_Performance[]` in the order of `Workers`. The first algorithm is what we read (a dual
//   mining second algorithm is not priced by sosna).
// - older lolMiner (0.8-1.2x): `Session` with `Performance_Summary`, `Performance_Unit`, `Accepted`,
//   `Submitted`, `Uptime`; `Mining.Algorithm`; `Stratum.Current_Pool`; `GPUs[]` with `Index` and `Performance`.
// Mapped onto the MinerStats of xmrig and T-Rex: the current figure as the 10 s one, H/s (the unit applied),
// per GPU by the miner's device index (the rig turns that into the inventory index). Pure and lenient.
import { getJson } from './xmrig.js';
import type { MinerStats, XmrigApi } from './xmrig.js';

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** H/s per unit of `unit` ("Mh/s", "kh/s", "g/s", "sol/s", ...): the SI prefix before h, g or sol; 1 when none is known. */
export function unitFactor(unit: unknown): number {
  if (typeof unit !== 'string') return 1;
  const m = /^\s*([kKmMgGtTpP]?)(?:h|H|sol|Sol|g|G)?\/s\s*$/.exec(unit);
  const prefix = m?.[1]?.toLowerCase() ?? '';
  return ({ '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 } as Record<string, number>)[prefix] ?? 1;
}

/** Pure: lolMiner's JSON (either shape) -> the miner's figures. */
export function parseLolminer(body: unknown): MinerStats {
  const s = obj(body) ?? {};
  const out: MinerStats = { hashrate: {}, gpus: [] };
  const session = obj(s.Session) ?? {};
  const up = num(session.Uptime);
  if (up !== undefined) out.uptimeSec = up;
  const algo = obj(list(s.Algorithms)[0]);
  if (algo) {
    const factor = num(algo.Performance_Factor) || unitFactor(algo.Performance_Unit);
    const total = num(algo.Total_Performance);
    if (total !== undefined) out.hashrate['10s'] = total * factor;
    const good = num(algo.Total_Accepted);
    const bad = (num(algo.Total_Rejected) ?? 0) + (num(algo.Total_Stales) ?? 0);
    if (good !== undefined) out.sharesGood = good;
    if (good !== undefined || bad) out.sharesTotal = (good ?? 0) + bad;
    if (typeof algo.Algorithm === 'string') out.algo = algo.Algorithm.slice(0, 64);
    if (typeof algo.Pool === 'string') out.pool = algo.Pool.slice(0, 256);
    const workers = list(s.Workers).map(obj);
    list(algo.Worker_Performance).forEach((p, i) => {
      const index = num(workers[i]?.Index) ?? (workers.length ? undefined : i);
      const rate = num(p);
      if (index === undefined || !Number.isInteger(index) || rate === undefined) return;
      out.gpus.push({ index, backend: 'gpu', hashrate: rate * factor });
    });
    return out;
  }
  // the older shape
  const factor = unitFactor(session.Performance_Unit);
  const total = num(session.Performance_Summary);
  if (total !== undefined) out.hashrate['10s'] = total * factor;
  const good = num(session.Accepted);
  const submitted = num(session.Submitted);
  if (good !== undefined) out.sharesGood = good;
  if (submitted !== undefined || good !== undefined) out.sharesTotal = Math.max(submitted ?? 0, good ?? 0);
  const mining = obj(s.Mining);
  if (typeof mining?.Algorithm === 'string') out.algo = mining.Algorithm.slice(0, 64);
  const pool = obj(s.Stratum)?.Current_Pool;
  if (typeof pool === 'string') out.pool = pool.slice(0, 256);
  for (const g of list(s.GPUs).map(obj)) {
    const index = num(g?.Index);
    const rate = num(g?.Performance);
    if (index === undefined || !Number.isInteger(index) || rate === undefined) continue;
    out.gpus.push({ index, backend: 'gpu', hashrate: rate * factor });
  }
  return out;
}

export async function readLolminer(api: XmrigApi): Promise<MinerStats> {
  return parseLolminer(await getJson(api, '/'));
}
