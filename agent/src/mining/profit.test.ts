// Profit switching at the agent level: the real fake miner (test/fake-miner.ts) mines on the flight sheet's
// GPUs, the job manager asks the profit switch before a run starts (the owner opted in: never run a job that
// pays less than mining), a run that beats mining takes GPU 0 and mining stops there (the old miner process
// has exited when the hand-over resolves) and resumes after. The hub side (a bid reaching the device through
// the matcher) is not in this test.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceConfig, JobSpec, MiningConfig, silentLogger } from '@sosna/protocol';
import type { DeviceJob } from '@sosna/protocol';
import { makeFakeMiner, type FakeMiner } from '../../../test/fake-miner.js';
import { freePort } from '../../../test/procs.js';
import { JobManager } from '../jobs/manager.js';
import type { HubCalls } from '../jobs/manager.js';
import { MiningRig, ProfitSwitch, type RigGpu } from './index.js';

let miner: FakeMiner;
let dir: string;
beforeAll(async () => {
  miner = await makeFakeMiner();
  dir = await mkdtemp(join(tmpdir(), 'sosna-profit-'));
});
afterAll(async () => {
  await rm(miner.dir, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const until = async <T>(what: string, f: () => Promise<T | null | undefined | false> | T | null | undefined | false, ms = 20_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('profit switching with a real miner process', () => {
  it('mines idle, refuses a job that pays less than mining, gives GPU 0 to one that pays more and mines on it again after', async () => {
    const gpus: RigGpu[] = [0, 1].map((i) => ({ index: i, vendorIndex: i, name: 'NVIDIA GeForce RTX 3080', state: 'ok', power: { maxLimitW: 370 } }));
    const port = await freePort();
    // 1 MH/s per GPU at 1000 wei per MH: mining earns 1000 wei/s per GPU; 5 % margin -> a job must pay > 1050 per GPU
    const sheet = MiningConfig.parse({
      miner: { id: 'xmrig', command: [miner.path, '--http-port', '{apiPort}', '--devices', '{gpus}', '--control', miner.control], api: { port } },
      algorithm: 'randomx', pool: 'pool.example.org:3333', wallet: 'w', gpus: [0, 1], statsIntervalSec: 1, stopGraceSec: 2,
      profit: { revenueWeiPerMh: { randomx: '1000' }, askAtLeastMining: true, hysteresisSec: 300 },
    });
    await miner.setRate({ total: 2_000_000, perGpu: 1_000_000 });
    const rig = new MiningRig({ sheet, gpus, log: silentLogger, worker: 'rig' });
    let jobGpus: number[] = [];
    const profit = new ProfitSwitch({ sheet, askPerSec: 10n, gpus, hashrate: (i) => rig.gpuHashrate(i), jobGpus: () => jobGpus, ratesAt: Date.now() });
    const config = DeviceConfig.parse({ hub: { url: 'mqtt://127.0.0.1:1' }, stateDir: dir });
    const hub: HubCalls = { connected: () => false, call: (async () => ({ leaseSec: 30, jobs: [] })) as HubCalls['call'] };
    const jobs = new JobManager({ config: config.jobs, stateDir: dir, deviceId: 'd', engine: null, hub, log: silentLogger, admit: (j) => profit.admit(j), askPerSec: () => profit.ask() });
    const job = (id: string, bid: bigint): DeviceJob => ({ id, jobId: id.split('.')[0]!, leaseSec: 30, issuedAt: 0, spec: JobSpec.parse({ image: 'busybox', bid, resources: { gpus: { count: 1 } } }) });
    try {
      // an idle rig mines on both GPUs
      rig.start();
      const first = await until('the miner', async () => (await miner.starts())[0]);
      expect(first.argv).toEqual(expect.arrayContaining(['--devices', '0,1']));
      await until('per-GPU hashrate', async () => (await rig.poll())?.gpus.length === 2);
      profit.observe({ 'gpu.0.powerW': 0, 'gpu.1.powerW': 0 });
      expect(jobs.capability().askPerSec).toBe('1050'); // tied to mining: more than the owner's 10

      // a job that pays less than mining is not taken
      expect(() => jobs.handlers().start({ job: job('cheap.0.0', 1000n) }, {} as never)).toThrow(/this rig mines instead: GPU 0: the bid's share 1000 wei\/s does not beat mining/);
      expect(rig.miningGpus).toEqual([0, 1]);

      // one that pays more is admitted (here the device has no engine, so the run itself is refused after that)
      expect(() => jobs.handlers().start({ job: job('rich.0.0', 2000n) }, {} as never)).toThrow(/no container engine/);
      // the run holds GPU 0: mining stops there (the old process has exited when this resolves) and goes on on GPU 1
      jobGpus = [0];
      await rig.setJobGpus(jobGpus);
      expect(alive(first.pid)).toBe(false);
      const second = await until('the miner on GPU 1', async () => (await miner.starts())[1]);
      expect(second.argv).toEqual(expect.arrayContaining(['--devices', '1']));
      expect(profit.observe({}).gpus.find((g) => g.index === 0)).toMatchObject({ mode: 'job' });

      // the run ends: GPU 0 mines again
      jobGpus = [];
      await rig.setJobGpus(jobGpus);
      const third = await until('mining to resume', async () => (await miner.starts())[2]);
      expect(third.argv).toEqual(expect.arrayContaining(['--devices', '0,1']));
      expect(profit.observe({}).gpus.find((g) => g.index === 0)).toMatchObject({ mode: 'mine' });

      // within GPU 0's hysteresis window a second well-paying run goes to GPU 1 instead (out of its window)
      expect(() => jobs.handlers().start({ job: job('rich2.0.0', 2000n) }, {} as never)).toThrow(/no container engine/);
      expect(profit.place(job('rich2.0.0', 2000n))).toEqual({ gpus: [1], deviceIds: ['1'] });
    } finally {
      await jobs.stop();
      await rig.stop();
    }
  });
});

describe('revenue rates: the owner\'s, else the hub\'s (stale past rateMaxAgeSec), else none', () => {
  const gpus: RigGpu[] = [{ index: 0, vendorIndex: 0, state: 'ok' }];
  const make = (rates: Record<string, string> | undefined, now: () => number) => {
    const sheet = MiningConfig.parse({
      miner: { id: 'xmrig', command: ['/bin/true'], api: { port: 1 } }, algorithm: 'randomx', pool: 'p.example:1', wallet: 'w', gpus: [0],
      profit: { ...(rates ? { revenueWeiPerMh: rates } : {}), askAtLeastMining: true, marginPct: 0, rateMaxAgeSec: 600 },
    });
    return new ProfitSwitch({ sheet, askPerSec: 1n, gpus, hashrate: () => 1_000_000, jobGpus: () => [], now });
  };

  it('weighs the hub\'s published rate when the owner set none, and flags it stale once older than rateMaxAgeSec', () => {
    let t = 1_000_000;
    const p = make(undefined, () => t);
    expect(p.observe({}).stale).toBe(true); // nothing yet
    expect(p.rateMetrics()).toEqual({ rateSource: 0 });
    p.setHubRates({ randomx: { weiPerMh: '3000', at: t - 60_000 }, sha256d: { weiPerMh: '9', at: t } });
    let plan = p.observe({});
    expect(plan.stale).toBe(false);
    expect(plan.gpus[0]!.miningNetWeiPerSec).toBe(3000n); // 1 MH/s x 3000 wei per MH
    expect(plan.askPerSec).toBe(3000n); // the ask follows mining at the hub's rate
    expect(p.rateMetrics()).toEqual({ rateSource: 2, rateAgeSec: 60 });
    t += 600_000; // now 660 s old: stale, mining's worth unknown, keeps no job away
    plan = p.observe({});
    expect(plan.stale).toBe(true);
    expect(plan.gpus[0]!.miningNetWeiPerSec).toBeNull();
    expect(plan.askPerSec).toBe(1n);
    expect(p.rateMetrics()).toEqual({ rateSource: 2, rateAgeSec: 660 });
  });

  it('the owner\'s own rate takes precedence over the hub\'s and never goes stale', () => {
    let t = 1_000_000;
    const p = make({ randomx: '500' }, () => t);
    p.setHubRates({ randomx: { weiPerMh: '3000', at: t } });
    expect(p.observe({}).gpus[0]!.miningNetWeiPerSec).toBe(500n);
    t += 30 * 86_400_000;
    expect(p.observe({}).stale).toBe(false);
    expect(p.rateMetrics()).toEqual({ rateSource: 1 });
  });
});

describe('placing a run on the GPU that earns least at mining', () => {
  it('a bid that beats mining on GPU 1 only is admitted there (driver id 1), GPU 0 mines on; a second such bid within the window is refused', () => {
    const gpus: RigGpu[] = [0, 1].map((i) => ({ index: i, vendorIndex: i, vendor: 'nvidia', state: 'ok' }));
    const sheet = MiningConfig.parse({
      miner: { id: 'xmrig', command: ['/bin/true'], api: { port: 1 } }, algorithm: 'randomx', pool: 'p.example:1', wallet: 'w', gpus: [0, 1],
      profit: { revenueWeiPerMh: { randomx: '1000' }, askAtLeastMining: true, hysteresisSec: 300 },
    });
    let t = 0;
    let held: number[] = [];
    const rates: Record<number, number> = { 0: 1_000_000, 1: 400_000 };
    const p = new ProfitSwitch({ sheet, askPerSec: 1n, gpus, hashrate: (i) => rates[i] ?? null, jobGpus: () => held, now: () => t });
    const job = (id: string, bid: bigint): DeviceJob => ({ id, jobId: id, leaseSec: 30, issuedAt: 0, spec: JobSpec.parse({ image: 'busybox', bid, resources: { gpus: { count: 1 } } }) });
    expect(p.observe({}).askPerSec).toBe(420n); // the cheapest GPU to give up: 400 wei/s + 5 %
    expect(p.admit(job('a', 300n))).toMatch(/^this rig mines instead: GPU 1: the bid's share 300 wei\/s does not beat mining/);
    expect(p.admit(job('b', 1000n))).toBeNull();
    expect(p.place(job('b', 1000n))).toEqual({ gpus: [1], deviceIds: ['1'] });
    held = [1];
    expect(p.observe({}).gpus.map((g) => g.mode)).toEqual(['mine', 'job']);
    held = [];
    t += 10_000; // the run ended; GPU 1 is in its window, GPU 0 would need more than 1050
    expect(p.observe({}).gpus.map((g) => g.mode)).toEqual(['mine', 'mine']);
    expect(p.admit(job('c', 1000n))).toMatch(/GPU 0: the bid's share 1000 wei\/s does not beat mining/);
    expect(p.admit(job('d', 5000n))).toBeNull(); // beats GPU 0's mining: GPU 0 is out of its window
    expect(p.place(job('d', 5000n))).toEqual({ gpus: [0], deviceIds: ['0'] });
  });
});
