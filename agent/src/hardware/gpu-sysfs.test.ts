import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { detectDrmGpus } from './drm-detector.js';
import { parseDpmLevels, parseDrmCard, pcieGenFromSpeed } from './drm-parser.js';
import { mergeGpus } from './gpu-merge.js';
import { errorGpu } from './nvidia-parser.js';
import { detectPciDisplays } from './pci-detector.js';
import { parseRocmSmiJson } from './rocm-parser.js';

const RIG = fileURLToPath(new URL('./fixtures/sysfs/amd-intel-rig/', import.meta.url));
const GARBAGE = fileURLToPath(new URL('./fixtures/sysfs/garbage/', import.meta.url));
const fixture = (p: string): string => readFileSync(new URL(`./fixtures/${p}`, import.meta.url), 'utf8');

describe('DRM sysfs parser pieces', () => {
  it('maps PCIe transfer rates to generations', () => {
    expect(['2.5 GT/s PCIe', '5.0 GT/s', '8.0 GT/s PCIe', '16.0 GT/s PCIe', '32.0 GT/s PCIe', '8 GT/s'].map(pcieGenFromSpeed)).toEqual([1, 2, 3, 4, 5, 3]);
    expect(pcieGenFromSpeed('Unknown')).toBeUndefined();
  });

  it('reads the active and highest DPM level', () => {
    expect(parseDpmLevels('0: 500Mhz\n1: 2105Mhz *\n2: 2250Mhz')).toEqual({ current: 2105, max: 2250 });
    expect(parseDpmLevels('garbage')).toEqual({});
  });

  it('ignores cards of other vendors and cards without a PCI slot', () => {
    expect(parseDrmCard({ card: 'card0', device: { vendor: '0x1a03' }, hwmon: {}, cardFiles: {} })).toBeUndefined();
    expect(parseDrmCard({ card: 'card0', device: { vendor: '0x1002', uevent: 'DRIVER=amdgpu' }, hwmon: {}, cardFiles: {} })).toBeUndefined();
  });
});

describe('detectDrmGpus on a fixture sysfs tree', () => {
  it('reads an RX 6800 XT, an RX 7900 XTX on an x1 riser and an Intel iGPU, skipping connectors', async () => {
    const { gpus, warnings } = await detectDrmGpus({ sysfsRoot: RIG, readTimeoutMs: 1000 });
    expect(warnings).toEqual([]);
    expect(gpus.map((g) => g.pciBusId)).toEqual(['0000:03:00.0', '0000:07:00.0', '0000:00:02.0']);
    const [navi21, navi31, intel] = gpus;
    expect(navi21).toMatchObject({
      vendor: 'amd',
      vendorIndex: 0,
      name: 'AMD GPU [1002:73bf]',
      pciDeviceId: '0x73bf',
      vramBytes: 17163091968,
      vramUsedBytes: 4294967296,
      driver: 'amdgpu',
      pcie: { genCurrent: 4, genMax: 4, widthCurrent: 16, widthMax: 16 },
      power: { drawW: 231, limitW: 255, defaultLimitW: 255, maxLimitW: 293 },
      temperatureC: 62,
      memoryTemperatureC: 70,
      fanPct: 70,
      fanRpm: 2105,
      utilizationPct: 99,
      clocks: { coreMHz: 2105, memoryMHz: 1000, maxCoreMHz: 2250, maxMemoryMHz: 1000 },
      state: 'ok',
      source: 'sysfs',
    });
    expect(navi31).toMatchObject({ pcie: { genCurrent: 1, widthCurrent: 1, genMax: 4, widthMax: 16 }, power: { drawW: 305, limitW: 327 }, fanPct: 80 });
    expect(intel).toMatchObject({ vendor: 'intel', driver: 'i915', vramBytes: 0, clocks: { coreMHz: 300, maxCoreMHz: 1550 } });
  });

  it('turns nonsense attributes into absent values and a warning, never an exception', async () => {
    const { gpus, warnings } = await detectDrmGpus({ sysfsRoot: GARBAGE, readTimeoutMs: 1000 });
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining('card0')]);
    expect(gpus).toHaveLength(1);
    const g = gpus[0]!;
    expect(g).toMatchObject({ pciBusId: '0000:05:00.0', vramBytes: 0, pcie: {}, power: {} });
    expect(g.temperatureC).toBeUndefined();
    expect(g.utilizationPct).toBeUndefined();
    expect(g.fanPct).toBeUndefined();
  });

  it('finds nothing (and no warning) where there is no DRM class at all', async () => {
    expect(await detectDrmGpus({ sysfsRoot: '/nonexistent-sysfs', readTimeoutMs: 200 })).toEqual({ gpus: [], warnings: [] });
  });
});

describe('PCI display scan and merge', () => {
  it('lists GPUs of the three vendors, including a card without a driver, and skips the BMC VGA', async () => {
    const devices = await detectPciDisplays({ sysfsRoot: RIG, readTimeoutMs: 1000 });
    expect(devices.map((d) => d.gpu.pciBusId)).toEqual(['0000:00:02.0', '0000:03:00.0', '0000:07:00.0', '0000:0c:00.0']);
    const orphan = devices.find((d) => d.gpu.pciBusId === '0000:0c:00.0')!;
    expect(orphan.gpu).toMatchObject({ vendor: 'nvidia', state: 'error', reason: 'no kernel driver bound', pcie: { genCurrent: 1, widthCurrent: 1 } });
  });

  it('merges sources by bus id, names AMD cards from rocm-smi, flags the driverless NVIDIA card', async () => {
    const drm = await detectDrmGpus({ sysfsRoot: RIG, readTimeoutMs: 1000 });
    const pci = await detectPciDisplays({ sysfsRoot: RIG, readTimeoutMs: 1000 });
    const rocm = parseRocmSmiJson(fixture('rocm-smi/productname-bus.json'));
    const { gpus, warnings } = mergeGpus({ nvidia: [], nvidiaToolPresent: false, drm: drm.gpus, pci, rocm: rocm.cards });
    expect(gpus.map((g) => [g.index, g.pciBusId, g.vendor, g.state])).toEqual([
      [0, '0000:00:02.0', 'intel', 'ok'],
      [1, '0000:03:00.0', 'amd', 'ok'],
      [2, '0000:07:00.0', 'amd', 'ok'],
      [3, '0000:0c:00.0', 'nvidia', 'error'],
    ]);
    expect(gpus[1]!.name).toBe('Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]');
    expect(gpus[2]!.name).toBe('Radeon RX 7900 XTX');
    expect(gpus[3]!.reason).toMatch(/nvidia-smi not found/u);
    expect(warnings.map((w) => w.message).join('\n')).toContain('0000:0c:00.0');
  });

  it('prefers nvidia-smi over the PCI scan and names cards nvidia-smi cannot see', () => {
    const smi = errorGpu('0000:0a:00.0', 'Unknown Error');
    const pciOnly = { ...errorGpu('0000:0b:00.0', 'x', 'pci'), state: 'ok' as const, reason: undefined, driver: 'nvidia' };
    const { gpus } = mergeGpus({ nvidia: [smi], nvidiaToolPresent: true, drm: [], pci: [{ gpu: { ...smi, source: 'pci' } }, { gpu: pciOnly }], rocm: [] });
    expect(gpus).toHaveLength(2);
    expect(gpus[0]).toMatchObject({ source: 'nvidia-smi', reason: 'Unknown Error' });
    expect(gpus[1]).toMatchObject({ state: 'error', reason: 'on the PCI bus but not reported by nvidia-smi' });
  });
});

describe('parseRocmSmiJson', () => {
  it('reads names and bus ids past a warning line, across key spellings', () => {
    const { cards, error } = parseRocmSmiJson(fixture('rocm-smi/productname-bus.json'));
    expect(error).toBeUndefined();
    expect(cards).toEqual([
      { card: 'card0', pciBusId: '0000:03:00.0', name: 'Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]', gfxVersion: 'gfx1030' },
      { card: 'card1', pciBusId: '0000:07:00.0', name: 'Radeon RX 7900 XTX', gfxVersion: 'gfx1100' },
    ]);
  });

  it('reports truncated output as an error', () => {
    expect(parseRocmSmiJson(fixture('garbage/rocm-smi.txt')).error).toBeDefined();
    expect(parseRocmSmiJson('').cards).toEqual([]);
  });
});
