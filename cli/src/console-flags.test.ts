import { describe, expect, it } from 'vitest';
import { deviceFilter, formatDevice, parseSize } from './commands/console.js';
import { parseRateArgs, rateRows } from './commands/mining.js';

describe('console device flags', () => {
  it('parses memory sizes in powers of 1024', () => {
    expect(parseSize('8G')).toBe(8 * 2 ** 30);
    expect(parseSize('24GiB')).toBe(24 * 2 ** 30);
    expect(parseSize('512m')).toBe(512 * 2 ** 20);
    expect(parseSize('1.5T')).toBe(1.5 * 2 ** 40);
    expect(parseSize('1000')).toBe(1000);
    expect(() => parseSize('eight gigs')).toThrow(/size "eight gigs"/);
  });

  it('builds the filter and names a bad flag value', () => {
    expect(deviceFilter({ class: 'gpu', gpuVramMin: '8G', online: true })).toMatchObject({ class: 'gpu', gpuVramMin: 8 * 2 ** 30, online: true });
    expect(() => deviceFilter({ class: 'fpga' })).toThrow('--class "fpga": use one of cpu, gpu, asic, board');
    expect(() => deviceFilter({ gpuVendor: 'matrox' })).toThrow(/--gpu-vendor/);
    expect(() => deviceFilter({ online: true, offline: true })).toThrow(/exclude/);
    expect(deviceFilter({ benchMin: ['cpu.sha256.multi.MBps=500', 'disk.write.MBps=80.5'] }).benchMin).toEqual({ 'cpu.sha256.multi.MBps': 500, 'disk.write.MBps': 80.5 });
    expect(() => deviceFilter({ benchMin: ['fast'] })).toThrow(/--bench-min "fast"/);
  });
});

describe('an empty device list names the filter', () => {
  it('says which filter flags matched nothing', async () => {
    const { filterFlags } = await import('./commands/console.js');
    expect(filterFlags({})).toBe('');
    expect(filterFlags({ fleet: 'rigs', online: true, benchMin: ['a=1'] })).toBe('--fleet rigs --online --bench-min a=1');
  });

  it('prints "no device matches" with the count of all devices, not "no devices yet"', async () => {
    const { buildProgram } = await import('./program.js');
    const calls: unknown[] = [];
    const all = [{ id: 'd1' }, { id: 'd2' }];
    const client = { call: async (_s: unknown, _m: string, filter: Record<string, unknown>) => {
      calls.push(filter);
      return { devices: Object.values(filter).some((v) => v !== undefined) ? [] : all };
    } };
    let out = '';
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
    try {
      await (await buildProgram({ withConsole: async (_f, fn) => fn(client as never) })).parseAsync(['console', 'devices', '--fleet', 'nope'], { from: 'user' });
    } finally {
      process.stdout.write = write;
    }
    expect(out).toBe('no device matches --fleet nope (2 device(s) on the hub in all)\n');
  });
});

describe('devices show', () => {
  it("prints the device's dashboard, over HTTPS with its certificate's fingerprint, and ignores a malformed one", () => {
    const fp = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).toUpperCase().padStart(2, '0')).join(':');
    const device = (dashboard: unknown) => ({
      id: 'rig-1-abc123', name: 'rig-1', fleet: null, tags: [], online: true, firstSeen: 0, lastSeen: 0, agentVersion: '1.0.0',
      inventory: { dashboard }, telemetry: null, telemetryAt: null,
    });
    expect(formatDevice(device({ port: 8480, https: true, certSha256: fp }), 0)).toContain(`\n  dashboard https on port 8480, certificate SHA-256 ${fp}\n`);
    expect(formatDevice(device({ port: 80, https: false }), 0)).toContain('\n  dashboard http on port 80\n');
    expect(formatDevice(device({ port: 80, https: true, certSha256: 'not a fingerprint' }), 0)).not.toContain('dashboard');
    expect(formatDevice(device(undefined), 0)).not.toContain('dashboard');
  });

  it("prints the rig's miner: hashrate per window, shares, per GPU", () => {
    const d = {
      id: 'rig-1-abc123', name: 'rig-1', fleet: null, tags: [], online: true, firstSeen: 0, lastSeen: 0, agentVersion: '1.0.0', inventory: {},
      telemetry: { 'cpu.loadPct': 3, 'miner.xmrig.up': 1, 'miner.xmrig.hashrate10s': 3000, 'miner.xmrig.hashrate60s': 2950, 'miner.xmrig.sharesAccepted': 120, 'miner.xmrig.sharesRejected': 1, 'miner.xmrig.gpu.2.hashrate10s': 1000, 'miner.xmrig.gpu.0.hashrate10s': 2000 },
      telemetryAt: 0,
    };
    expect(formatDevice(d, 0)).toContain('\n  mining xmrig: 3.00 kH/s (10s), 2.95 kH/s (60s); shares 120 accepted, 1 rejected; GPU 0 2.00 kH/s, GPU 2 1.00 kH/s\n');
    expect(formatDevice({ ...d, telemetry: { 'miner.xmrig.up': 0 } }, 0)).toContain('\n  mining xmrig (not running): no hashrate yet\n');
    expect(formatDevice({ ...d, telemetry: { 'miner.xmrig.up': 1, 'miner.xmrig.hashrate10s': 5, 'miner.xmrig.rateStale': 1 } }, 0)).toContain('\n  mining xmrig: 5 H/s (10s); revenue rate stale or missing: mining keeps no job away\n');
    const hub = (stale: number, age: number) => formatDevice({ ...d, telemetry: { 'miner.xmrig.up': 1, 'miner.xmrig.hashrate10s': 5, 'miner.xmrig.rateStale': stale, 'miner.xmrig.rateSource': 2, 'miner.xmrig.rateAgeSec': age } }, 0);
    expect(hub(0, 90)).toContain("\n  mining xmrig: 5 H/s (10s); revenue rate: the hub's, 90 s old\n");
    expect(hub(1, 7300)).toContain("\n  mining xmrig: 5 H/s (10s); revenue rate stale or missing (the hub's, 2 h old): mining keeps no job away\n");
  });
});

describe('console mining rates: ALGO and RATE checked before anything is sent', () => {
  it('refuses an unknown algorithm and a rate that is not whole wei, naming the argument and the accepted form', () => {
    expect(parseRateArgs('randomx', '35000000000000000')).toEqual({ algorithm: 'randomx', weiPerMh: '35000000000000000' });
    expect(() => parseRateArgs('ethash', '1')).toThrow(/^ALGO: "ethash" is not a known algorithm \(one of sha256d, etchash, /);
    expect(() => parseRateArgs('randomx', '-1')).toThrow(/^RATE: "-1" is not a rate: give token wei per 10\^6 hashes as a whole decimal number/);
    expect(rateRows({ randomx: { weiPerMh: '7', at: 0, by: 'alice' } }, 120_000)).toEqual([['randomx', '7', '1970-01-01T00:00:00.000Z', '2 min', 'alice']]);
  });
});
