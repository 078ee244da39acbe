// Pure mapping from what systeminformation (and node:os) report to inventory entries. The input types
// are the few fields we read, all optional, so captured output or hand-written objects both fit.
import type {
  CpuArch,
  HardwareCpu,
  HardwareDisk,
  HardwareMemory,
  HardwareNetworkInterface,
  HardwareOs,
  DiskType,
} from '@sosna/protocol/hardware';
import { armImplementerName, armPartName, cpuFeatureFlags, type CpuInfo } from './cpuinfo-parser.js';
import { clip, compact, scaled, toCelsius, toCount, toNonNegative } from './parse-util.js';

export interface SiCpu {
  manufacturer?: string;
  brand?: string;
  cores?: number;
  physicalCores?: number;
  /** GHz, 0 when unknown. */
  speed?: number;
  speedMax?: number;
  flags?: string;
}
export interface SiMem {
  total?: number;
  available?: number;
}
export interface SiDiskLayout {
  device?: string;
  type?: string;
  name?: string;
  size?: number;
  interfaceType?: string;
}
export interface SiBlockDevice {
  name?: string;
  type?: string;
  mount?: string;
  size?: number;
  physical?: string;
  model?: string;
  removable?: boolean;
  protocol?: string;
}
export interface SiFsSize {
  fs?: string;
  mount?: string;
  available?: number;
}
export interface SiNetworkInterface {
  iface?: string;
  mac?: string;
  internal?: boolean;
  virtual?: boolean;
  operstate?: string;
  speed?: number | null;
}
export interface SiOsInfo {
  platform?: string;
  distro?: string;
  release?: string;
  kernel?: string;
}
/** node:os networkInterfaces() entries (family is 'IPv4' or, on old Node 18 releases, 4). */
export interface OsAddress {
  address?: string;
  family?: string | number;
  internal?: boolean;
  mac?: string;
}

const isObject = <T>(v: T): v is NonNullable<T> => typeof v === 'object' && v !== null;

/** Node's process.arch names to ours. */
export function normalizeArch(nodeArch: string): CpuArch {
  switch (nodeArch) {
    case 'x64':
    case 'x86_64':
    case 'amd64':
      return 'x86_64';
    case 'arm64':
    case 'aarch64':
      return 'arm64';
    case 'arm':
    case 'armv7l':
    case 'armv7':
      return 'armv7';
    default:
      return 'other';
  }
}

function vendorFromId(vendorId: string | undefined): string | undefined {
  if (vendorId === 'GenuineIntel') return 'Intel';
  if (vendorId === 'AuthenticAMD') return 'AMD';
  if (vendorId === 'HygonGenuine') return 'Hygon';
  if (vendorId === 'CentaurHauls') return 'Centaur';
  return vendorId;
}

export function mapCpu(input: {
  si?: SiCpu;
  cpuinfo?: CpuInfo;
  arch: CpuArch;
  temperatureC?: number | null;
  /** Logical CPU count from node:os, the last resort. */
  osThreads?: number;
}): HardwareCpu {
  const { si, cpuinfo, arch } = input;
  const siModel = [si?.manufacturer, si?.brand].filter((s) => typeof s === 'string' && s.trim() !== '').join(' ');
  // ARM kernels print a generic "ARMv8 Processor rev 1 (v8l)" or nothing; the core's part number says more.
  const armCore = arch !== 'x86_64' ? armPartName(cpuinfo?.cpuPart) : undefined;
  const genericArm = /^ARMv\d+ Processor/iu.test(cpuinfo?.modelName ?? '');
  const model = (genericArm ? armCore : undefined) ?? cpuinfo?.modelName ?? armCore ?? (siModel || undefined) ?? 'unknown';
  const vendor =
    vendorFromId(cpuinfo?.vendorId) ?? armImplementerName(cpuinfo?.cpuImplementer) ?? (si?.manufacturer || undefined) ?? 'unknown';
  const threads = toCount(si?.cores) || cpuinfo?.processors || toCount(input.osThreads) || 0;
  const cores = toCount(si?.physicalCores) || cpuinfo?.physicalCores || threads;
  const siFlags = typeof si?.flags === 'string' ? si.flags.split(/\s+/u).filter(Boolean) : [];
  const flags = cpuinfo && cpuinfo.flags.length > 0 ? cpuinfo.flags : siFlags;
  const ghz = toNonNegative(si?.speed);
  const maxGhz = toNonNegative(si?.speedMax);
  const mhz = (gigahertz: number | undefined): number | undefined => {
    const v = scaled(gigahertz || undefined, 1000);
    return v !== undefined ? Math.round(v) : undefined;
  };
  const baseMHz = mhz(ghz) ?? (cpuinfo?.mhz !== undefined && Number.isFinite(cpuinfo.mhz) ? Math.round(cpuinfo.mhz) : undefined);
  const maxMHz = mhz(maxGhz);
  return compact({
    model: clip(model, 256),
    vendor: clip(vendor, 128),
    arch,
    cores,
    threads,
    baseMHz,
    maxMHz,
    flags: cpuFeatureFlags(flags),
    temperatureC: toCelsius(input.temperatureC ?? undefined),
  });
}

export function mapMemory(si: SiMem | undefined, meminfoTotalBytes?: number): HardwareMemory | undefined {
  const total = toNonNegative(si?.total) || meminfoTotalBytes;
  if (!total) return undefined;
  return compact({ totalBytes: total, availableBytes: toNonNegative(si?.available) });
}

const SKIP_DISK = /^(loop|zram|ram|sr|fd|nbd|dm-|md)\d*/u;

function diskType(name: string, layout: SiDiskLayout | undefined, dev: SiBlockDevice, mmcType?: string): DiskType {
  const iface = `${layout?.interfaceType ?? ''} ${dev.protocol ?? ''}`.toLowerCase();
  if (iface.includes('usb')) return 'usb';
  if (name.startsWith('nvme') || layout?.type === 'NVMe') return 'nvme';
  if (name.startsWith('mmcblk')) return mmcType?.toUpperCase() === 'MMC' ? 'emmc' : 'sd';
  const kind = (layout?.type ?? dev.physical ?? '').toUpperCase();
  if (kind === 'SSD') return 'ssd';
  if (kind === 'HD' || kind === 'HDD') return 'hdd';
  return 'unknown';
}

/**
 * Whole disks from lsblk's view (blockDevices), with model and type from diskLayout and free space
 * summed over the filesystems mounted from the disk or its partitions.
 */
export function mapDisks(input: {
  layout?: readonly SiDiskLayout[];
  blockDevices?: readonly SiBlockDevice[];
  fsSize?: readonly SiFsSize[];
  /** `mmcblkN` -> content of /sys/block/mmcblkN/device/type (`SD` or `MMC`). */
  mmcTypes?: Readonly<Record<string, string>>;
}): HardwareDisk[] {
  const devices = (input.blockDevices ?? []).filter(isObject);
  const layouts = (input.layout ?? []).filter(isObject);
  const availableByMount = new Map<string, number>();
  for (const fs of (input.fsSize ?? []).filter(isObject)) {
    const avail = toNonNegative(fs.available);
    if (fs.mount && avail !== undefined) availableByMount.set(fs.mount, avail);
  }
  const disks: HardwareDisk[] = [];
  for (const dev of devices) {
    const name = typeof dev.name === 'string' ? dev.name : '';
    if (dev.type !== 'disk' || !name || SKIP_DISK.test(name)) continue;
    const size = toNonNegative(dev.size);
    if (!size) continue;
    const layout = layouts.find((l) => l.device === `/dev/${name}`);
    let free: number | undefined;
    for (const part of devices) {
      const partName = typeof part.name === 'string' ? part.name : '';
      if (!partName.startsWith(name) || !part.mount) continue;
      const avail = availableByMount.get(part.mount);
      if (avail !== undefined) free = (free ?? 0) + avail;
    }
    const model = (layout?.name || dev.model || '').trim();
    disks.push(
      compact({
        name: clip(name, 128),
        model: model ? clip(model, 256) : undefined,
        sizeBytes: size,
        type: diskType(name, layout, dev, input.mmcTypes?.[name]),
        freeBytes: free,
        removable: typeof dev.removable === 'boolean' ? dev.removable : undefined,
      }),
    );
  }
  // No lsblk (minimal images): fall back to diskLayout alone.
  if (disks.length === 0) {
    for (const l of layouts) {
      const name = (typeof l.device === 'string' ? l.device : '').replace(/^\/dev\//u, '');
      const size = toNonNegative(l.size);
      if (!name || !size || SKIP_DISK.test(name)) continue;
      disks.push(compact({ name: clip(name, 128), model: l.name ? clip(l.name, 256) : undefined, sizeBytes: size, type: diskType(name, l, {}) }));
    }
  }
  return disks.slice(0, 128);
}

const VIRTUAL_IFACE = /^(veth|docker|br-|virbr|cni|flannel|cali|vxlan|tun|tap|wg|zt|lxc|podman)/u;

export function mapNetwork(
  siIfaces: readonly SiNetworkInterface[] | undefined,
  osIfaces: Readonly<Record<string, readonly OsAddress[] | undefined>>,
): HardwareNetworkInterface[] {
  const byName = new Map<string, SiNetworkInterface>();
  for (const i of (siIfaces ?? []).filter(isObject)) if (typeof i.iface === 'string') byName.set(i.iface, i);
  const names = new Set<string>([...byName.keys(), ...Object.keys(osIfaces)]);
  const out: HardwareNetworkInterface[] = [];
  for (const name of names) {
    const si = byName.get(name);
    const raw = osIfaces[name];
    const addrs = Array.isArray(raw) ? raw.filter(isObject) : [];
    const internal = si?.internal ?? addrs.some((a) => a.internal === true);
    if (internal || name === 'lo') continue;
    const ipv4 = addrs.filter((a) => (a.family === 'IPv4' || a.family === 4) && typeof a.address === 'string').map((a) => clip(a.address!, 64));
    const speed = toNonNegative(si?.speed ?? undefined);
    const mac = si?.mac || addrs.find((a) => typeof a.mac === 'string')?.mac;
    out.push(
      compact({
        name: clip(name, 64),
        mac: clip(typeof mac === 'string' ? mac : '', 64),
        speedMbps: speed,
        ipv4: ipv4.slice(0, 64),
        virtual: si?.virtual ?? VIRTUAL_IFACE.test(name),
        up: si?.operstate !== undefined ? si.operstate === 'up' : undefined,
      }),
    );
  }
  // Physical interfaces first, so a Docker host's hundred veths cannot crowd them out of the cap.
  out.sort((a, b) => Number(a.virtual === true) - Number(b.virtual === true) || a.name.localeCompare(b.name));
  return out.slice(0, 128);
}

export function mapOs(si: SiOsInfo | undefined, platform: string): HardwareOs {
  return compact({
    platform: clip(si?.platform || platform, 64),
    distro: si?.distro ? clip(si.distro, 128) : undefined,
    release: si?.release ? clip(si.release, 128) : undefined,
    kernel: si?.kernel ? clip(si.kernel, 128) : undefined,
  });
}

/** MemTotal from /proc/meminfo in bytes (the kernel prints kB). */
export function parseMemTotal(meminfo: string): number | undefined {
  const m = /^MemTotal:\s+(\d+)\s*kB/imu.exec(meminfo);
  return m ? scaled(Number(m[1]), 1024) : undefined;
}
