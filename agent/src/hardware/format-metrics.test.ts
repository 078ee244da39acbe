import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { HardwareInventory } from '@sosna/protocol/hardware';
import { buildAsic } from './asic-mapper.js';
import { parseCgminerReply } from './cgminer-parser.js';
import type { DetectResult } from './detect.js';
import { formatBytes, formatHashrate, formatInventory, formatInventoryJson, inventoryToJson, renderTable } from './format.js';
import { mergeGpus } from './gpu-merge.js';
import { matchProfiles } from './matcher.js';
import { inventoryMetrics } from './metrics.js';
import { parseNvidiaSmiCsv } from './nvidia-parser.js';

const fixture = (p: string): string => readFileSync(new URL(`./fixtures/${p}`, import.meta.url), 'utf8');

function rigResult(): DetectResult {
  const nvidia = parseNvidiaSmiCsv(fixture('nvidia-smi/rig-error-card.csv')).gpus;
  const { gpus } = mergeGpus({ nvidia, nvidiaToolPresent: true, drm: [], pci: [], rocm: [] });
  const replies = Object.fromEntries(
    ['summary', 'stats', 'version', 'pools'].map((c) => [c, parseCgminerReply(fixture(`cgminer/antminer-s19j-pro/${c}.json`))]),
  );
  const ant = buildAsic('10.0.0.5', 4028, replies).asic;
  const other = { ...buildAsic('10.0.0.9', 4029, replies).asic };
  const inventory: HardwareInventory = {
    schemaVersion: 1,
    detectedAt: 1_700_000_000_000,
    hostname: 'rig-01',
    os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0' },
    cpu: { model: 'Intel(R) Celeron(R) CPU G3930 @ 2.90GHz', vendor: 'Intel', arch: 'x86_64', cores: 2, threads: 2, baseMHz: 2900, flags: { avx2: false, avx512f: false, sha: false, aes: true, neon: false }, temperatureC: 41 },
    memory: { totalBytes: 8 * 1024 ** 3 },
    disks: [{ name: 'sda', sizeBytes: 120e9, type: 'ssd', freeBytes: 80e9 }],
    network: [
      { name: 'enp3s0', mac: 'a8:a1:59:00:00:01', speedMbps: 1000, ipv4: ['192.168.1.20'] },
      { name: 'docker0', mac: '02:42:00:00:00:02', ipv4: [], virtual: true },
    ],
    gpus,
    asics: [ant, other],
    board: { kind: 'x86', model: 'ASRock H110 Pro BTC+' },
    warnings: [{ source: 'nvidia-smi', message: 'GPU 0000:0a:00.0: Unknown Error' }],
  };
  return { inventory, warnings: inventory.warnings, durationMs: 412 };
}

describe('formatInventory', () => {
  it('renders every section of a rig, errors and profiles included', () => {
    const result = rigResult();
    const text = formatInventory(result, { matches: matchProfiles(result.inventory) });
    expect(text).toContain('CPU       Intel(R) Celeron(R) CPU G3930 @ 2.90GHz (Intel, x86_64) 2 cores / 2 threads, 2900 MHz, 41C [aes]');
    expect(text).toContain('Board     x86: ASRock H110 Pro BTC+');
    expect(text).toContain('(1 virtual network interfaces not shown)');
    expect(text).toMatch(/GPUs \(4\)/u);
    expect(text).toMatch(/0000:0a:00\.0 .*ERROR: Unknown Error/u);
    expect(text).toMatch(/gen1 x1\/gen3 x16/u);
    expect(text).toContain('GeForce RTX 3070');
    expect(text).toMatch(/10\.0\.0\.5:4028 +Bitmain +Antminer S19j Pro +104\.24 TH\/s +103\.99 TH\/s +73\/75\/74 +5640\/5520\/5600\/5580/u);
    expect(text).toContain('Antminer S19j Pro'); // profile column shows the variant
    expect(text).toContain('[nvidia-smi] GPU 0000:0a:00.0: Unknown Error');
    expect(text.endsWith('Detected in 412 ms')).toBe(true);
    expect(text.split('\n').every((line) => line === line.trimEnd())).toBe(true);
  });

  it('says "none found" for an empty machine', () => {
    const r = rigResult();
    const empty: DetectResult = { ...r, inventory: { ...r.inventory, gpus: [], asics: [], cpu: undefined }, warnings: [] };
    const text = formatInventory(empty);
    expect(text).toContain('GPUs: none found');
    expect(text).toContain('ASICs: none found');
    expect(text).toContain('CPU       not detected');
  });

  it('produces JSON that round-trips and carries the profile matches', () => {
    const result = rigResult();
    const json = inventoryToJson(result, matchProfiles(result.inventory));
    expect(JSON.parse(formatInventoryJson(result))).toEqual(inventoryToJson(result));
    expect((json['profiles'] as { matches: unknown[] }).matches.length).toBeGreaterThan(0);
  });

  it('formats sizes, rates and tables', () => {
    expect(formatBytes(10 * 1024 ** 3)).toBe('10.0 GiB');
    expect(formatBytes(undefined)).toBe('-');
    expect(formatHashrate(104.2e12)).toBe('104.20 TH/s');
    expect(formatHashrate(61e6)).toBe('61.00 MH/s');
    expect(formatHashrate(12)).toBe('12 H/s');
    expect(renderTable(['a', 'bb'], [['xxx', 'y']])).toBe('a    bb\nxxx  y');
  });
});

describe('inventoryMetrics', () => {
  it('flattens GPU and ASIC readings into telemetry keys', () => {
    const m = inventoryMetrics(rigResult().inventory);
    expect(m).toMatchObject({
      'cpu.tempC': 41,
      'gpu.count': 4,
      'gpu.0.ok': 1,
      'gpu.0.tempC': 55,
      'gpu.0.powerW': 129.8,
      'gpu.0.fanPct': 65,
      'gpu.0.utilPct': 100,
      'gpu.0.throttleReasons': 1,
      'gpu.1.ok': 0,
      'asic.count': 2,
      'asic.10.0.0.5.ok': 1,
      'asic.10.0.0.5.hashrate5s': 104235120000000,
      'asic.10.0.0.5.hashrateAvg': 103988450000000,
      'asic.10.0.0.5.tempMaxC': 75,
      'asic.10.0.0.5.chain.1.tempC': 73,
      'asic.10.0.0.5.fan.0.rpm': 5640,
      'asic.10.0.0.5.hwErrors': 22,
      'asic.10.0.0.9:4029.hashrate5s': 104235120000000,
    });
    expect(m['gpu.1.tempC']).toBeUndefined(); // the lost card has no reading
    expect(Object.keys(m).every((k) => k.length <= 128)).toBe(true);
    expect(Object.values(m).every((v) => Number.isFinite(v))).toBe(true);
  });
});
