// The profit planner, pure: state in, decisions out. Money in bigint wei.
import { describe, expect, it } from 'vitest';
import { planRig, powerCostPerSec, revenuePerSec, type Bid, type GpuView, type PlanConfig, type PlannerState, type Rate } from './planner.js';

const cfg: PlanConfig = { electricityWeiPerKwh: 0n, rateMaxAgeMs: 3_600_000, hysteresisMs: 300_000, marginPct: 5, askAtLeastMining: false, askPerSec: 0n };
const gpu = (index: number, over: Partial<GpuView> = {}): GpuView => ({ index, hashrateHs: 1_000_000, powerW: null, faulty: false, job: false, ...over });
// 1 MH/s at 1000 wei per MH: mining earns 1000 wei/s per GPU; with a 5 % margin a job must pay more than 1050
const rate = (at = 0): Rate => ({ weiPerMh: 1000n, at, source: 'owner' });

describe('money', () => {
  it('revenue from hashrate x rate, power cost from watts x price, exact and in wei', () => {
    expect(revenuePerSec(1_000_000, 1000n)).toBe(1000n);
    expect(revenuePerSec(2_500, 10n ** 18n)).toBe(25n * 10n ** 14n); // 2.5 kH/s at 1 SNM per MH
    // 200 W at 0.1 SNM per kWh: 200 J/s x 1e17 wei / 3.6e6 J = 5555555555555.55... -> rounded up
    expect(powerCostPerSec(200, 10n ** 17n)).toBe(5_555_555_555_556n);
    expect(powerCostPerSec(0, 10n ** 17n)).toBe(0n);
  });
});

describe('planRig', () => {
  it('an idle rig mines on every GPU and offers them at mining\'s rate plus the margin', () => {
    const p = planRig({}, { now: 1000, gpus: [gpu(0), gpu(1)], rate: rate(), bids: [] }, cfg);
    expect(p.gpus.map((g) => [g.mode, g.miningNetWeiPerSec, g.thresholdWeiPerSec, g.offer])).toEqual([['mine', 1000n, 1050n, true], ['mine', 1000n, 1050n, true]]);
    expect(p.stale).toBe(false);
  });

  it('a job that beats mining takes one GPU; the other keeps mining (decided per GPU)', () => {
    const bids: Bid[] = [{ id: 'j1', gpu: 1, perSec: 1051n }];
    const p = planRig({}, { now: 1000, gpus: [gpu(0), gpu(1)], rate: rate(), bids }, cfg);
    expect(p.gpus.map((g) => [g.index, g.mode, g.take])).toEqual([[0, 'mine', null], [1, 'job', 'j1']]);
  });

  it('a job that pays less than mining (or only as much as mining plus the margin) is not taken', () => {
    for (const perSec of [999n, 1000n, 1050n]) {
      const p = planRig({}, { now: 1000, gpus: [gpu(0)], rate: rate(), bids: [{ id: 'cheap', gpu: 0, perSec }] }, cfg);
      expect(p.gpus[0]).toMatchObject({ mode: 'mine', take: null });
    }
  });

  it('the power a GPU draws is taken off what mining earns; mining at a loss keeps no job away', () => {
    // 360 W at 10^7 wei per kWh (360 J/s x 10^7 / 3.6e6 J) = 1000 wei/s: mining nets 0 -> any paying job takes it
    const p = planRig({}, { now: 1000, gpus: [gpu(0, { powerW: 360 })], rate: rate(), bids: [{ id: 'j', gpu: 0, perSec: 1n }] }, { ...cfg, electricityWeiPerKwh: 10_000_000n });
    expect(p.gpus[0]).toMatchObject({ miningNetWeiPerSec: 0n, thresholdWeiPerSec: 0n, mode: 'job', take: 'j' });
  });

  it('a job runs until it ends, then the GPU mines again', () => {
    let s: PlannerState = planRig({}, { now: 1000, gpus: [gpu(0)], rate: rate(), bids: [{ id: 'j', gpu: 0, perSec: 5000n }] }, cfg).state;
    let p = planRig(s, { now: 2000, gpus: [gpu(0, { job: true })], rate: rate(), bids: [] }, cfg);
    expect(p.gpus[0]).toMatchObject({ mode: 'job', offer: false });
    s = p.state;
    p = planRig(s, { now: 3000, gpus: [gpu(0)], rate: rate(), bids: [] }, cfg);
    expect(p.gpus[0]).toMatchObject({ mode: 'mine' });
  });

  it('a bid oscillating around the mining rate switches a GPU at most once per hysteresis window', () => {
    // every 10 s for 20 minutes the bid flips between 1100 (beats mining) and 900; a job taken lasts one tick
    const switches = (c: PlanConfig) => {
      let s: PlannerState = {};
      let n = 0;
      let running = false;
      for (let t = 0; t <= 1_200_000; t += 10_000) {
        const perSec = (t / 10_000) % 2 === 0 ? 1100n : 900n;
        const p = planRig(s, { now: t, gpus: [gpu(0, { job: running })], rate: rate(t), bids: running ? [] : [{ id: `j${t}`, gpu: 0, perSec }] }, c);
        s = p.state;
        running = p.gpus[0]!.take !== null;
        if (running) n++;
      }
      return n;
    };
    // 1 200 s / 300 s windows: at most 5 switches (one at t=0 and one per window after)
    expect(switches(cfg)).toBeGreaterThan(0);
    expect(switches(cfg)).toBeLessThanOrEqual(5);
    expect(switches({ ...cfg, hysteresisMs: 0 })).toBeGreaterThan(20); // what the window prevents
  });

  it('a stale or missing rate is flagged and keeps no job away', () => {
    const stale = planRig({}, { now: 10_000_000, gpus: [gpu(0)], rate: rate(0), bids: [{ id: 'j', gpu: 0, perSec: 1n }] }, cfg);
    expect(stale.stale).toBe(true);
    expect(stale.gpus[0]).toMatchObject({ miningNetWeiPerSec: null, mode: 'job', take: 'j' });
    expect(planRig({}, { now: 0, gpus: [gpu(0)], rate: null, bids: [] }, cfg).stale).toBe(true);
  });

  it('a faulty GPU neither mines nor takes jobs', () => {
    const p = planRig({}, { now: 0, gpus: [gpu(0, { faulty: true })], rate: rate(), bids: [{ id: 'j', gpu: 0, perSec: 10n ** 18n }] }, cfg);
    expect(p.gpus[0]).toMatchObject({ mode: 'off', offer: false, take: null });
  });

  it('"never run a job that pays less than mining": the ask rises to the cheapest offered GPU\'s threshold', () => {
    const gpus = [gpu(0), gpu(1, { hashrateHs: 2_000_000 })];
    expect(planRig({}, { now: 0, gpus, rate: rate(), bids: [] }, { ...cfg, askPerSec: 10n }).askPerSec).toBe(10n);
    expect(planRig({}, { now: 0, gpus, rate: rate(), bids: [] }, { ...cfg, askPerSec: 10n, askAtLeastMining: true }).askPerSec).toBe(1050n);
    expect(planRig({}, { now: 0, gpus, rate: rate(), bids: [] }, { ...cfg, askPerSec: 5000n, askAtLeastMining: true }).askPerSec).toBe(5000n);
  });
});
