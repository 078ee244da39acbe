import { describe, expect, it } from 'vitest';
import { deviceFilter, parseSize } from './commands/console.js';

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
