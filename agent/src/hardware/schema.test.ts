import { describe, expect, it } from 'vitest';
import { HardwareInventory, HardwareProfile } from '@sosna/protocol/hardware';

const minimal = { schemaVersion: 1, detectedAt: 1, disks: [], network: [], gpus: [], asics: [], warnings: [] };
const gpu = {
  index: 0,
  vendor: 'nvidia',
  name: 'NVIDIA GeForce RTX 3070',
  pciBusId: '0000:01:00.0',
  vramBytes: 8589934592,
  pcie: { widthCurrent: 1 },
  power: {},
  clocks: {},
  throttleReasons: [],
  state: 'ok',
  source: 'nvidia-smi',
};

describe('HardwareInventory schema', () => {
  it('accepts a minimal inventory and keeps fields a newer agent adds', () => {
    const newer = { ...minimal, tpm: { present: true }, gpus: [{ ...gpu, nvlink: 4, pcie: { widthCurrent: 1, aspm: 'off' } }] };
    const parsed = HardwareInventory.parse(newer);
    expect(parsed['tpm']).toEqual({ present: true });
    expect(parsed.gpus[0]!['nvlink']).toBe(4);
    expect(parsed.gpus[0]!.pcie['aspm']).toBe('off');
  });

  it('rejects what an older hub cannot use: wrong types, unknown vendors, NaN, absurd sizes', () => {
    expect(HardwareInventory.safeParse({ ...minimal, schemaVersion: 2 }).success).toBe(false);
    expect(HardwareInventory.safeParse({ ...minimal, gpus: [{ ...gpu, vendor: 'voodoo' }] }).success).toBe(false);
    expect(HardwareInventory.safeParse({ ...minimal, gpus: [{ ...gpu, temperatureC: Number.NaN }] }).success).toBe(false);
    expect(HardwareInventory.safeParse({ ...minimal, gpus: [{ ...gpu, fanPct: 140 }] }).success).toBe(false);
    expect(HardwareInventory.safeParse({ ...minimal, warnings: Array.from({ length: 201 }, () => ({ source: 'x', message: 'y' })) }).success).toBe(false);
    expect(HardwareInventory.safeParse({ ...minimal, gpus: undefined }).success).toBe(false);
  });
});

describe('HardwareProfile schema', () => {
  const profile = { id: 'gpu-x', name: 'X', class: 'gpu', vendor: 'X', match: { namePatterns: ['X'] }, capabilities: {}, benchmarks: ['gpu-fp32'] };
  it('accepts a well-formed profile', () => {
    expect(HardwareProfile.safeParse(profile).success).toBe(true);
  });
  it('rejects typos, bad regular expressions, upside-down ranges and unknown benchmarks', () => {
    expect(HardwareProfile.safeParse({ ...profile, matchh: {} }).success).toBe(false);
    expect(HardwareProfile.safeParse({ ...profile, match: { namePatterns: ['(unclosed'] } }).success).toBe(false);
    expect(HardwareProfile.safeParse({ ...profile, match: { pciVendor: '0x10DE' } }).success).toBe(false);
    expect(HardwareProfile.safeParse({ ...profile, capabilities: { power: { tdpW: { min: 300, max: 200 }, safeLimitW: { min: 1, max: 2 } } } }).success).toBe(false);
    expect(HardwareProfile.safeParse({ ...profile, benchmarks: ['gpu-fps'] }).success).toBe(false);
    expect(HardwareProfile.safeParse({ ...profile, id: 'Not Kebab' }).success).toBe(false);
  });
});
