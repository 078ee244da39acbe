// lolMiner's and GMiner's HTTP APIs beside xmrig's and T-Rex's: each parser on fixtures shaped like the
// miner's documented JSON (lolMiner 1.x and its older shape; GMiner's /stat), the flight sheet naming them
// (and refusing a miner it cannot read, with the field and the accepted values), and the rig reading the
// fake miner (a real process, test/fake-miner.ts) speaking each API, per GPU by inventory index.
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceConfig, MiningConfig, parseConfig, silentLogger } from '@sosna/protocol';
import { fakeMinerSheet, makeFakeMiner, pollUntilGpus, type FakeMiner } from '../../../test/fake-miner.js';
import { freePort } from '../../../test/procs.js';
import { MiningRig, minerMetrics, parseGminerStat, parseLolminer, unitFactor, type RigGpu } from './index.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as unknown;
let miner: FakeMiner;
beforeAll(async () => {
  miner = await makeFakeMiner();
});
afterAll(() => rm(miner.dir, { recursive: true, force: true }));

describe('lolMiner API', () => {
  it('parses lolMiner 1.x: the first algorithm\'s totals in H/s (Performance_Factor), shares with stales as rejected, per GPU by Workers[].Index', () => {
    expect(parseLolminer(fixture('lolminer-1x.json'))).toEqual({
      hashrate: { '10s': 120_500_000 }, sharesGood: 1520, sharesTotal: 1523, algo: 'Etchash', pool: 'etc.pool.example.org:4444', uptimeSec: 86400,
      gpus: [{ index: 0, backend: 'gpu', hashrate: 61_250_000 }, { index: 2, backend: 'gpu', hashrate: 59_250_000 }],
    });
  });

  it('parses the older shape (Session.Performance_Summary in its unit, GPUs[].Index)', () => {
    expect(parseLolminer(fixture('lolminer-legacy.json'))).toEqual({
      hashrate: { '10s': 60_500_000 }, sharesGood: 300, sharesTotal: 304, algo: 'Ethash', pool: 'eth.pool.example.org:4444', uptimeSec: 3600,
      gpus: [{ index: 0, backend: 'gpu', hashrate: 30_250_000 }, { index: 1, backend: 'gpu', hashrate: 30_250_000 }],
    });
  });

  it('is lenient: no factor falls back to the unit, junk entries are skipped', () => {
    expect(unitFactor('Mh/s')).toBe(1e6);
    expect(unitFactor('kh/s')).toBe(1e3);
    expect(unitFactor('Gh/s')).toBe(1e9);
    expect(unitFactor('sol/s')).toBe(1);
    expect(unitFactor(undefined)).toBe(1);
    expect(parseLolminer({ Workers: [{ Index: 4 }, { Index: -1 }], Algorithms: [{ Performance_Unit: 'kh/s', Total_Performance: 2, Worker_Performance: [1, 1, 'x'] }] })).toEqual({
      hashrate: { '10s': 2000 }, gpus: [{ index: 4, backend: 'gpu', hashrate: 1000 }],
    });
    expect(parseLolminer(null)).toEqual({ hashrate: {}, gpus: [] });
  });
});

describe('GMiner API', () => {
  it('parses /stat: the summed device speeds, total shares (stale and invalid count as rejected), pool, per GPU by gpu_id', () => {
    expect(parseGminerStat(fixture('gminer-stat.json'))).toEqual({
      hashrate: { '10s': 1_190_000_000 }, sharesGood: 2040, sharesTotal: 2044, algo: 'KAS', pool: 'stratum+tcp://kaspa.pool.example.org:5555', uptimeSec: 86400,
      gpus: [{ index: 0, backend: 'gpu', hashrate: 600_000_000 }, { index: 2, backend: 'gpu', hashrate: 590_000_000 }],
    });
  });

  it('is lenient: per-device shares where no totals, pool_speed where no device reports, junk skipped', () => {
    expect(parseGminerStat({ devices: [{ gpu_id: 1, speed: 10, accepted_shares: 3, rejected_shares: 1 }, { gpu_id: 'x', speed: 5, accepted_shares: 2 }] })).toEqual({
      hashrate: { '10s': 10 }, sharesGood: 5, sharesTotal: 6, gpus: [{ index: 1, backend: 'gpu', hashrate: 10 }],
    });
    expect(parseGminerStat({ pool_speed: 7, devices: [] })).toEqual({ hashrate: { '10s': 7 }, gpus: [] });
    expect(parseGminerStat('nope')).toEqual({ hashrate: {}, gpus: [] });
  });
});

describe('flight sheet: the miner\'s API', () => {
  const errors = (kind: string) => {
    const r = parseConfig(DeviceConfig, { hub: { url: 'mqtt://hub.example.org:1883' }, mining: { miner: { command: ['/bin/true'], api: { kind, port: 4067 } }, algorithm: 'etchash', pool: 'pool.example.org:3333', wallet: 'w', gpus: [0] } }, { file: 'sosna.json' });
    return r.ok ? [] : r.errors;
  };
  it('accepts lolminer and gminer beside xmrig and trex; refuses another miner with the field and the accepted values', () => {
    for (const kind of ['xmrig', 'trex', 'lolminer', 'gminer']) expect(errors(kind)).toEqual([]);
    expect(errors('nbminer').join('\n')).toMatch(/sosna\.json: mining\.miner\.api\.kind: must be one of "xmrig", "trex", "lolminer", "gminer" \(the miner whose HTTP API the agent reads: .*\)/);
    expect(errors('nbminer').join('\n')).toContain('"nbminer"');
  });
});

describe('the rig reads each miner\'s API into the same telemetry, per GPU by inventory index', () => {
  // inventory indices 3 and 4 are the driver's (and the miner's) 0 and 1: the miner's per-GPU figures land on 3 and 4
  const gpus: RigGpu[] = [{ index: 3, vendorIndex: 0, vendor: 'nvidia', state: 'ok' }, { index: 4, vendorIndex: 1, vendor: 'nvidia', state: 'ok' }];
  for (const kind of ['lolminer', 'gminer'] as const) {
    it(kind, async () => {
      await miner.setRate({ total: 3_000_000, byGpu: { 0: 2_000_000, 1: 1_000_000 } });
      const sheet = MiningConfig.parse(fakeMinerSheet(miner, kind, await freePort(), [3, 4]));
      const rig = new MiningRig({ sheet, gpus, log: silentLogger, worker: 'rig' });
      try {
        rig.start();
        const stats = await pollUntilGpus(() => rig.poll());
        expect((await miner.starts()).at(-1)!.argv).toEqual(expect.arrayContaining(['--devices', '0,1']));
        expect(stats).toMatchObject({ hashrate: { '10s': 3_000_000 }, gpus: [{ index: 3, hashrate: 2_000_000 }, { index: 4, hashrate: 1_000_000 }] });
        expect(rig.gpuHashrate(3)).toBe(2_000_000);
        expect(rig.gpuHashrate(4)).toBe(1_000_000);
        expect(rig.metrics()).toMatchObject({ [`miner.${kind}.up`]: 1, [`miner.${kind}.hashrate10s`]: 3_000_000, [`miner.${kind}.gpu.3.hashrate10s`]: 2_000_000, [`miner.${kind}.gpu.4.hashrate10s`]: 1_000_000 });
        expect(minerMetrics(kind, stats, true)[`miner.${kind}.sharesAccepted`]).toBeGreaterThanOrEqual(0);
      } finally {
        await rig.stop();
      }
    });
  }
});
