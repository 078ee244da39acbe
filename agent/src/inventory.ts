// The basic inventory for the birth message, from the kernel's own files and Node's os module: no child
// processes and no big libraries in the long-running daemon (full hardware detection is `detect`).
import { readFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import type { BasicInventory } from '@sosna/protocol';

/** Parses /etc/os-release (KEY=value lines, values optionally quoted). Pure; never throws. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2]!.trim();
    if ((v.startsWith('"') && v.endsWith('"') && v.length >= 2) || (v.startsWith("'") && v.endsWith("'") && v.length >= 2)) v = v.slice(1, -1);
    out[m[1]!] = v.replace(/\\(["'$`\\])/g, '$1');
  }
  return out;
}

/** Counts physical cores from /proc/cpuinfo (distinct physical id + core id pairs). Pure; 0 if unknown. */
export function physicalCores(cpuinfo: string): number {
  const pairs = new Set<string>();
  for (const block of cpuinfo.split(/\n\s*\n/)) {
    const phys = /^physical id\s*:\s*(\d+)/m.exec(block)?.[1];
    const core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1];
    if (phys !== undefined && core !== undefined) pairs.add(`${phys}:${core}`);
  }
  return pairs.size;
}

export function vendorOf(model: string): string {
  if (/intel/i.test(model)) return 'Intel';
  if (/amd|ryzen|epyc|threadripper/i.test(model)) return 'AMD';
  if (/arm|cortex|neoverse|apple|qualcomm|broadcom/i.test(model)) return 'ARM';
  return 'unknown';
}

const readText = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

export function basicInventory(read: (file: string) => string = readText): BasicInventory {
  const list = cpus();
  const model = list[0]?.model?.trim() || 'unknown';
  const osr = parseOsRelease(read('/etc/os-release'));
  return {
    hostname: hostname(),
    platform: process.platform,
    arch: process.arch,
    os: { distro: osr.PRETTY_NAME || osr.NAME || process.platform, release: osr.VERSION_ID || 'unknown', kernel: release() },
    cpu: {
      manufacturer: vendorOf(model),
      brand: model,
      cores: list.length,
      physicalCores: physicalCores(read('/proc/cpuinfo')) || list.length,
      speedGHz: Math.round((list[0]?.speed ?? 0) / 10) / 100,
    },
    memory: { totalBytes: totalmem() },
  };
}
