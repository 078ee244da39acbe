// A fake miner the tests generate: a small node:http server speaking xmrig's HTTP API (GET /1/summary,
// /2/summary, /2/backends), started by the agent as "a program the owner names". The test controls its
// hashrate through a JSON file ({ total: H/s, perGpu?: H/s, byGpu?: { index: H/s } }) read on every request, and sees the argv it
// was started with (and its pid) in another file. `--ignore-term` makes it ignore SIGTERM (for SIGKILL paths);
// `--api trex` makes it speak T-Rex's API (GET /summary) instead.
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
const server = createServer((req, res) => {
  const body = arg('--api') === 'trex'
    ? (req.url === '/summary' ? trex() : null)
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
