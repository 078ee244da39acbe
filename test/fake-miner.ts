// A fake miner the tests generate: a small node:http server speaking xmrig's HTTP API (GET /1/summary,
// /2/summary, /2/backends), started by the agent as "a program the owner names". The test controls its
// hashrate through a JSON file ({ total: H/s, perGpu?: H/s, byGpu?: { index: H/s } }) read on every request, and sees the argv it
// was started with (and its pid) in another file. `--ignore-term` makes it ignore SIGTERM (for SIGKILL paths);
// `--api trex` makes it speak T-Rex's API (GET /summary) instead, `--api lolminer` lolMiner's (GET /),
// `--api gminer` GMiner's (GET /stat).
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = String.raw`#!/usr/bin/env node
import { createServer } from 'node:http';
import { readFileSync, writeFileSync, appendFileSync } from 'node:fs';
const arg = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const port = Number(arg('--http-port'));
const control = arg('--control');
const gpus = (arg('--devices') ?? '').split(',').filter(Boolean).map(Number);
const threads = Number(arg('--threads') ?? 0);
if (process.argv.includes('--ignore-term')) process.on('SIGTERM', () => appendFileSync(control + '.log', 'SIGTERM ignored\n'));
const rate = () => { try { return JSON.parse(readFileSync(control, 'utf8')); } catch { return { total: 0 }; } };
let good = 0, total = 0;
const started = Date.now();
const tick = setInterval(() => { total += 1; if (rate().rejectEvery && total % rate().rejectEvery === 0) return; good += 1; }, 200);
const summary = () => {
  const r = rate();
  const t = r.total;
  return {
    id: 'fake', worker_id: 'fake-rig', uptime: Math.round((Date.now() - started) / 1000), restricted: true,
    version: '6.21.0', kind: 'miner', algo: arg('--algo') ?? 'rx/0', paused: false,
    results: { diff_current: 1000, shares_good: good, shares_total: total, avg_time: 1, hashes_total: Math.round(t * 10), best: [0], error_log: [] },
    connection: { pool: arg('--url') ?? 'pool.invalid:3333', ip: '192.0.2.1', uptime: 1, ping: 20, failures: 0, tls: null, algo: arg('--algo') ?? 'rx/0', diff: 1000, accepted: good, rejected: total - good, avg_time: 1, hashes_total: 0, error_log: [] },
    hashrate: { total: [t, t, r.no15m ? null : t], highest: t },
  };
};
const backends = () => {
  const r = rate();
  const per = gpus.length ? (r.perGpu ?? r.total / gpus.length) : 0;
  const out = [];
  if (threads) out.push({ type: 'cpu', enabled: true, algo: 'rx/0', hashrate: [r.cpu ?? 0, r.cpu ?? 0, null], threads: Array.from({ length: threads }, (_, i) => ({ affinity: i, hashrate: [(r.cpu ?? 0) / threads, null, null] })) });
  if (gpus.length) out.push({ type: 'cuda', enabled: true, algo: 'rx/0', hashrate: [per * gpus.length, null, null], threads: gpus.map((index) => { const h = r.byGpu?.[index] ?? per; return { index, threads: 32, blocks: 64, hashrate: [h, h, null], health: { temperature: 60, power: 100 } }; }) });
  return out;
};
// --api trex: T-Rex's HTTP API instead (GET /summary: totals, shares and a gpus array by CUDA device id)
const trex = () => {
  const r = rate();
  const per = gpus.length ? (r.perGpu ?? r.total / gpus.length) : 0;
  return {
    accepted_count: good, rejected_count: total - good, algorithm: 'etchash', api: '4.2', description: 'T-Rex NVIDIA GPU miner (fake)', name: 't-rex',
    active_pool: { url: arg('--url') ?? 'stratum+tcp://pool.invalid:4444', user: 'w', retries: 0, ping: 20 },
    gpu_total: gpus.length, hashrate: r.total, hashrate_minute: r.total, hashrate_hour: r.total, uptime: Math.round((Date.now() - started) / 1000),
    gpus: gpus.map((device_id, gpu_id) => { const h = r.byGpu?.[device_id] ?? per; return { device_id, gpu_id, hashrate: h, hashrate_minute: h, power: 100, temperature: 60 }; }),
  };
};
// --api lolminer: lolMiner 1.x's JSON at GET / (Workers by lolMiner's device index; Algorithms[0] in Mh/s
// with its Performance_Factor; Worker_Performance in the order of Workers)
const lolminer = () => {
  const r = rate();
  const per = gpus.length ? (r.perGpu ?? r.total / gpus.length) : 0;
  return {
    Software: 'lolMiner 1.88 (fake)', Session: { Startup: Math.round(started / 1000), Startup_String: '', Uptime: Math.round((Date.now() - started) / 1000), Last_Update: Math.round(Date.now() / 1000) },
    Num_Workers: gpus.length,
    Workers: gpus.map((Index) => ({ Index, Name: 'NVIDIA GeForce RTX 3070', Power: 120, CCLK: 1500, MCLK: 7000, Core_Temp: 60, Juc_Temp: 0, Mem_Temp: 0, Fan_Speed: 60, LHR_Unlock_Value: 0, PCIE_Address: '1:0' })),
    Num_Algorithms: 1,
    Algorithms: [{
      Algorithm: 'Ethash', Algorithm_Appendix: '', Pool: arg('--pool') ?? 'pool.invalid:4444', User: 'w', Worker: '', Performance_Unit: 'Mh/s', Performance_Factor: 1e6,
      Total_Performance: r.total / 1e6, Total_Accepted: good, Total_Rejected: total - good, Total_Stales: 0, Total_Errors: 0,
      Worker_Performance: gpus.map((i) => (r.byGpu?.[i] ?? per) / 1e6), Worker_Accepted: gpus.map(() => 0), Worker_Rejected: gpus.map(() => 0), Worker_Stales: gpus.map(() => 0), Worker_Errors: gpus.map(() => 0),
    }],
  };
};
// --api gminer: GMiner's GET /stat (devices by GMiner's gpu_id, speed in H/s)
const gminer = () => {
  const r = rate();
  const per = gpus.length ? (r.perGpu ?? r.total / gpus.length) : 0;
  return {
    miner: 'GMiner 3.44 (fake)', uptime: Math.round((Date.now() - started) / 1000), server: arg('--server') ?? 'stratum+tcp://pool.invalid:4444', user: 'w', algorithm: 'Ethash',
    electricity: 0, total_accepted_shares: good, total_rejected_shares: total - good, total_stale_shares: 0, total_invalid_shares: 0, pool_speed: r.total,
    devices: gpus.map((gpu_id) => ({ gpu_id, bus_id: '0000:01:00.0', name: 'NVIDIA GeForce RTX 3070', speed: r.byGpu?.[gpu_id] ?? per, accepted_shares: 0, rejected_shares: 0, stale_shares: 0, invalid_shares: 0, fan: 60, temperature: 60, memory_temperature: 0, power_usage: 120 })),
  };
};
const server = createServer((req, res) => {
  const api = arg('--api');
  const body = api === 'trex' ? (req.url === '/summary' ? trex() : null)
    : api === 'lolminer' ? (req.url === '/' || req.url === '/summary' ? lolminer() : null)
    : api === 'gminer' ? (req.url === '/stat' ? gminer() : null)
    : req.url === '/2/summary' || req.url === '/1/summary' ? summary() : req.url === '/2/backends' ? backends() : null;
  if (!body) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
});
appendFileSync(control + '.starts', JSON.stringify({ pid: process.pid, argv: process.argv.slice(2) }) + '\n'); // at once: a miner stopped before it listens still counts
server.listen(port, '127.0.0.1');
`;

export interface FakeMiner {
  dir: string;
  /** The executable to name in the flight sheet's `miner.command[0]`. */
  path: string;
  /** The control file to pass as `--control FILE`. */
  control: string;
  /** `byGpu`: H/s of single GPUs by the driver's index (the others get `perGpu`). */
  setRate(r: { total: number; perGpu?: number; byGpu?: Record<number, number>; cpu?: number; rejectEvery?: number }): Promise<void>;
  /** Every start so far: pid and argv. */
  starts(): Promise<{ pid: number; argv: string[] }[]>;
}

export async function makeFakeMiner(): Promise<FakeMiner> {
  const dir = await mkdtemp(join(tmpdir(), 'sosna-fake-miner-'));
  const path = join(dir, 'fake-xmrig.mjs');
  const control = join(dir, 'control.json');
  await writeFile(path, SCRIPT);
  await chmod(path, 0o755);
  const m: FakeMiner = {
    dir, path, control,
    setRate: (r) => writeFile(control, JSON.stringify(r)),
    starts: async () => {
      const text = await readFile(`${control}.starts`, 'utf8').catch(() => '');
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { pid: number; argv: string[] });
    },
  };
  await m.setRate({ total: 0 });
  return m;
}

/** A flight sheet (before MiningConfig.parse) that runs the fake miner speaking `kind`'s API on `gpus`. */
export function fakeMinerSheet(miner: FakeMiner, kind: string, apiPort: number, gpus: number[]) {
  return {
    miner: { id: kind, command: [miner.path, '--api', kind, '--http-port', '{apiPort}', '--devices', '{gpus}', '--control', miner.control], api: { kind, port: apiPort } },
    algorithm: 'etchash', pool: 'p.example:1', wallet: 'w', gpus, statsIntervalSec: 1,
  };
}

/** Polls a rig's miner until it reports per-GPU figures (at most 200 polls, 100 ms apart); the last answer. */
export async function pollUntilGpus<S extends { gpus: unknown[] }>(poll: () => Promise<S | null>): Promise<S | null> {
  let stats: S | null = null;
  for (let i = 0; i < 200 && !stats?.gpus.length; i++) {
    stats = await poll();
    if (!stats?.gpus.length) await new Promise((r) => setTimeout(r, 100));
  }
  return stats;
}
