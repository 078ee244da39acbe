import { describe, expect, it } from 'vitest';
import { matchesHardware } from './device-filter.js';

const GiB = 2 ** 30;
const rig = { arch: 'x64', hardware: { gpus: [{ vendor: 'nvidia', vramBytes: 24 * GiB }, { vendor: 'amd', vramBytes: 8 * GiB }], asics: [] }, profiles: [{ profileId: 'nvidia-rtx-40' }] };
const asicGateway = { arch: 'arm64', hardware: { gpus: [], asics: [{ model: 'Antminer S19' }], board: { kind: 'raspberry-pi' } } };
const plain = { arch: 'x64', benchmarks: { 'cpu.sha256.multi.MBps': 800, 'disk.write.MBps': 120 } };

describe('hardware filters', () => {
  it('selects by class', () => {
    expect(matchesHardware(rig, { class: 'gpu' })).toBe(true);
    expect(matchesHardware(plain, { class: 'gpu' })).toBe(false);
    expect(matchesHardware(asicGateway, { class: 'asic' })).toBe(true);
    expect(matchesHardware(rig, { class: 'asic' })).toBe(false);
    expect(matchesHardware(asicGateway, { class: 'board' })).toBe(true);
    expect(matchesHardware(plain, { class: 'cpu' })).toBe(true);
    expect(matchesHardware(null, { class: 'gpu' })).toBe(false);
  });

  it('selects by GPU memory and vendor on the same card', () => {
    expect(matchesHardware(rig, { gpuVramMin: 16 * GiB })).toBe(true);
    expect(matchesHardware(rig, { gpuVramMin: 32 * GiB })).toBe(false);
    expect(matchesHardware(rig, { gpuVramMin: 16 * GiB, gpuVendor: 'amd' })).toBe(false);
    expect(matchesHardware(rig, { gpuVramMin: 8 * GiB, gpuVendor: 'amd' })).toBe(true);
  });

  it('selects by architecture and profile', () => {
    expect(matchesHardware(asicGateway, { arch: 'arm64' })).toBe(true);
    expect(matchesHardware(rig, { arch: 'arm64' })).toBe(false);
    expect(matchesHardware(rig, { profile: 'nvidia-rtx-40' })).toBe(true);
    expect(matchesHardware(plain, { profile: 'nvidia-rtx-40' })).toBe(false);
  });

  it('selects by benchmark minimums; a device without the figure does not match', () => {
    expect(matchesHardware(plain, { benchMin: { 'cpu.sha256.multi.MBps': 500 } })).toBe(true);
    expect(matchesHardware(plain, { benchMin: { 'cpu.sha256.multi.MBps': 500, 'disk.write.MBps': 200 } })).toBe(false);
    expect(matchesHardware(rig, { benchMin: { 'cpu.sha256.multi.MBps': 1 } })).toBe(false);
  });
});
