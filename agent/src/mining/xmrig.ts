// xmrig's HTTP API (the same API the CPU, CUDA and OpenCL backends share): GET /2/summary for the totals
// (hashrate.total = [10 s, 60 s, 15 min] H/s, null until a window has data; results.shares_good/shares_total;
// connection.pool; algo) and GET /2/backends for per-device figures (cuda/opencl threads carry `index`, the
// device index the miner was given). Parsing is pure and lenient: a missing or odd field is left out, never
// guessed. The read is two small GETs with a hard time-out; nothing else runs between polls.
import { request } from 'node:http';

export interface MinerStats {
  /** H/s over 10 s, 60 s and 15 min, where the miner has that window yet. */
  hashrate: { '10s'?: number; '60s'?: number; '15m'?: number };
  sharesGood?: number;
  sharesTotal?: number;
  algo?: string;
  pool?: string;
  uptimeSec?: number;
  /** Per GPU (the miner's device index), 10 s H/s (60 s where 10 s is not there yet). */
  gpus: { index: number; backend: string; hashrate: number }[];
  /** CPU threads' 10 s H/s summed, where the CPU backend reports them. */
  cpuHashrate?: number;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const windowRate = (arr: unknown): number | undefined => (Array.isArray(arr) ? (num(arr[0]) ?? num(arr[1])) : undefined);

/** Pure: /2/summary (or /1/summary) body -> totals. */
export function parseXmrigSummary(body: unknown): MinerStats {
  const s = obj(body) ?? {};
  const total = obj(s.hashrate)?.total;
  const hashrate: MinerStats['hashrate'] = {};
  if (Array.isArray(total)) {
    const [a, b, c] = total.map(num);
    if (a !== undefined) hashrate['10s'] = a;
    if (b !== undefined) hashrate['60s'] = b;
    if (c !== undefined) hashrate['15m'] = c;
  }
  const results = obj(s.results);
  const conn = obj(s.connection);
  const out: MinerStats = { hashrate, gpus: [] };
  const good = num(results?.shares_good);
  const all = num(results?.shares_total);
  if (good !== undefined) out.sharesGood = good;
  if (all !== undefined) out.sharesTotal = all;
  if (typeof s.algo === 'string') out.algo = s.algo.slice(0, 64);
  if (typeof conn?.pool === 'string') out.pool = conn.pool.slice(0, 256);
  const up = num(s.uptime);
  if (up !== undefined) out.uptimeSec = up;
  return out;
}

/** Pure: /2/backends body -> per-GPU and CPU figures, merged into `stats`. */
export function parseXmrigBackends(body: unknown, stats: MinerStats): MinerStats {
  if (!Array.isArray(body)) return stats;
  const gpus: MinerStats['gpus'] = [];
  let cpu: number | undefined;
  for (const b of body) {
    const backend = obj(b);
    if (!backend || backend.enabled === false || typeof backend.type !== 'string') continue;
    const threads = Array.isArray(backend.threads) ? backend.threads.map(obj) : [];
    if (backend.type === 'cpu') {
      const rates = threads.map((t) => windowRate(t?.hashrate)).filter((r): r is number => r !== undefined);
      if (rates.length) cpu = rates.reduce((a, r) => a + r, 0);
      else if (windowRate(backend.hashrate) !== undefined) cpu = windowRate(backend.hashrate);
      continue;
    }
    for (const t of threads) {
      const index = num(t?.index);
      const rate = windowRate(t?.hashrate);
      if (index === undefined || !Number.isInteger(index) || rate === undefined) continue;
      const same = gpus.find((g) => g.index === index && g.backend === backend.type);
      if (same) same.hashrate += rate;
      else gpus.push({ index, backend: backend.type.slice(0, 16), hashrate: rate });
    }
  }
  return { ...stats, gpus, ...(cpu !== undefined ? { cpuHashrate: cpu } : {}) };
}

export interface XmrigApi {
  host: string;
  port: number;
  token?: string;
  timeoutMs: number;
}

/** One GET with a hard deadline (connect + response), a bounded body; JSON or an Error saying why not. */
export function getJson(api: XmrigApi, path: string, maxBytes = 256 * 1024): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: api.host, port: api.port, path, method: 'GET', headers: { accept: 'application/json', ...(api.token ? { authorization: `Bearer ${api.token}` } : {}) }, timeout: api.timeoutMs },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`${path}: HTTP ${res.statusCode}${res.statusCode === 401 || res.statusCode === 403 ? ' (set mining.miner.api.token to the miner\'s access token)' : ''}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) return void req.destroy(new Error(`${path}: answer over ${maxBytes} bytes`));
          chunks.push(c);
        });
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch {
            reject(new Error(`${path}: not JSON`));
          }
        });
        res.on('error', reject);
      },
    );
    const deadline = setTimeout(() => req.destroy(new Error(`${path}: no answer within ${api.timeoutMs} ms`)), api.timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer within ${api.timeoutMs} ms`)));
    req.on('error', reject);
    req.on('close', () => clearTimeout(deadline));
    req.end();
  });
}

/** Reads the miner's totals and, where it answers, its per-device figures. */
export async function readXmrig(api: XmrigApi): Promise<MinerStats> {
  const summary = parseXmrigSummary(await getJson(api, '/2/summary'));
  const backends = await getJson(api, '/2/backends').catch(() => null); // older xmrig: totals only
  return backends ? parseXmrigBackends(backends, summary) : summary;
}

/** Pure: stats as flat telemetry keys under `miner.<id>.` (hashrate in H/s, shares as counts). */
export function minerMetrics(id: string, stats: MinerStats | null, running: boolean): Record<string, number> {
  const p = `miner.${id}`;
  const out: Record<string, number> = { [`${p}.up`]: running && stats ? 1 : 0 };
  if (!stats) return out;
  if (stats.hashrate['10s'] !== undefined) out[`${p}.hashrate10s`] = stats.hashrate['10s'];
  if (stats.hashrate['60s'] !== undefined) out[`${p}.hashrate60s`] = stats.hashrate['60s'];
  if (stats.hashrate['15m'] !== undefined) out[`${p}.hashrate15m`] = stats.hashrate['15m'];
  if (stats.sharesGood !== undefined) out[`${p}.sharesAccepted`] = stats.sharesGood;
  if (stats.sharesTotal !== undefined && stats.sharesGood !== undefined) out[`${p}.sharesRejected`] = Math.max(0, stats.sharesTotal - stats.sharesGood);
  for (const g of stats.gpus) out[`${p}.gpu.${g.index}.hashrate10s`] = g.hashrate;
  if (stats.cpuHashrate !== undefined) out[`${p}.cpu.hashrate10s`] = stats.cpuHashrate;
  return out;
}
