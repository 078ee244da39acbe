// Rig mode and jobs through a real hub: a private Docker Engine (test/docker.ts), the hub, one agent bundle
// whose fake `nvidia-smi` (the first two cards of the hardware tests' six-card fixture: a two-GPU rig) gives it GPUs, and the fake xmrig mining on
// GPUs 0 and 1. The owner tied the ask to mining (profit.askAtLeastMining): the birth's ask is mining's net
// plus the margin, so the hub refuses a job that pays less (no device asks that little); a job that pays more is placed,
// mining stops on the GPU the rig chose for it and resumes when the run ends. The private dockerd finds a fake
// `nvidia-container-runtime-hook` on its PATH, so it offers its real "nvidia" device driver: the container
// gets NVIDIA_VISIBLE_DEVICES set to the device ids the agent asked for, and the hook (run by runc before
// the container starts) records them. No GPU is really there: the run is a shell, what is shown is which
// GPU the engine gave it, the hand-over of that GPU and back, and that a bid oscillating around mining's
// worth switches a GPU at most once per hysteresis window.
import { chmod, writeFile } from 'node:fs/promises';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleClient, ConsoleProfile } from '@sosna/hub';
import { jobsService } from '@sosna/protocol';
import { CLI, cli, freePort, installBundle, requireBuild, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';
import { startPrivateDocker, SKIP_DOCKER } from './docker.js';
import type { PrivateDocker } from './docker.js';
import { makeFakeMiner, type FakeMiner } from './fake-miner.js';

const tmp = tempDir('sosna-rig-jobs-');
const hubDir = join(tmp.dir, 'hub');
const fakeBin = join(tmp.dir, 'fake-bin');
const FIXTURES = join(import.meta.dirname, '..', 'agent', 'src', 'hardware', 'fixtures', 'nvidia-smi');
let engine: PrivateDocker;
let hub: Proc;
let agent: Proc;
let operator: ConsoleClient;
let miner: FakeMiner;
let deviceId: string;
const hookLog = join(tmp.dir, 'nvidia-hook.log');
/** NVIDIA_VISIBLE_DEVICES of each container the engine started, in order. */
const gpuGrants = () => { try { return readFileSync(hookLog, 'utf8').split('\n').filter(Boolean); } catch { return []; } };
/** The driver's ids the miner was started with, each start in order. */
const minerDevices = async () => (await miner.starts()).map((s) => s.argv[s.argv.indexOf('--devices') + 1] ?? '');
const ask = async () => {
  const r = await cli(['console', 'devices', '--json'], { env: profile(), timeoutMs: 30_000 });
  return (JSON.parse(r.stdout) as { id: string; inventory: { jobs?: { askPerSec?: string } } | null }[]).find((x) => x.id === deviceId)?.inventory?.jobs?.askPerSec;
};
const profile = () => ({ SOSNA_PROFILE: join(hubDir, 'console.json') });

const show = async (jobId: string) => JSON.parse(JSON.stringify(await operator.call(jobsService, 'show', { jobId }), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as { state: string; runs: { deviceId: string; state: string; reason: string | null }[] };
async function submit(bid: string): Promise<string> {
  const r = await cli(['console', 'jobs', 'submit', '--image', engine.images.local, '--gpus', '1', '--bid', bid, '--timeout', '1m', '--', 'sh', '-c', 'sleep 2'], { env: profile(), timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`jobs submit failed: ${r.output}`);
  return r.stdout.trim();
}

beforeAll(async () => {
  if (SKIP_DOCKER) return;
  requireBuild();
  // a fake NVIDIA hook: dockerd registers its "nvidia" device driver when it finds this on its PATH at start
  const hookBin = join(tmp.dir, 'hook-bin');
  mkdirSync(hookBin, { recursive: true });
  await writeFile(join(hookBin, 'nvidia-container-runtime-hook'), `#!/bin/sh
state=$(cat)
bundle=$(printf '%s' "$state" | sed -n 's/.*"bundle":"\\([^"]*\\)".*/\\1/p')
grep -o 'NVIDIA_VISIBLE_DEVICES=[^"]*' "$bundle/config.json" >> '${hookLog}'
exit 0
`);
  await chmod(join(hookBin, 'nvidia-container-runtime-hook'), 0o755);
  engine = await startPrivateDocker({ path: [hookBin] });
  miner = await makeFakeMiner();
  await miner.setRate({ total: 2_000_000, perGpu: 1_000_000 });
  mkdirSync(fakeBin, { recursive: true });
  const smi = join(fakeBin, 'nvidia-smi');
  await writeFile(smi, `#!/bin/sh\nif [ $# -eq 0 ]; then cat '${join(FIXTURES, 'banner.txt')}'; else head -n 2 '${join(FIXTURES, 'rig-6x-mixed.csv')}'; fi\n`);
  await chmod(smi, 0o755);
  const port = await freePort();
  const apiPort = await freePort();
  const bundle = installBundle(join(tmp.dir, 'device-bin'));
  const hubConfig = writeJson(join(tmp.dir, 'hub.json'), { jobs: { tickMs: 250, maxRetries: 0 } });
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--no-chain', '--config', hubConfig]);
  await hub.waitFor(/hub \S+ ready/);
  const key = await cli(['hub', 'keys', 'create', '--fleet', 'rigs', '--max', '1', '--data-dir', hubDir]);
  expect(key.code, key.output).toBe(0);
  const config = writeJson(join(tmp.dir, 'agent', 'config.json'), {
    hub: { url: `mqtt://127.0.0.1:${port}` }, provisioningKey: key.stdout.trim(), name: 'rig-1', stateDir: join(tmp.dir, 'agent', 'state'),
    telemetry: { intervalSec: 1 }, dashboard: { enabled: false }, mqtt: { keepaliveSec: 5, reconnectMinMs: 200, reconnectMaxMs: 2000 },
    jobs: { dockerHost: engine.host, askPerSec: '10', maxJobs: 2 },
    mining: {
      miner: { id: 'xmrig', command: [miner.path, '--http-port', '{apiPort}', '--devices', '{gpus}', '--control', miner.control], api: { port: apiPort } },
      algorithm: 'randomx', pool: 'pool.example.org:3333', wallet: 'w', gpus: [0, 1], statsIntervalSec: 1,
      // 1 MH/s per GPU at 1000 wei per MH: 1000 wei/s per GPU; with the 5 % margin a job must pay more than 1050
      profit: { revenueWeiPerMh: { randomx: '1000' }, askAtLeastMining: true, hysteresisSec: 900 },
    },
  });
  agent = start([bundle, '--config', config], { cwd: join(tmp.dir, 'device-bin'), env: { PATH: `${fakeBin}:${process.env.PATH ?? ''}` } });
  operator = await ConsoleClient.connect(ConsoleProfile.parse(JSON.parse(readFileSync(join(hubDir, 'console.json'), 'utf8'))));
  // the device is online with its engine and its ask follows mining (1050 wei/s, above the owner's 10)
  const d = await waitFor('the rig online, asking what mining earns', async () => {
    const r = await cli(['console', 'devices', '--json'], { env: profile(), timeoutMs: 30_000 });
    const list = JSON.parse(r.stdout) as { id: string; online: boolean; inventory: { jobs?: { engine: unknown; askPerSec?: string } } | null }[];
    return list.find((x) => x.online && x.inventory?.jobs?.engine && x.inventory.jobs.askPerSec === '1050') ?? null;
  }, 90_000, 500);
  deviceId = d.id;
}, 180_000);

afterAll(async () => {
  await operator?.close();
  await agent?.stop('SIGTERM', 20_000);
  await hub?.stop();
  await engine?.stop();
  tmp.cleanup();
});

describe.skipIf(SKIP_DOCKER)('rig mode with jobs from a real hub', () => {
  it('a job that pays less than mining is refused; one that pays more takes GPU 0 from mining, which resumes after', async () => {
    const starts = (await miner.starts()).length;
    expect((await miner.starts()).at(-1)!.argv).toEqual(expect.arrayContaining(['--devices', '0,1']));
    // the matcher sees the ask (1050, mining's) above the bid: the hub refuses it at submission, saying why
    const cheap = await cli(['console', 'jobs', 'submit', '--image', engine.images.local, '--gpus', '1', '--bid', '1000', '--', 'true'], { env: profile(), timeoutMs: 30_000 });
    expect(cheap.code).not.toBe(0);
    expect(cheap.output).toContain('1 device(s) ask more than the bid of 1000 wei/s');
    expect((await miner.starts()).length).toBe(starts);

    const from = agent.output().length;
    const rich = await submit('5000');
    await waitFor('the run on the rig', async () => (await show(rich)).runs.find((r) => r.deviceId === deviceId) ?? null, 60_000, 250);
    // the agent stops the miner (SIGTERM) and starts it on GPU 1 only, and takes GPU 0 back after the run:
    // the agent's own lines are checked for the hand-over, in order.
    const handOver = /\[agent\.mining\] mining gpus=\[1\][^\n]*\n(?:.*\n)*?.*\[agent\.mining\] miner stopped code=null signal=SIGTERM(?:.*\n)*?.*\[agent\.mining\] mining gpus=\[0,1\]/;
    await waitFor('the hand-over of GPU 0 and back in the agent\'s log', () => handOver.test(agent.output().slice(from)) || null, 60_000, 200);
    const done = await waitFor('the run to end', async () => {
      const j = await show(rich);
      return ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j : null;
    }, 120_000, 500);
    expect(done.state, done.runs.map((r) => r.reason).join('; ')).toBe('succeeded');
    expect(gpuGrants()).toEqual(['NVIDIA_VISIBLE_DEVICES=0']); // the engine gave the container GPU 0 only
    // and a miner process is mining on both GPUs again
    await waitFor('mining on GPUs 0 and 1 again', async () => {
      const later = (await miner.starts()).slice(starts);
      const last = later.at(-1);
      return last && last.argv[last.argv.indexOf('--devices') + 1] === '0,1' ? last : null;
    }, 30_000, 100);
  }, 300_000);

  it('a bid that beats mining on GPU 1 only goes there (GPU 0 mines on); a bid oscillating around mining switches a GPU at most once per hysteresis window', async () => {
    // GPU 1 now mines at 0.4 MH/s: 400 wei/s, a job must pay more than 420 there; GPU 0 earns 1000 (1050) and is
    // still in its hysteresis window from the run before: the ask drops to GPU 1's threshold
    await miner.setRate({ total: 1_400_000, byGpu: { 0: 1_000_000, 1: 400_000 } });
    await waitFor('the ask to follow GPU 1\'s mining', async () => (await ask()) === '420' || null, 60_000, 500);
    const grants = gpuGrants().length;
    const devices = (await minerDevices()).length;
    const from = agent.output().length;
    const job = await submit('1000'); // beats GPU 1 (420), not GPU 0 (1050)
    const done = await waitFor('the run on GPU 1 to end', async () => {
      const j = await show(job);
      return ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j : null;
    }, 120_000, 500);
    expect(done.state, done.runs.map((r) => r.reason).join('; ')).toBe('succeeded');
    expect(gpuGrants().slice(grants)).toEqual(['NVIDIA_VISIBLE_DEVICES=1']); // the container got GPU 1 only
    const handOver = /\[agent\.mining\] mining gpus=\[0\][^\n]*\n(?:.*\n)*?.*\[agent\.mining\] mining gpus=\[0,1\]/;
    await waitFor('GPU 1 handed to the run and back', () => handOver.test(agent.output().slice(from)) || null, 60_000, 200);
    expect(agent.output().slice(from)).not.toMatch(/\[agent\.mining\] mining gpus=\[1\]/); // GPU 0 never stopped mining
    await waitFor('mining on GPUs 0 and 1 again', async () => (await minerDevices()).at(-1) === '0,1' || null, 30_000, 100);

    // now both GPUs are in their hysteresis windows (900 s): bids above and below mining alternate, none switches
    const switches = (await minerDevices()).length;
    const reasons: string[] = [];
    for (const bid of ['300', '5000', '400', '5000']) {
      const r = await cli(['console', 'jobs', 'submit', '--image', engine.images.local, '--gpus', '1', '--bid', bid, '--timeout', '1m', '--', 'sh', '-c', 'sleep 1'], { env: profile(), timeoutMs: 30_000 });
      if (r.code !== 0) {
        expect(r.output).toMatch(/ask more than the bid/); // the hub matched it nowhere
        continue;
      }
      const id = r.stdout.trim();
      // the rig refuses the run (its GPUs are held on mining for the window); the hub may try it again: give it
      // a while, then cancel it
      const j = await waitFor(`job ${id} refused`, async () => {
        const x = await show(id);
        return ['succeeded', 'failed', 'cancelled'].includes(x.state) || x.runs.some((run) => run.reason) ? x : null;
      }, 20_000, 500).catch(() => null);
      if (j) {
        expect(j.state).not.toBe('succeeded');
        reasons.push(...j.runs.map((run) => run.reason ?? ''));
      }
      await operator.call(jobsService, 'cancel', { jobId: id }).catch(() => {});
    }
    for (const why of reasons) expect(why).toMatch(/this rig mines instead: .*held on mining for the hysteresis window/);
    expect((await minerDevices()).length).toBe(switches); // no miner restart: no GPU left mining
    expect(gpuGrants().length).toBe(grants + 1);
    expect(devices).toBeLessThan(switches);

    // earnings over time: mining beside compute per interval, and the decisions with their reasons
    const earned = await cli(['console', 'mining', 'earnings', deviceId, '--json'], { env: profile(), timeoutMs: 30_000 });
    expect(earned.code, earned.output).toBe(0);
    const e = JSON.parse(earned.stdout) as { totals: { miningWei: string; computeWei: string }; decisions: { gpu: number; from: string; to: string; reason: string }[] };
    expect(BigInt(e.totals.miningWei)).toBeGreaterThan(0n);
    expect(BigInt(e.totals.computeWei)).toBeGreaterThan(0n); // the two runs paid while they ran
    expect(e.decisions).toEqual(expect.arrayContaining([
      expect.objectContaining({ gpu: 1, from: 'mine', to: 'job' }),
      expect.objectContaining({ gpu: 1, from: 'job', to: 'mine' }),
      expect.objectContaining({ gpu: -1, reason: expect.stringMatching(/refused: this rig mines instead: .*hysteresis window/) }),
    ]));
    const text = await cli(['console', 'mining', 'earnings', deviceId], { env: profile(), timeoutMs: 30_000 });
    expect(text.stdout).toMatch(/INTERVAL\s+SEC\s+MINING \(wei\)\s+COMPUTE \(wei\)/);
    expect(text.stdout).toMatch(/\n {2}\S+ GPU 1 mine -> job: /);
  }, 300_000);
});

afterAll(() => {
  if (process.env.SOSNA_RIG_DEBUG) console.log(agent?.output().slice(-6000));
});
