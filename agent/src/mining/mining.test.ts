// Rig mode against real processes: the fake miner (test/fake-miner.ts, xmrig's HTTP API with a hashrate the
// test controls) started by the agent as the owner's program, and the GPUs from a fake nvidia-smi that prints
// the hardware tests' six-card rig fixture through the real hardware detection.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeviceConfig, MiningConfig, createLogger, parseConfig } from '@sosna/protocol';
import type { MiningConfig as Sheet } from '@sosna/protocol';
import { makeFakeMiner, type FakeMiner } from '../../../test/fake-miner.js';
import { freePort } from '../../../test/procs.js';
import { detectHardware } from '../hardware/index.js';
import { FlightSheetError, MiningRig, checkFlightSheet, minerMetrics, parseXmrigBackends, parseXmrigSummary, type RigGpu } from './index.js';
import { telemetrySamples } from '../metrics.js';

const FIXTURES = new URL('../hardware/fixtures/', import.meta.url);
const log = createLogger({ level: 'error', scope: 'mining-test' });

let dir: string;
let gpus: RigGpu[];
let miner: FakeMiner;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sosna-rig-'));
  const csv = new URL('nvidia-smi/rig-6x-mixed.csv', FIXTURES).pathname;
  const banner = new URL('nvidia-smi/banner.txt', FIXTURES).pathname;
  const smi = join(dir, 'nvidia-smi');
  await writeFile(smi, `#!/bin/sh\nif [ $# -eq 0 ]; then cat '${banner}'; else cat '${csv}'; fi\n`);
  await chmod(smi, 0o755);
  const empty = join(dir, 'root');
  const { inventory } = await detectHardware({ only: ['gpu'], commands: { nvidiaSmi: smi, rocmSmi: join(dir, 'no-rocm-smi') }, fsRoot: empty, sysfsRoot: join(empty, 'sys'), procRoot: join(empty, 'proc') });
  gpus = inventory.gpus as RigGpu[];
  miner = await makeFakeMiner();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(miner.dir, { recursive: true, force: true });
});

const sheet = (over: Record<string, unknown> = {}, port = 1): Sheet =>
  MiningConfig.parse({
    miner: { id: 'xmrig', command: [miner.path, '--url', '{pool}', '--user', '{wallet}', '--http-port', '{apiPort}', '--devices', '{gpus}', '--threads', '{threads}', '--control', miner.control], api: { port } },
    algorithm: 'randomx', pool: 'stratum+tcp://pool.example.org:3333', wallet: '48abcdef', gpus: [0, 1, 2], statsIntervalSec: 1, stopGraceSec: 2,
    ...over,
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

describe('the detected rig (fake nvidia-smi)', () => {
  it('has the six cards of the fixture', () => {
    expect(gpus.length).toBe(6);
    expect(gpus[0]!.power?.maxLimitW).toBe(370);
  });
});

describe('xmrig API parsing', () => {
  it('reads totals, shares, pool and algorithm from /2/summary; per-GPU and CPU from /2/backends', () => {
    const s = parseXmrigSummary({ algo: 'rx/0', uptime: 5, results: { shares_good: 9, shares_total: 10 }, connection: { pool: 'p:1' }, hashrate: { total: [100.5, 99, null] } });
    expect(s).toEqual({ hashrate: { '10s': 100.5, '60s': 99 }, sharesGood: 9, sharesTotal: 10, algo: 'rx/0', pool: 'p:1', uptimeSec: 5, gpus: [] });
    const b = parseXmrigBackends([
      { type: 'cpu', enabled: true, threads: [{ hashrate: [10, 9, null] }, { hashrate: [null, 5, null] }] },
      { type: 'cuda', enabled: true, threads: [{ index: 0, hashrate: [300, null, null] }, { index: 2, hashrate: [null, 200, null] }] },
      { type: 'opencl', enabled: false, threads: [{ index: 0, hashrate: [1, 1, 1] }] },
    ], s);
    expect(b.gpus).toEqual([{ index: 0, backend: 'cuda', hashrate: 300 }, { index: 2, backend: 'cuda', hashrate: 200 }]);
    expect(b.cpuHashrate).toBe(15);
    expect(minerMetrics('xmrig', b, true)).toMatchObject({ 'miner.xmrig.up': 1, 'miner.xmrig.hashrate10s': 100.5, 'miner.xmrig.sharesAccepted': 9, 'miner.xmrig.sharesRejected': 1, 'miner.xmrig.gpu.2.hashrate10s': 200, 'miner.xmrig.cpu.hashrate10s': 15 });
  });

  it('leaves out what is missing or odd, never guesses', () => {
    expect(parseXmrigSummary('nonsense')).toEqual({ hashrate: {}, gpus: [] });
    expect(parseXmrigSummary({ hashrate: { total: [-1, 'x', null] }, results: { shares_good: NaN } })).toEqual({ hashrate: {}, gpus: [] });
    expect(parseXmrigBackends({ not: 'a list' }, { hashrate: {}, gpus: [] })).toEqual({ hashrate: {}, gpus: [] });
  });

  it('fills sosna_agent_hashrate_hashes_per_second with source="miner"', () => {
    const samples = telemetrySamples({ 'miner.xmrig.hashrate10s': 1000, 'miner.xmrig.hashrate15m': 900, 'miner.xmrig.gpu.1.hashrate10s': 400, 'miner.xmrig.sharesAccepted': 5, 'miner.xmrig.up': 1 });
    expect(samples).toContainEqual({ name: 'sosna_agent_hashrate_hashes_per_second', labels: { source: 'miner', id: 'xmrig', window: '10s' }, value: 1000 });
    expect(samples).toContainEqual({ name: 'sosna_agent_hashrate_hashes_per_second', labels: { source: 'miner', id: 'xmrig', window: '15m' }, value: 900 });
    expect(samples).toContainEqual({ name: 'sosna_agent_hashrate_hashes_per_second', labels: { source: 'miner', id: 'xmrig/gpu1', window: '10s' }, value: 400 });
    expect(samples).toContainEqual({ name: 'sosna_agent_miner_shares_total', labels: { miner: 'xmrig', result: 'accepted' }, value: 5 });
    expect(samples).toContainEqual({ name: 'sosna_agent_miner_up', labels: { miner: 'xmrig' }, value: 1 });
  });
});

describe('flight sheet: bad input is refused with the field and the reason', () => {
  const base = () => ({ hub: { url: 'mqtt://hub.example.org:1883' }, mining: { miner: { command: ['/bin/true'], api: { port: 4067 } }, algorithm: 'randomx', pool: 'pool.example.org:3333', wallet: 'w', gpus: [0] } });
  const errors = (patch: (c: ReturnType<typeof base>) => void) => {
    const c = base();
    patch(c);
    const r = parseConfig(DeviceConfig, c, { file: 'sosna.json' });
    return r.ok ? [] : r.errors;
  };

  it('an unknown algorithm, a bad pool, no GPUs and no threads (schema, protocol/src/config.ts)', () => {
    expect(errors(() => {})).toEqual([]);
    expect(errors((c) => (c.mining.algorithm = 'notahash')).join('\n')).toMatch(/sosna\.json: mining\.algorithm: must be one of sha256d, etchash, kawpow, autolykos2, kheavyhash, randomx, scrypt \(got "notahash"\)/);
    expect(errors((c) => (c.mining.pool = 'http://x')).join('\n')).toMatch(/mining\.pool: must be host:port or stratum\+tcp:\/\/host:port/);
    expect(errors((c) => (c.mining.gpus = [])).join('\n')).toMatch(/mining\.gpus: name the GPUs that mine/);
    expect(errors((c) => (c.mining.gpus = [1, 1])).join('\n')).toMatch(/mining\.gpus: must not name a GPU twice/);
    expect(errors((c) => (c.mining.miner.command = [])).join('\n')).toMatch(/mining\.miner\.command: must name the miner program/);
  });

  it('a missing miner, a GPU that does not exist, a power limit outside the card\'s range (against the detected rig)', () => {
    const ok = checkFlightSheet(sheet({ powerLimitW: 200 }), gpus);
    expect(ok.errors).toEqual([]);
    expect(checkFlightSheet(sheet({ miner: { command: ['no-such-miner-xyz'], api: { port: 1 } } }), gpus, { PATH: '/nonexistent' }).errors).toEqual([
      'mining.miner.command.0: "no-such-miner-xyz" is not found on PATH (/nonexistent); give the miner program\'s full path',
    ]);
    expect(checkFlightSheet(sheet({ miner: { command: ['/nonexistent/xmrig'], api: { port: 1 } } }), gpus).errors[0]).toMatch(/^mining\.miner\.command\.0: "\/nonexistent\/xmrig" is not an executable file/);
    expect(checkFlightSheet(sheet({ gpus: [0, 9] }), gpus).errors).toEqual(['mining.gpus.1: GPU 9 does not exist on this device (detected: 0, 1, 2, 3, 4, 5)']);
    expect(checkFlightSheet(sheet({ gpus: [0], powerLimitW: 500 }), gpus).errors).toEqual([`mining.powerLimitW: 500 W is outside GPU 0's range (NVIDIA GeForce RTX 3080: at most 370 W)`]);
    expect(() => new MiningRig({ sheet: sheet({ gpus: [7] }), gpus, log, worker: 'rig' })).toThrow(FlightSheetError);
  });
});

describe('the miner process (fake xmrig started as the owner\'s program)', () => {
  let rig: MiningRig | null = null;
  afterEach(async () => {
    await rig?.stop();
    rig = null;
  });

  it('mines, reports hashrate and shares, hands a GPU to a job and takes it back, stops', async () => {
    const port = await freePort();
    await miner.setRate({ total: 3000, perGpu: 1000 });
    rig = new MiningRig({ sheet: sheet({}, port), gpus, log, worker: 'rig' });
    rig.start();
    const first = await until('the miner to start', async () => (await miner.starts())[0]);
    expect(first.argv).toEqual(expect.arrayContaining(['--url', 'stratum+tcp://pool.example.org:3333', '--user', '48abcdef', '--http-port', String(port), '--devices', '0,1,2']));
    await until('hashrate', async () => (await rig!.poll())?.hashrate['10s'] === 3000);
    const m = rig.metrics();
    expect(m).toMatchObject({ 'miner.xmrig.up': 1, 'miner.xmrig.hashrate10s': 3000, 'miner.xmrig.hashrate60s': 3000, 'miner.xmrig.gpu.0.hashrate10s': 1000, 'miner.xmrig.gpu.2.hashrate10s': 1000 });
    await until('a share', async () => ((await rig!.poll())?.sharesGood ?? 0) > 0);

    // the test moves the hashrate; the agent reads it
    await miner.setRate({ total: 1500, perGpu: 500 });
    await until('the new hashrate', async () => (await rig!.poll())?.hashrate['10s'] === 1500);

    // a job takes GPU 1: the old miner is gone when setJobGpus resolves, a new one mines on 0 and 2
    await rig.setJobGpus([1]);
    expect(alive(first.pid)).toBe(false);
    const second = await until('the miner on the other GPUs', async () => (await miner.starts())[1]);
    expect(second.argv).toEqual(expect.arrayContaining(['--devices', '0,2']));
    expect(rig.miningGpus).toEqual([0, 2]);
    expect(rig.gpuHashrate(1)).toBe(500); // remembered for the planner while the job has it

    // the job ends: mining resumes on all three
    await rig.setJobGpus([]);
    expect(alive(second.pid)).toBe(false);
    const third = await until('mining to resume', async () => (await miner.starts())[2]);
    expect(third.argv).toEqual(expect.arrayContaining(['--devices', '0,1,2']));

    // every GPU to jobs and no CPU threads: no miner at all
    await rig.setJobGpus([0, 1, 2]);
    expect(alive(third.pid)).toBe(false);
    expect(rig.pid).toBeNull();
    expect(rig.metrics()).toEqual({ 'miner.xmrig.up': 0 });
    await rig.stop();
    expect((await miner.starts()).length).toBe(3);
  });

  it('the watchdog\'s actions: a miner restart on the same GPUs, a faulty GPU out of mining and back', async () => {
    const port = await freePort();
    await miner.setRate({ total: 3000, perGpu: 1000 });
    rig = new MiningRig({ sheet: sheet({}, port), gpus, log, worker: 'rig' });
    const before = (await miner.starts()).length;
    rig.start();
    const first = await until('the miner', async () => (await miner.starts())[before]);
    await rig.restartMiner();
    expect(alive(first.pid)).toBe(false);
    const second = await until('the restarted miner', async () => (await miner.starts())[before + 1]);
    expect(second.argv).toEqual(expect.arrayContaining(['--devices', '0,1,2']));
    await rig.setFaultyGpus([1]);
    const third = await until('the miner without GPU 1', async () => (await miner.starts())[before + 2]);
    expect(third.argv).toEqual(expect.arrayContaining(['--devices', '0,2']));
    await rig.setFaultyGpus([]);
    const fourth = await until('GPU 1 back', async () => (await miner.starts())[before + 3]);
    expect(fourth.argv).toEqual(expect.arrayContaining(['--devices', '0,1,2']));
  });

  it('sets the sheet\'s power limit on each mining GPU through nvidia-smi, and says so when it is refused', async () => {
    const calls = join(dir, 'pl-calls');
    const smi = join(dir, 'nvidia-smi-pl');
    await writeFile(smi, `#!/bin/sh\necho "$@" >> '${calls}'\nif [ "$2" = "2" ]; then echo "Insufficient Permissions"; exit 4; fi\necho "Power limit for GPU $2 was set to $4 W"\n`);
    await chmod(smi, 0o755);
    const warn: string[] = [];
    const capture = { ...log, warn: (m: string) => void warn.push(m), child: () => capture } as typeof log;
    const r = new MiningRig({ sheet: sheet({ powerLimitW: 200 }), gpus, log: capture, worker: 'rig', nvidiaSmi: smi });
    const results = await r.applyTuning();
    expect(await readFile(calls, 'utf8')).toBe('-i 0 -pl 200\n-i 1 -pl 200\n-i 2 -pl 200\n');
    expect(results.map((x) => [x.gpu, x.ok])).toEqual([[0, true], [1, true], [2, false]]);
    expect(results[2]!.detail).toBe('Insufficient Permissions');
    expect(warn).toEqual(['tuning not applied: mining.powerLimitW = 200 on GPU 2: Insufficient Permissions']);
  });

  it('kills a miner that ignores SIGTERM after the grace period, and restarts one that dies', async () => {
    const port = await freePort();
    const base = sheet({}, port);
    rig = new MiningRig({ sheet: { ...base, stopGraceSec: 0.5, miner: { ...base.miner, command: [...base.miner.command, '--ignore-term'] } }, gpus, log, worker: 'rig', restartMinMs: 100 });
    const before = (await miner.starts()).length;
    rig.start();
    const started = await until('the miner', async () => (await miner.starts())[before]);
    await until('its API', async () => (await rig!.poll()) !== null);
    process.kill(started.pid, 'SIGKILL'); // it dies on its own: the supervisor starts it again
    const again = await until('the restart', async () => (await miner.starts())[before + 1]);
    expect(again.pid).not.toBe(started.pid);
    await until('the restarted miner running', () => rig!.state === 'running' && rig!.pid === again.pid);
    await rig.stop(); // SIGTERM is ignored: SIGKILL after 0.5 s
    expect(alive(again.pid)).toBe(false);
    expect(await readFile(`${miner.control}.log`, 'utf8')).toContain('SIGTERM ignored'); // so SIGKILL ended it
  });
});
