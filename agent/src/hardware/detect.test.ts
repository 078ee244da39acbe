import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HardwareInventory } from '@sosna/protocol/hardware';
import { detectHardware } from './detect.js';
import type { ExecFn, ExecResult } from './exec.js';
import { matchProfiles } from './matcher.js';
import { sampleHardwareMetrics } from './metrics.js';
import type { SystemInfoSource } from './system-detector.js';

const fx = (p: string): string => fileURLToPath(new URL(`./fixtures/${p}`, import.meta.url));
const text = (p: string): string => readFileSync(fx(p), 'utf8');
const result = (status: ExecResult['status'], stdout = ''): ExecResult => ({ status, stdout, stderr: '', exitCode: status === 'ok' ? 0 : null, durationMs: 1 });

/** Answers nvidia-smi (banner and query) and rocm-smi from fixtures; anything else is not installed. */
const fakeTools: ExecFn = async (file, args) => {
  if (file === 'nvidia-smi') return args.length === 0 ? result('ok', text('nvidia-smi/banner.txt')) : result('ok', text('nvidia-smi/rig-6x-mixed.csv'));
  if (file === 'rocm-smi') return result('ok', text('rocm-smi/productname-bus.json'));
  return result('missing');
};

const quietSystem = (): SystemInfoSource => ({
  cpu: async () => ({ manufacturer: 'Intel', brand: 'Celeron G3930', cores: 2, physicalCores: 2, speed: 2.9 }),
  mem: async () => ({ total: 8e9, available: 6e9 }),
  cpuTemperature: async () => ({ main: 44 }),
  diskLayout: async () => [],
  blockDevices: async () => [{ name: 'sda', type: 'disk', size: 120e9, physical: 'SSD' }],
  fsSize: async () => [],
  networkInterfaces: async () => [],
  osInfo: async () => ({ platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0' }),
});

describe('detectHardware on this machine', () => {
  // the 2 s target is measured by `npm run bench` (fleet: sosna-agent detect); here only that it finishes
  it('finds a CPU and memory, and no GPUs', async () => {
    const r = await detectHardware();
    expect(r.inventory.cpu).toBeDefined();
    expect(r.inventory.cpu!.threads).toBeGreaterThan(0);
    expect(r.inventory.memory!.totalBytes).toBeGreaterThan(0);
    expect(r.inventory.gpus).toEqual([]);
    expect(r.inventory.board?.kind).toBe(process.arch === 'x64' ? 'x86' : expect.any(String));
    expect(HardwareInventory.safeParse(r.inventory).success).toBe(true);
    expect(r.inventory.warnings).toBe(r.warnings);
    console.info(`detectHardware on this machine: ${r.durationMs} ms, ${r.warnings.length} warnings`);
  });
});

describe('detectHardware on a fixture rig', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    const dir = fx('cgminer/antminer-s19j-pro');
    const replies = Object.fromEntries(readdirSync(dir).map((f) => [f.replace(/\.json$/u, ''), readFileSync(join(dir, f), 'utf8')]));
    server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', (chunk) => {
        const { command } = JSON.parse(chunk.toString('utf8')) as { command: string };
        socket.end(`${replies[command] ?? '{"STATUS":[{"STATUS":"E","Msg":"Invalid command"}]}'}\0`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('assembles NVIDIA, AMD, Intel, orphan PCI cards, an ASIC and the board into one valid inventory', async () => {
    const rig = fx('boards/x86-mining-rig');
    const r = await detectHardware({
      fsRoot: rig,
      sysfsRoot: fx('sysfs/amd-intel-rig'),
      procRoot: join(rig, 'proc'),
      arch: 'x64',
      exec: fakeTools,
      systemInfo: quietSystem(),
      asicHosts: [`127.0.0.1:${port}`],
      probeLocalAsic: false,
      now: () => 1_700_000_000_000,
    });
    const inv = r.inventory;
    const check = HardwareInventory.safeParse(inv);
    expect(check.success, check.success ? '' : JSON.stringify(check.error.issues)).toBe(true);
    expect(inv.detectedAt).toBe(1_700_000_000_000);
    expect(inv.gpus.map((g) => [g.pciBusId, g.vendor, g.source])).toEqual([
      ['0000:00:02.0', 'intel', 'sysfs'],
      ['0000:01:00.0', 'nvidia', 'nvidia-smi'],
      ['0000:02:00.0', 'nvidia', 'nvidia-smi'],
      ['0000:03:00.0', 'amd', 'sysfs'],
      ['0000:04:00.0', 'nvidia', 'nvidia-smi'],
      ['0000:05:00.0', 'nvidia', 'nvidia-smi'],
      ['0000:07:00.0', 'amd', 'sysfs'],
      ['0000:08:00.0', 'nvidia', 'nvidia-smi'],
      ['0000:09:00.0', 'nvidia', 'nvidia-smi'],
      ['0000:0c:00.0', 'nvidia', 'pci'],
    ]);
    expect(inv.gpus.map((g) => g.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(inv.gpus[1]!.cuda).toEqual({ computeCapability: '8.6', version: '12.4' });
    expect(inv.gpus[3]!.name).toBe('Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]');
    expect(inv.gpus[4]!.pcie.widthCurrent).toBe(1);
    expect(inv.gpus[9]).toMatchObject({ state: 'error', reason: 'on the PCI bus but not reported by nvidia-smi' });
    expect(inv.asics).toHaveLength(1);
    expect(inv.asics[0]).toMatchObject({ model: 'Antminer S19j Pro', state: 'ok' });
    expect(inv.board).toMatchObject({ kind: 'x86', model: 'ASUSTeK COMPUTER INC. PRIME B660-PLUS D4', manufacturer: 'ASUS', revision: '3010' });
    expect(inv.cpu).toMatchObject({ model: 'Intel(R) Celeron(R) CPU G3930 @ 2.90GHz', temperatureC: 44 });

    const { matches } = matchProfiles(inv);
    const ids = new Map(matches.map((m) => [m.component, m.variantId ?? m.profileId]));
    expect(ids.get('gpu.1')).toBe('rtx-3080');
    expect(ids.get('gpu.3')).toBe('navi21');
    expect(ids.get('gpu.6')).toBe('navi31');
    expect(ids.get('gpu.8')).toBe('rtx-5090');
    expect(ids.get('gpu.9')).toBe('rtx-3070');
    expect(ids.get(`asic.127.0.0.1:${port}`)).toBe('s19j-pro');
  });

  it('samples live metrics from the same rig', async () => {
    const m = await sampleHardwareMetrics({
      sysfsRoot: fx('sysfs/amd-intel-rig'),
      exec: fakeTools,
      systemInfo: quietSystem(),
      asicHosts: [`127.0.0.1:${port}`],
      probeLocalAsic: false,
    });
    expect(m).toMatchObject({ 'cpu.tempC': 44, 'gpu.count': 10, 'gpu.1.tempC': 61, 'gpu.3.powerW': 231, 'gpu.9.ok': 0, 'asic.count': 1 });
    expect(m[`asic.127.0.0.1:${port}.hashrate5s`]).toBe(104235120000000);
  });
});

describe('detectHardware never throws', () => {
  it('turns throwing tools, sources and probes into warnings', async () => {
    const exploding: SystemInfoSource = new Proxy({} as SystemInfoSource, {
      get: () => () => {
        throw new Error('boom');
      },
    });
    const r = await detectHardware({
      fsRoot: '/nonexistent',
      sysfsRoot: fx('README.md'), // a file where a directory should be
      exec: () => {
        throw new Error('exec exploded');
      },
      systemInfo: exploding,
      cgminerQuery: () => Promise.reject(new Error('socket exploded')),
      asicHosts: ['10.0.0.5', 'not a host!'],
      arch: 'arm64',
    });
    expect(r.inventory.gpus).toEqual([]);
    expect(r.inventory.cpu).toBeUndefined();
    const sources = r.warnings.map((w) => w.source);
    expect(sources).toEqual(expect.arrayContaining(['nvidia-smi', 'rocm-smi', 'system', 'cgminer', 'cgminer:10.0.0.5:4028']));
    expect(HardwareInventory.safeParse(r.inventory).success).toBe(true);
  });

  it('survives even options that throw when read', async () => {
    const hostile = Object.defineProperty({}, 'fsRoot', {
      get() {
        throw new Error('getter exploded');
      },
    });
    const r = await detectHardware(hostile);
    expect(r.warnings).toEqual([{ source: 'detect', message: 'detection failed: getter exploded' }]);
    expect(HardwareInventory.safeParse(r.inventory).success).toBe(true);
  });

  it('stops waiting for hung tools at their time-outs', async () => {
    const hang: ExecFn = () => new Promise(() => undefined);
    const hangingSystem: SystemInfoSource = new Proxy({} as SystemInfoSource, { get: () => () => new Promise(() => undefined) });
    // every source never settles: that detectHardware returns at all is the time-outs at work
    const r = await detectHardware({
      exec: hang,
      systemInfo: hangingSystem,
      cgminerQuery: () => new Promise(() => undefined),
      asicHosts: ['10.0.0.5'],
      timeouts: { nvidiaMs: 300, rocmMs: 300, systemMs: 300, asicPerHostMs: 300, fileReadMs: 300 },
    });
    expect(r.warnings.map((w) => w.message).join('\n')).toMatch(/no answer within/u);
  });
});
