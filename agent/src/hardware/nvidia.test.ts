import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand, type ExecFn, type ExecResult } from './exec.js';
import { detectNvidia } from './nvidia-detector.js';
import { NVIDIA_QUERY_FIELDS, parseInvalidField, parseNvidiaSmiBanner, parseNvidiaSmiCsv } from './nvidia-parser.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const fixture = (p: string): string => readFileSync(new URL(p, FIXTURES), 'utf8');
const MiB = 1024 * 1024;

describe('parseNvidiaSmiCsv', () => {
  it('reads a six-card rig, including the card on an x1 riser', () => {
    const { gpus, problems } = parseNvidiaSmiCsv(fixture('nvidia-smi/rig-6x-mixed.csv'));
    expect(problems).toEqual([]);
    expect(gpus).toHaveLength(6);
    expect(gpus.every((g) => g.state === 'ok' && g.vendor === 'nvidia')).toBe(true);
    expect(gpus[0]).toMatchObject({
      vendorIndex: 0,
      name: 'NVIDIA GeForce RTX 3080',
      pciBusId: '0000:01:00.0',
      pciVendorId: '0x10de',
      pciDeviceId: '0x2206',
      uuid: 'GPU-1b2c3d4e-0000-4a1b-8c9d-000000000001',
      vramBytes: 10240 * MiB,
      vramUsedBytes: 5230 * MiB,
      driver: '550.54.14',
      cuda: { computeCapability: '8.6' },
      pcie: { genCurrent: 3, genMax: 4, widthCurrent: 16, widthMax: 16 },
      power: { drawW: 221.45, limitW: 240, defaultLimitW: 320, maxLimitW: 370 },
      temperatureC: 61,
      fanPct: 70,
      utilizationPct: 100,
      clocks: { coreMHz: 1710, memoryMHz: 9251, maxCoreMHz: 2100, maxMemoryMHz: 9501 },
      throttleReasons: ['sw_power_cap'],
      source: 'nvidia-smi',
    });
    expect(gpus[0]!.memoryTemperatureC).toBeUndefined(); // "[N/A]"
    const riser = gpus.find((g) => g.pciBusId === '0000:04:00.0');
    expect(riser?.pcie).toEqual({ genCurrent: 1, genMax: 3, widthCurrent: 1, widthMax: 16 });
    expect(gpus[4]!.throttleReasons).toEqual(['sw_power_cap', 'hw_thermal_slowdown']);
    expect(gpus[5]).toMatchObject({ name: 'NVIDIA GeForce RTX 5090', pciDeviceId: '0x2b85', cuda: { computeCapability: '12.0' } });
  });

  it('marks the card that fell off the bus and the card answering ERR! as errors', () => {
    const { gpus } = parseNvidiaSmiCsv(fixture('nvidia-smi/rig-error-card.csv'));
    expect(gpus).toHaveLength(4);
    const lost = gpus.find((g) => g.pciBusId === '0000:0a:00.0');
    expect(lost).toMatchObject({ state: 'error', reason: 'Unknown Error', vramBytes: 0, pciVendorId: '0x10de' });
    const failing = gpus.find((g) => g.pciBusId === '0000:0b:00.0');
    expect(failing?.state).toBe('error');
    expect(failing?.reason).toContain('power.draw: Unknown Error');
    expect(failing?.reason).toContain('fan.speed: ERR!');
    expect(failing?.fanPct).toBeUndefined();
    const unsupported = gpus.find((g) => g.pciBusId === '0000:0c:00.0');
    expect(unsupported).toMatchObject({ state: 'ok', power: {}, throttleReasons: [] });
    expect(unsupported?.vramUsedBytes).toBeUndefined();
  });

  it('accepts the handle error with a space and in lower case', () => {
    const { gpus } = parseNvidiaSmiCsv('Unable to determine the device handle for gpu 0000:0A:00.0: GPU is lost. Reboot the system to recover this GPU\n');
    expect(gpus[0]).toMatchObject({ pciBusId: '0000:0a:00.0', state: 'error', reason: 'GPU is lost. Reboot the system to recover this GPU' });
  });

  it('reads datacenter cards without fans', () => {
    const { gpus } = parseNvidiaSmiCsv(fixture('nvidia-smi/datacenter-2x-h100.csv'));
    expect(gpus.map((g) => g.name)).toEqual(['NVIDIA H100 80GB HBM3', 'NVIDIA H100 80GB HBM3']);
    expect(gpus[0]).toMatchObject({ memoryTemperatureC: 66, pcie: { genCurrent: 5, widthCurrent: 16 }, cuda: { computeCapability: '9.0' } });
    expect(gpus[0]!.fanPct).toBeUndefined();
    expect(gpus[1]!.throttleReasons).toEqual(['gpu_idle']);
  });

  it('decodes the throttle bitmask when the per-reason fields are missing', () => {
    const fields = ['index', 'name', 'pci.bus_id', 'clocks_event_reasons.active'];
    const { gpus } = parseNvidiaSmiCsv('0, NVIDIA GeForce RTX 3070, 00000000:01:00.0, 0x0000000000000048\n', fields);
    expect(gpus[0]!.throttleReasons).toEqual(['hw_slowdown', 'hw_thermal_slowdown']);
  });

  it('folds a comma in a GPU name back into the name', () => {
    const fields = ['index', 'name', 'pci.bus_id'];
    const { gpus } = parseNvidiaSmiCsv('0, NVIDIA RTX, Special Edition, 00000000:01:00.0\n', fields);
    expect(gpus[0]!.name).toBe('NVIDIA RTX, Special Edition');
  });

  it('reports a driver failure and garbage as problems, not GPUs', () => {
    expect(parseNvidiaSmiCsv(fixture('nvidia-smi/driver-failure.txt')).driverFailure).toMatch(/couldn't communicate/u);
    expect(parseNvidiaSmiCsv(fixture('nvidia-smi/no-devices.txt'))).toEqual({ gpus: [], problems: [] });
    const garbage = parseNvidiaSmiCsv(fixture('garbage/nvidia-smi.txt'));
    expect(garbage.gpus).toEqual([]);
    expect(garbage.problems.length).toBeGreaterThan(0);
  });

  it('finds the CUDA version in the banner and the invalid field in an error', () => {
    expect(parseNvidiaSmiBanner(fixture('nvidia-smi/banner.txt'))).toEqual({ driverVersion: '550.54.14', cudaVersion: '12.4' });
    expect(parseInvalidField(fixture('nvidia-smi/invalid-field.txt'))).toBe('compute_cap');
  });
});

const ok = (stdout: string): ExecResult => ({ status: 'ok', stdout, stderr: '', exitCode: 0, durationMs: 1 });

describe('detectNvidia', () => {
  it('drops a field the driver does not know and asks again', async () => {
    const calls: string[][] = [];
    const exec: ExecFn = async (_file, args) => {
      calls.push([...args]);
      if (args.length === 0) return ok(fixture('nvidia-smi/banner.txt'));
      if (args[0]!.includes('compute_cap')) return { status: 'exit', stdout: fixture('nvidia-smi/invalid-field.txt'), stderr: '', exitCode: 2, durationMs: 1 };
      const fields = args[0]!.slice('--query-gpu='.length).split(',');
      const row = fields.map((f) => ({ index: '0', name: 'NVIDIA GeForce RTX 3070', 'pci.bus_id': '00000000:01:00.0' })[f] ?? '[N/A]').join(', ');
      return ok(`${row}\n`);
    };
    const r = await detectNvidia({ exec, command: 'nvidia-smi', timeoutMs: 2000 });
    expect(r.gpus).toHaveLength(1);
    expect(r.gpus[0]!.cuda).toEqual({ version: '12.4' });
    const queries = calls.filter((c) => c.length > 0);
    expect(queries).toHaveLength(2);
    expect(queries[1]![0]).not.toContain('compute_cap');
    expect(r.warnings).toEqual([]);
  });

  it('treats a missing nvidia-smi as no NVIDIA GPUs and no warning', async () => {
    const exec: ExecFn = async () => ({ status: 'missing', stdout: '', stderr: '', exitCode: null, durationMs: 0 });
    expect(await detectNvidia({ exec, command: 'nvidia-smi', timeoutMs: 1000 })).toEqual({ gpus: [], toolPresent: false, warnings: [] });
  });

  it('warns on a driver failure', async () => {
    const exec: ExecFn = async () => ({ status: 'exit', stdout: fixture('nvidia-smi/driver-failure.txt'), stderr: '', exitCode: 9, durationMs: 1 });
    const r = await detectNvidia({ exec, command: 'nvidia-smi', timeoutMs: 1000 });
    expect(r.gpus).toEqual([]);
    expect(r.warnings[0]).toMatchObject({ source: 'nvidia-smi' });
  });

  describe('with a real fake nvidia-smi', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sosna-nvsmi-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });
    const tool = async (name: string, body: string): Promise<string> => {
      const path = join(dir, name);
      await writeFile(path, `#!/bin/sh\n${body}\n`);
      await chmod(path, 0o755);
      return path;
    };

    it('reads the error-card rig through a real process (exit code 15, error line on stdout)', async () => {
      const csv = new URL('nvidia-smi/rig-error-card.csv', FIXTURES).pathname;
      const cmd = await tool('nvidia-smi-err', `[ $# -eq 0 ] && exit 15; cat '${csv}'; exit 15`);
      const r = await detectNvidia({ exec: runCommand, command: cmd, timeoutMs: 3000 });
      expect(r.gpus).toHaveLength(4);
      expect(r.gpus.filter((g) => g.state === 'error').map((g) => g.pciBusId)).toEqual(['0000:0a:00.0', '0000:0b:00.0']);
      expect(r.warnings.map((w) => w.message).join('\n')).toContain('0000:0a:00.0');
    });

    it('kills a hung nvidia-smi at its time-out', async () => {
      const cmd = await tool('nvidia-smi-hang', 'sleep 30');
      const r = await detectNvidia({ exec: runCommand, command: cmd, timeoutMs: 400 });
      expect(r.gpus).toEqual([]);
      expect(r.warnings[0]!.message).toMatch(/killed/u);
    });
  });

  it('asks for every field the parser understands', () => {
    expect(NVIDIA_QUERY_FIELDS).toContain('clocks_throttle_reasons.hw_thermal_slowdown');
    expect(new Set(NVIDIA_QUERY_FIELDS).size).toBe(NVIDIA_QUERY_FIELDS.length);
  });
});
