// npm run bench (mining part): the agent's cost of watching the miner in rig mode. The fake xmrig
// (test/fake-miner.ts, a real process with xmrig's HTTP API and per-GPU figures for 8 GPUs) is read
// BENCH_MINING_POLLS times (default 500) the way MiningRig.poll reads it (GET /2/summary and /2/backends, a
// new connection each, parse, telemetry keys); the agent's CPU time per poll gives its share of one core at
// the default statsIntervalSec of 10 s (target: under 1 %) and at 1 s. Prints figures; never fails on time.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { makeFakeMiner } from '../fake-miner.js';
import { freePort } from '../procs.js';
import { minerMetrics, readXmrig } from '../../agent/src/mining/xmrig.js';

const POLLS = Number(process.env.BENCH_MINING_POLLS ?? 500);

export async function benchMining(): Promise<Record<string, number>> {
  console.log('== rig mode: reading the miner\'s API');
  const miner = await makeFakeMiner();
  await miner.setRate({ total: 8e6, perGpu: 1e6 });
  const port = await freePort();
  const child = spawn(miner.path, ['--http-port', String(port), '--devices', '0,1,2,3,4,5,6,7', '--control', miner.control], { stdio: 'ignore' });
  try {
    const api = { host: '127.0.0.1', port, timeoutMs: 2000 };
    for (let i = 0; ; i++) {
      try {
        await readXmrig(api);
        break;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    for (let i = 0; i < 20; i++) minerMetrics('xmrig', await readXmrig(api), true); // warm-up
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < POLLS; i++) minerMetrics('xmrig', await readXmrig(api), true);
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const used = process.cpuUsage(cpu0);
    const cpuMsPerPoll = (used.user + used.system) / 1000 / POLLS;
    const r = {
      polls: POLLS,
      cpuMsPerPoll: Math.round(cpuMsPerPoll * 1000) / 1000,
      wallMsPerPoll: Math.round((wallMs / POLLS) * 1000) / 1000,
      corePctAt10s: Math.round((cpuMsPerPoll / 10_000) * 100 * 10_000) / 10_000,
      corePctAt1s: Math.round((cpuMsPerPoll / 1000) * 100 * 10_000) / 10_000,
    };
    console.log(`${POLLS} polls: ${r.cpuMsPerPoll} ms CPU and ${r.wallMsPerPoll} ms wall per poll; share of one core: ${r.corePctAt10s} % at statsIntervalSec 10 (target < 1 %), ${r.corePctAt1s} % at 1`);
    return r;
  } finally {
    child.kill('SIGTERM');
    await rm(miner.dir, { recursive: true, force: true });
  }
}
