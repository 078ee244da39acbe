// The dashboard shows amounts with the protocol's exact formatter: 4,000 wei earned is not "0 SNM".
import { describe, expect, it } from 'vitest';
import { fmtTokens, minersOf, rateText, rigEarningsRows } from './ui/lib.js';

describe('dashboard amounts', () => {
  it('are exact', () => {
    expect(fmtTokens('4000')).toBe('0.000000000000004');
    expect(fmtTokens('1500000000000000000')).toBe('1.5');
    expect(fmtTokens('0')).toBe('0');
    expect(fmtTokens(null)).toBe('—');
  });
});

describe('rig mode on the overview', () => {
  it('reads the miner\'s hashrate, shares and per-GPU figures from the telemetry sample', () => {
    expect(minersOf({ 'cpu.loadPct': 1, 'miner.xmrig.up': 1, 'miner.xmrig.hashrate10s': 3000, 'miner.xmrig.sharesAccepted': 7, 'miner.xmrig.sharesRejected': 0, 'miner.xmrig.gpu.1.hashrate10s': 1000, 'miner.xmrig.gpu.0.hashrate10s': 2000 })).toEqual([
      { id: 'xmrig', up: true, hashrate: { '10s': 3000 }, gpus: [{ index: 0, hashrate: 2000 }, { index: 1, hashrate: 1000 }], accepted: 7, rejected: 0, rate: null },
    ]);
    expect(minersOf({ 'gpu.0.tempC': 60 })).toEqual([]);
  });

  it('shows whose revenue rate the planner weighs, and flags a stale one', () => {
    const [hub] = minersOf({ 'miner.x.rateStale': 0, 'miner.x.rateSource': 2, 'miner.x.rateAgeSec': 300 });
    expect(rateText(hub.rate)).toBe("the hub's, 5 min old");
    const [stale] = minersOf({ 'miner.x.rateStale': 1, 'miner.x.rateSource': 2, 'miner.x.rateAgeSec': 7300 });
    expect(rateText(stale.rate)).toBe("stale or missing (the hub's, 2 h old): mining keeps no job away");
    expect(rateText(minersOf({ 'miner.x.rateStale': 0, 'miner.x.rateSource': 1 })[0].rate)).toBe("the owner's");
    expect(rateText(minersOf({ 'miner.x.rateStale': 1, 'miner.x.rateSource': 0 })[0].rate)).toBe('stale or missing (none): mining keeps no job away');
  });
});

describe('rig earnings on the overview', () => {
  it('lists the intervals newest first, mining beside compute, with a note where mining\'s worth was unknown', () => {
    const e = { intervals: [{ at: Date.UTC(2026, 0, 1, 10, 0), sec: 60, miningWei: '900', computeWei: '0', miningUnknownSec: 0 }, { at: Date.UTC(2026, 0, 1, 10, 1), sec: 60, miningWei: '0', computeWei: '50', miningUnknownSec: 20 }] };
    expect(rigEarningsRows(e)).toEqual([
      { when: '10:01', mining: '0', compute: '50', note: "mining's worth unknown for 20 s" },
      { when: '10:00', mining: '900', compute: '0', note: '' },
    ]);
  });
});
