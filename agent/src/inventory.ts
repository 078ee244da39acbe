// The basic inventory for the birth message (hardware detection adds the rest).
import { hostname } from 'node:os';
import si from 'systeminformation';
import type { BasicInventory } from '@sosna/protocol';

export async function basicInventory(): Promise<BasicInventory> {
  const [cpu, mem, os] = await Promise.all([si.cpu(), si.mem(), si.osInfo()]);
  return {
    hostname: hostname(),
    platform: os.platform || process.platform,
    arch: os.arch || process.arch,
    os: { distro: os.distro || 'unknown', release: os.release || 'unknown', kernel: os.kernel || 'unknown' },
    cpu: {
      manufacturer: cpu.manufacturer || 'unknown',
      brand: cpu.brand || 'unknown',
      cores: cpu.cores || 0,
      physicalCores: cpu.physicalCores || 0,
      speedGHz: cpu.speed || 0,
    },
    memory: { totalBytes: mem.total },
  };
}
