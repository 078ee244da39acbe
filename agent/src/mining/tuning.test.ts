// Rig tuning: per-GPU power limit and clocks applied at start and restored at stop, through a fake nvidia-smi
// (a shell script that records its arguments and refuses some) and a temporary amdgpu sysfs tree; every
// failure reported with the field, the value and the reason; bad tuning refused by the sheet's checks.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiningConfig, silentLogger } from '@sosna/protocol';
import { checkFlightSheet, MiningRig, type RigGpu } from './index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sosna-tuning-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const gpus: RigGpu[] = [
  { index: 0, vendorIndex: 0, vendor: 'nvidia', name: 'NVIDIA GeForce RTX 3080', state: 'ok', power: { limitW: 320, defaultLimitW: 320, minLimitW: 100, maxLimitW: 370 } },
  { index: 1, vendorIndex: 1, vendor: 'nvidia', name: 'NVIDIA GeForce RTX 3070', state: 'ok', power: { limitW: 220, defaultLimitW: 220, minLimitW: 100, maxLimitW: 240 } },
  { index: 2, vendorIndex: 3, vendor: 'amd', name: 'AMD Radeon RX 6800', state: 'ok', power: { maxLimitW: 250 } },
];
const sheet = (tuning: unknown[], over: Record<string, unknown> = {}) =>
  MiningConfig.parse({ miner: { id: 'x', command: ['/bin/true'], api: { port: 1 } }, algorithm: 'etchash', pool: 'p.example:1', wallet: 'w', gpus: [0, 1, 2], tuning, ...over });

describe('rig tuning', () => {
  it('applies per-GPU power limits and clocks through nvidia-smi and amdgpu sysfs, reports each failure, and restores what it changed at stop', async () => {
    const calls = join(dir, 'smi-calls');
    const smi = join(dir, 'nvidia-smi');
    // GPU 1 refuses clock locks (an old driver); everything else works
    await writeFile(smi, `#!/bin/sh\necho "$@" >> '${calls}'\nif [ "$2" = "1" ] && [ "$3" = "-lgc" ]; then echo "Setting locked GPU clocks is not supported for GPU 00000000:02:00.0."; exit 3; fi\necho "ok"\n`);
    await chmod(smi, 0o755);
    const sys = join(dir, 'sys');
    const dev = join(sys, 'class', 'drm', 'card3', 'device');
    await mkdir(join(dev, 'hwmon', 'hwmon5'), { recursive: true });
    await writeFile(join(dev, 'hwmon', 'hwmon5', 'power1_cap'), '203000000\n');
    await writeFile(join(dev, 'pp_od_clk_voltage'), '');
    const s = sheet([
      { gpu: 0, powerLimitW: 250, coreClockMhz: 1500, memClockMhz: 9500 },
      { gpu: 1, coreClockMhz: 1400 },
      { gpu: 2, powerLimitW: 150, coreClockMhz: 1300 },
    ], { powerLimitW: 200 });
    const warn: string[] = [];
    const log = { ...silentLogger, warn: (m: string) => void warn.push(m), child: () => log } as typeof silentLogger;
    const rig = new MiningRig({ sheet: s, gpus, log, worker: 'rig', nvidiaSmi: smi, sysfsRoot: sys });
    const results = await rig.applyTuning();
    expect(results.map((r) => [r.gpu, r.field, r.value, r.ok])).toEqual([
      [0, 'mining.tuning.0.powerLimitW', 250, true],
      [0, 'mining.tuning.0.coreClockMhz', 1500, true],
      [0, 'mining.tuning.0.memClockMhz', 9500, true],
      [1, 'mining.powerLimitW', 200, true], // the sheet-wide limit for a GPU with none of its own
      [1, 'mining.tuning.1.coreClockMhz', 1400, false],
      [2, 'mining.tuning.2.powerLimitW', 150, true],
      [2, 'mining.tuning.2.coreClockMhz', 1300, true],
    ]);
    expect(warn).toEqual(['tuning not applied: mining.tuning.1.coreClockMhz = 1400 on GPU 1: Setting locked GPU clocks is not supported for GPU 00000000:02:00.0.']);
    expect(await readFile(calls, 'utf8')).toBe('-i 0 -pl 250\n-i 0 -lgc 1500,1500\n-i 0 -lmc 9500,9500\n-i 1 -pl 200\n-i 1 -lgc 1400,1400\n');
    expect(await readFile(join(dev, 'hwmon', 'hwmon5', 'power1_cap'), 'utf8')).toBe('150000000\n');
    expect(await readFile(join(dev, 'pp_od_clk_voltage'), 'utf8')).toBe('c\n'); // "s 1 1300" then the commit

    await writeFile(calls, '');
    await rig.stop(); // restores, the last change first; the refused clock lock is not undone
    expect(await readFile(calls, 'utf8')).toBe('-i 1 -pl 220\n-i 0 -rmc\n-i 0 -rgc\n-i 0 -pl 320\n');
    expect(await readFile(join(dev, 'hwmon', 'hwmon5', 'power1_cap'), 'utf8')).toBe('203000000\n');
    expect(await readFile(join(dev, 'pp_od_clk_voltage'), 'utf8')).toBe('c\n'); // "r" then the commit
  });

  it('reports a missing amdgpu sysfs file with its path, and tunes nothing it cannot', async () => {
    const s = sheet([{ gpu: 2, powerLimitW: 150 }]);
    const rig = new MiningRig({ sheet: s, gpus, log: silentLogger, worker: 'rig', nvidiaSmi: '/bin/true', sysfsRoot: join(dir, 'nothing') });
    const r = (await rig.applyTuning()).find((x) => x.gpu === 2)!;
    expect(r).toMatchObject({ field: 'mining.tuning.0.powerLimitW', value: 150, ok: false });
    expect(r.detail).toMatch(/ENOENT.*nothing\/class\/drm\/card3\/device\/hwmon/);
  });

  it('refuses tuning for a GPU that does not mine, twice the same GPU, or a power limit outside the card\'s range, naming the field', () => {
    const bad = MiningConfig.safeParse({ miner: { id: 'x', command: ['/bin/true'], api: { port: 1 } }, algorithm: 'etchash', pool: 'p.example:1', wallet: 'w', gpus: [0], tuning: [{ gpu: 4 }, { gpu: 0, coreClockMhz: 99 }, { gpu: 0 }] });
    expect(bad.success).toBe(false);
    const issues = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues).toEqual(expect.arrayContaining([
      'tuning.0.gpu: GPU 4 is not one of the mining gpus (0): tune only the GPUs that mine',
      'tuning.1.coreClockMhz: must be 100-5000 MHz',
      'tuning.2.gpu: GPU 0 is tuned twice: one entry per GPU',
    ]));
    expect(checkFlightSheet(sheet([{ gpu: 1, powerLimitW: 300 }]), gpus, { PATH: '/bin' }).errors).toEqual([
      "mining.tuning.0.powerLimitW: 300 W is outside GPU 1's range (NVIDIA GeForce RTX 3070: 100-240 W)",
    ]);
  });
});
