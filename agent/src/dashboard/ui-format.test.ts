// The dashboard shows amounts with the protocol's exact formatter: 4,000 wei earned is not "0 SNM".
import { describe, expect, it } from 'vitest';
import { fmtTokens, minersOf } from './ui/lib.js';

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
      { id: 'xmrig', up: true, hashrate: { '10s': 3000 }, gpus: [{ index: 0, hashrate: 2000 }, { index: 1, hashrate: 1000 }], accepted: 7, rejected: 0 },
    ]);
    expect(minersOf({ 'gpu.0.tempC': 60 })).toEqual([]);
  });
});
