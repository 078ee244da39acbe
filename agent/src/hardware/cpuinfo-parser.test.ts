import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { armPartName, cpuFeatureFlags, parseCpuInfo } from './cpuinfo-parser.js';

const fixture = (p: string): string => readFileSync(new URL(`./fixtures/${p}`, import.meta.url), 'utf8');

describe('parseCpuInfo', () => {
  it('reads an x86 rig: model, vendor, threads, physical cores, flags', () => {
    const info = parseCpuInfo(fixture('boards/x86-mining-rig/proc/cpuinfo'));
    expect(info).toMatchObject({
      processors: 2,
      physicalCores: 2,
      modelName: 'Intel(R) Celeron(R) CPU G3930 @ 2.90GHz',
      vendorId: 'GenuineIntel',
      mhz: 2900,
    });
    expect(cpuFeatureFlags(info.flags)).toEqual({ avx2: false, avx512f: false, sha: false, aes: true, neon: false });
  });

  it('reads a Raspberry Pi 4: ARM features and the board lines at the end', () => {
    const info = parseCpuInfo(fixture('boards/raspberry-pi-4/proc/cpuinfo'));
    expect(info).toMatchObject({ processors: 4, cpuImplementer: '0x41', cpuPart: '0xd08', hardware: 'BCM2835', revision: 'c03114', model: 'Raspberry Pi 4 Model B Rev 1.4' });
    expect(info.modelName).toBeUndefined();
    expect(armPartName(info.cpuPart)).toBe('Cortex-A72');
    // BCM2711 has no crypto extensions
    expect(cpuFeatureFlags(info.flags)).toEqual({ avx2: false, avx512f: false, sha: false, aes: false, neon: true });
  });

  it('reads a Raspberry Pi 5 with AES and SHA2', () => {
    const info = parseCpuInfo(fixture('boards/raspberry-pi-5/proc/cpuinfo'));
    expect(info.revision).toBe('d04170');
    expect(armPartName(info.cpuPart)).toBe('Cortex-A76');
    expect(cpuFeatureFlags(info.flags)).toMatchObject({ aes: true, sha: true, neon: true });
  });

  it('maps x86 sha_ni and avx512f', () => {
    expect(cpuFeatureFlags(['avx2', 'avx512f', 'sha_ni', 'aes'])).toEqual({ avx2: true, avx512f: true, sha: true, aes: true, neon: false });
  });

  it('yields an empty result, not an exception, for garbage', () => {
    const info = parseCpuInfo(fixture('garbage/cpuinfo.txt'));
    expect(info.processors).toBe(0);
    expect(info.flags).toEqual([]);
  });
});
