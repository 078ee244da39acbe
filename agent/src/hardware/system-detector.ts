// Runner for CPU, memory, disks, network and OS: asks systeminformation (through an injectable
// source, loaded only when detection runs), reads /proc/cpuinfo itself for the flags, and maps
// everything with system-mapper.
import { cpus, hostname as osHostname, networkInterfaces as osNetworkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { CpuArch, HardwareCpu, HardwareDisk, HardwareMemory, HardwareNetworkInterface, HardwareOs } from '@sosna/protocol/hardware';
import { parseCpuInfo } from './cpuinfo-parser.js';
import { errorMessage, withDeadline } from './deadline.js';
import { readText, readValue } from './fs-read.js';
import { readSysfsNetInterfaces } from './net-sysfs.js';
import {
  mapCpu,
  mapDisks,
  mapMemory,
  mapNetwork,
  mapOs,
  parseMemTotal,
  type OsAddress,
  type SiBlockDevice,
  type SiCpu,
  type SiDiskLayout,
  type SiFsSize,
  type SiMem,
  type SiNetworkInterface,
  type SiOsInfo,
} from './system-mapper.js';
import { warn, type Warning } from './types.js';

/** The systeminformation calls we use; tests pass a fake. */
export interface SystemInfoSource {
  cpu(): Promise<SiCpu>;
  mem(): Promise<SiMem>;
  cpuTemperature(): Promise<{ main?: number | null }>;
  diskLayout(): Promise<SiDiskLayout[]>;
  blockDevices(): Promise<SiBlockDevice[]>;
  fsSize(): Promise<SiFsSize[]>;
  networkInterfaces(): Promise<SiNetworkInterface[]>;
  osInfo(): Promise<SiOsInfo>;
}

type SystemInformation = typeof import('systeminformation');

/** Loaded on first use, so importing this module does not load the library (Node caches the module). */
async function loadSystemInformation(): Promise<SystemInformation> {
  const mod = await import('systeminformation');
  return (mod as { default?: SystemInformation }).default ?? mod;
}

/** systeminformation for everything but network interfaces, which come from sysfs (see net-sysfs.ts). */
export function systeminformationSource(sysfsRoot = '/sys', timeoutMs = 1000): SystemInfoSource {
  return {
    cpu: async () => (await loadSystemInformation()).cpu(),
    mem: async () => (await loadSystemInformation()).mem(),
    cpuTemperature: async () => (await loadSystemInformation()).cpuTemperature(),
    diskLayout: async () => (await loadSystemInformation()).diskLayout(),
    blockDevices: async () => (await loadSystemInformation()).blockDevices(),
    fsSize: async () => (await loadSystemInformation()).fsSize(),
    networkInterfaces: () => readSysfsNetInterfaces(sysfsRoot, timeoutMs),
    osInfo: async () => (await loadSystemInformation()).osInfo(),
  };
}

export interface SystemDetectOptions {
  source: SystemInfoSource;
  procRoot: string;
  sysfsRoot: string;
  arch: CpuArch;
  timeoutMs: number;
  osInterfaces?: () => Record<string, readonly OsAddress[] | undefined>;
  hostname?: () => string;
  platform?: string;
}

export interface SystemDetection {
  hostname?: string;
  os?: HardwareOs;
  cpu?: HardwareCpu;
  memory?: HardwareMemory;
  disks: HardwareDisk[];
  network: HardwareNetworkInterface[];
  warnings: Warning[];
}

export async function detectSystem(opts: SystemDetectOptions): Promise<SystemDetection> {
  const warnings: Warning[] = [];
  const call = async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await withDeadline(Promise.resolve().then(fn), opts.timeoutMs, `systeminformation.${name}`);
    } catch (e) {
      warnings.push(warn(`systeminformation:${name}`, errorMessage(e)));
      return undefined;
    }
  };
  /** A list call that answered something else counts as an empty list, with a warning. */
  const list = async <T>(name: string, fn: () => Promise<T[]>): Promise<T[]> => {
    const value: unknown = await call(name, fn);
    if (value === undefined) return [];
    if (Array.isArray(value)) return value as T[];
    warnings.push(warn(`systeminformation:${name}`, `expected a list, got ${typeof value}`));
    return [];
  };
  const src = opts.source;
  const [cpu, mem, temp, layout, blocks, fs, ifaces, osInfo, cpuinfoText, meminfoText] = await Promise.all([
    call('cpu', () => src.cpu()),
    call('mem', () => src.mem()),
    call('cpuTemperature', () => src.cpuTemperature()),
    list('diskLayout', () => src.diskLayout()),
    list('blockDevices', () => src.blockDevices()),
    list('fsSize', () => src.fsSize()),
    list('networkInterfaces', () => src.networkInterfaces()),
    call('osInfo', () => src.osInfo()),
    readText(join(opts.procRoot, 'cpuinfo'), opts.timeoutMs),
    readText(join(opts.procRoot, 'meminfo'), opts.timeoutMs),
  ]);

  const cpuinfo = cpuinfoText !== undefined ? parseCpuInfo(cpuinfoText) : undefined;
  if (cpuinfoText !== undefined && cpuinfo?.processors === 0) {
    warnings.push(warn('procfs:cpuinfo', 'no processor entries in /proc/cpuinfo'));
  }
  const result: SystemDetection = { disks: [], network: [], warnings };
  if (cpu !== undefined || cpuinfo !== undefined) {
    result.cpu = mapCpu({ si: typeof cpu === 'object' && cpu !== null ? cpu : undefined, cpuinfo, arch: opts.arch, temperatureC: temp?.main ?? undefined, osThreads: safeCpuCount() });
  } else {
    warnings.push(warn('system', 'CPU not detected: neither systeminformation nor /proc/cpuinfo answered'));
  }
  const memory = mapMemory(mem, meminfoText !== undefined ? parseMemTotal(meminfoText) : undefined);
  if (memory) result.memory = memory;
  else warnings.push(warn('system', 'memory size not detected'));

  const mmcTypes: Record<string, string> = {};
  for (const dev of blocks) {
    if (dev.type === 'disk' && typeof dev.name === 'string' && /^mmcblk\d+$/u.test(dev.name)) {
      const type = await readValue(join(opts.sysfsRoot, 'block', dev.name, 'device', 'type'), opts.timeoutMs);
      if (type) mmcTypes[dev.name] = type;
    }
  }
  try {
    result.disks = mapDisks({ layout, blockDevices: blocks, fsSize: fs, mmcTypes });
  } catch (e) {
    warnings.push(warn('system:disks', errorMessage(e)));
  }
  try {
    const osIfaces = (opts.osInterfaces ?? defaultOsInterfaces)();
    result.network = mapNetwork(ifaces, osIfaces);
  } catch (e) {
    warnings.push(warn('system:network', errorMessage(e)));
  }
  result.os = mapOs(osInfo, opts.platform ?? process.platform);
  try {
    result.hostname = (opts.hostname ?? osHostname)().slice(0, 255);
  } catch {
    // no hostname is fine
  }
  return result;
}

function defaultOsInterfaces(): Record<string, readonly OsAddress[] | undefined> {
  return osNetworkInterfaces();
}

function safeCpuCount(): number | undefined {
  try {
    return cpus().length || undefined;
  } catch {
    return undefined;
  }
}
