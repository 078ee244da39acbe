import { describe, expect, it } from 'vitest';
import type { HardwareGpu, HardwareInventory, HardwareProfile } from '@sosna/protocol/hardware';
import { matchProfiles } from './matcher.js';

const GiB = 1024 ** 3;

function gpu(index: number, over: Partial<HardwareGpu>): HardwareGpu {
  return {
    index,
    vendor: 'nvidia',
    name: 'GPU',
    pciBusId: `0000:0${index}:00.0`,
    vramBytes: 8 * GiB,
    pcie: {},
    power: {},
    clocks: {},
    throttleReasons: [],
    state: 'ok',
    source: 'nvidia-smi',
    ...over,
  };
}

function inventory(over: Partial<HardwareInventory>): HardwareInventory {
  return { schemaVersion: 1, detectedAt: 0, disks: [], network: [], gpus: [], asics: [], warnings: [], ...over };
}

const flags = { avx2: true, avx512f: false, sha: true, aes: true, neon: false };

describe('matchProfiles with the bundled profiles', () => {
  it('matches a mixed rig: PCI ids beat names, variants refine the family', () => {
    const inv = inventory({
      cpu: { model: 'Intel(R) Celeron(R) CPU G3930', vendor: 'Intel', arch: 'x86_64', cores: 2, threads: 2, flags },
      gpus: [
        gpu(0, { name: 'NVIDIA GeForce RTX 3080', pciVendorId: '0x10de', pciDeviceId: '0x2206' }),
        gpu(1, { name: 'NVIDIA GeForce RTX 4070 Ti SUPER' }),
        gpu(2, { vendor: 'amd', name: 'AMD GPU [1002:744c]', pciVendorId: '0x1002', pciDeviceId: '0x744c', source: 'sysfs' }),
        gpu(3, { name: 'NVIDIA H100 80GB HBM3', pciVendorId: '0x10de', pciDeviceId: '0x2330' }),
        gpu(4, { name: 'Some Future GPU 9000' }),
      ],
    });
    const { matches, unmatched } = matchProfiles(inv);
    const by = new Map(matches.map((m) => [m.component, m]));
    expect(by.get('cpu')).toMatchObject({ profileId: 'cpu-generic-x86-64', rule: 'arch', reason: 'architecture x86_64' });
    expect(by.get('gpu.0')).toMatchObject({ profileId: 'gpu-nvidia-rtx-30', variantId: 'rtx-3080', rule: 'pci-device', score: 100 });
    expect(by.get('gpu.0')!.reason).toBe('PCI id 10de:2206; variant rtx-3080: PCI id 10de:2206');
    expect(by.get('gpu.0')!.capabilities.vramBytes).toEqual([10 * GiB, 12 * GiB]);
    expect(by.get('gpu.0')!.capabilities.computeCapability).toBe('8.6');
    expect(by.get('gpu.1')).toMatchObject({ profileId: 'gpu-nvidia-rtx-40', variantId: 'rtx-4070-ti-super', rule: 'name-pattern' });
    expect(by.get('gpu.2')).toMatchObject({ profileId: 'gpu-amd-rx-7000', variantId: 'navi31', rule: 'pci-device' });
    expect(by.get('gpu.3')).toMatchObject({ profileId: 'gpu-nvidia-h100', variantId: 'h100-sxm5' });
    expect(by.get('gpu.3')!.capabilities.power).toEqual({ tdpW: { min: 700, max: 700 }, safeLimitW: { min: 350, max: 700 } });
    expect(unmatched).toEqual(['gpu.4']);
  });

  it('tells RTX variants with shared prefixes apart by name', () => {
    const names = ['NVIDIA GeForce RTX 3090 Ti', 'NVIDIA GeForce RTX 3090', 'NVIDIA GeForce RTX 4070', 'NVIDIA GeForce RTX 4070 SUPER', 'NVIDIA GeForce RTX 5060 Ti'];
    const inv = inventory({ gpus: names.map((name, i) => gpu(i, { name })) });
    expect(matchProfiles(inv).matches.map((m) => m.variantId)).toEqual(['rtx-3090-ti', 'rtx-3090', 'rtx-4070', 'rtx-4070-super', 'rtx-5060-ti']);
  });

  it('matches boards by device-tree model and ASICs by model', () => {
    const inv = inventory({
      cpu: { model: 'Cortex-A76', vendor: 'ARM', arch: 'arm64', cores: 4, threads: 4, flags: { ...flags, neon: true } },
      board: { kind: 'raspberry-pi', model: 'Raspberry Pi 5 Model B Rev 1.0', soc: 'BCM2712' },
      asics: [
        { host: '10.0.0.5', port: 4028, maker: 'Bitmain', model: 'Antminer S19j Pro', chains: [], fansRpm: [], state: 'ok' },
        { host: '10.0.0.6', port: 4028, maker: 'MicroBT', model: 'WhatsMiner M30S++', chains: [], fansRpm: [], state: 'ok' },
        { host: '10.0.0.7', port: 4028, maker: 'Bitmain', model: 'Antminer S21 XP', chains: [], fansRpm: [], state: 'ok' },
        { host: '10.0.0.8', port: 4028, maker: 'MicroBT', model: 'WhatsMiner M50S+', chains: [], fansRpm: [], state: 'ok' },
        { host: '10.0.0.9', port: 4028, maker: 'unknown', model: 'unknown', chains: [], fansRpm: [], state: 'error' },
      ],
    });
    const { matches, unmatched } = matchProfiles(inv);
    const by = new Map(matches.map((m) => [m.component, m]));
    expect(by.get('cpu')?.profileId).toBe('cpu-generic-arm64');
    expect(by.get('board')).toMatchObject({ profileId: 'board-raspberry-pi-5', variantId: 'pi-5', rule: 'device-tree-model' });
    expect(by.get('asic.10.0.0.5:4028')).toMatchObject({ profileId: 'asic-antminer-s19', variantId: 's19j-pro', rule: 'asic-model' });
    expect(by.get('asic.10.0.0.5:4028')!.capabilities.hashrates).toEqual([{ algorithm: 'sha256d', hashrateHs: { min: 104e12, max: 104e12 } }]);
    expect(by.get('asic.10.0.0.6:4028')).toMatchObject({ profileId: 'asic-whatsminer-m30', variantId: 'm30s-plus-plus' });
    expect(by.get('asic.10.0.0.7:4028')).toMatchObject({ profileId: 'asic-antminer-s21', variantId: 's21-xp' });
    expect(by.get('asic.10.0.0.8:4028')).toMatchObject({ profileId: 'asic-whatsminer-m50', variantId: 'm50s-plus' });
    expect(unmatched).toEqual(['asic.10.0.0.9:4028']);
  });

  it('matches a Jetson Orin Nano board and a Pi 4', () => {
    const jetson = matchProfiles(inventory({ board: { kind: 'jetson', model: 'NVIDIA Jetson Orin Nano Developer Kit' } }));
    expect(jetson.matches[0]).toMatchObject({ profileId: 'board-jetson-orin', variantId: 'orin-nano' });
    const pi4 = matchProfiles(inventory({ board: { kind: 'raspberry-pi', model: 'Raspberry Pi 4 Model B Rev 1.4' } }));
    expect(pi4.matches[0]).toMatchObject({ profileId: 'board-raspberry-pi-4', variantId: 'pi-4b' });
  });
});

describe('matchProfiles ranking', () => {
  const base = { class: 'gpu' as const, vendor: 'x', capabilities: {}, benchmarks: ['gpu-fp32' as const] };
  it('prefers the stronger rule, then priority, then the id', () => {
    const profiles: HardwareProfile[] = [
      { ...base, id: 'b-name', name: 'by name', match: { namePatterns: ['RTX'] } },
      { ...base, id: 'a-name', name: 'by name too', match: { namePatterns: ['RTX'] } },
      { ...base, id: 'z-pci', name: 'by pci', match: { pciVendor: '0x10de', pciDevices: ['0x1234'] } },
      { ...base, id: 'c-prio', name: 'by name, preferred', priority: 5, match: { namePatterns: ['Special'] } },
    ];
    const inv = inventory({
      gpus: [
        gpu(0, { name: 'RTX thing', pciVendorId: '0x10de', pciDeviceId: '0x1234' }),
        gpu(1, { name: 'RTX thing' }),
        gpu(2, { name: 'RTX Special' }),
      ],
    });
    expect(matchProfiles(inv, profiles).matches.map((m) => m.profileId)).toEqual(['z-pci', 'a-name', 'c-prio']);
  });

  it('ignores profiles of another class and PCI ids of another vendor', () => {
    const profiles: HardwareProfile[] = [
      { ...base, id: 'amd', name: 'amd', match: { pciVendor: '0x1002', pciDevices: ['0x1234'] } },
      { ...base, class: 'asic', id: 'asic', name: 'asic', match: { asicModels: ['.*'] } },
    ];
    const inv = inventory({ gpus: [gpu(0, { name: 'x', pciVendorId: '0x10de', pciDeviceId: '0x1234' })] });
    expect(matchProfiles(inv, profiles)).toEqual({ matches: [], unmatched: ['gpu.0'] });
  });
});
