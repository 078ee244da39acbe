// T-Rex's /summary: the parser on a fixture shaped like T-Rex's documented answer, and the rig reading the
// fake miner (a real process) speaking T-Rex's API.
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiningConfig, silentLogger } from '@sosna/protocol';
import { fakeMinerSheet, makeFakeMiner, pollUntilGpus, type FakeMiner } from '../../../test/fake-miner.js';
import { freePort } from '../../../test/procs.js';
import { MiningRig, minerMetrics, parseTrexSummary, type RigGpu } from './index.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/trex-summary.json', import.meta.url), 'utf8')) as unknown;
let miner: FakeMiner;
beforeAll(async () => {
  miner = await makeFakeMiner();
});
afterAll(() => rm(miner.dir, { recursive: true, force: true }));

describe('T-Rex API', () => {
  it('parses /summary: totals, shares, pool, per-GPU by CUDA device id (the minute figure where the current one is 0)', () => {
    expect(parseTrexSummary(fixture)).toEqual({
      hashrate: { '10s': 61234567, '60s': 120600000 }, sharesGood: 1520, sharesTotal: 1523, algo: 'etchash', pool: 'stratum+tcp://pool.example.org:4444', uptimeSec: 86400,
      gpus: [{ index: 0, backend: 'cuda', hashrate: 61234567 }, { index: 2, backend: 'cuda', hashrate: 59500000 }],
    });
    expect(parseTrexSummary({ gpus: [{ device_id: -1, hashrate: 5 }, 'x', { hashrate: 1 }] })).toEqual({ hashrate: {}, gpus: [] });
    expect(parseTrexSummary(null)).toEqual({ hashrate: {}, gpus: [] });
  });

  it('the rig reads a miner speaking T-Rex\'s API (mining.miner.api.kind "trex") into the same telemetry', async () => {
    await miner.setRate({ total: 3_000_000, perGpu: 1_500_000 });
    const port = await freePort();
    const gpus: RigGpu[] = [0, 1].map((i) => ({ index: i, vendorIndex: i, vendor: 'nvidia', state: 'ok' }));
    const sheet = MiningConfig.parse(fakeMinerSheet(miner, 'trex', port, [0, 1]));
    const rig = new MiningRig({ sheet, gpus, log: silentLogger, worker: 'rig' });
    try {
      rig.start();
      const stats = await pollUntilGpus(() => rig.poll());
      expect(stats).toMatchObject({ hashrate: { '10s': 3_000_000 }, gpus: [{ index: 0, hashrate: 1_500_000 }, { index: 1, hashrate: 1_500_000 }] });
      expect(rig.metrics()).toMatchObject({ 'miner.trex.up': 1, 'miner.trex.hashrate10s': 3_000_000, 'miner.trex.gpu.1.hashrate10s': 1_500_000 });
      expect(minerMetrics('trex', stats, true)['miner.trex.sharesAccepted']).toBeGreaterThanOrEqual(0);
    } finally {
      await rig.stop();
    }
  });
});
