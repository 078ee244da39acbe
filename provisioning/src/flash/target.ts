// Which targets `sosna flash` may overwrite. A whole disk that nothing uses, or a plain file; never a
// partition, a disk with a mounted or swapped-on partition, a disk that holds the running system, or a
// disk that device-mapper/RAID builds on. The system view is injected so the rules are tested without
// real disks.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export class TargetRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefused';
  }
}

export interface MountEntry {
  device: string;
  mountpoint: string;
  fstype: string;
}

/** /proc/mounts (or /proc/self/mounts): fields separated by spaces, with octal escapes (\040 for space). */
export function parseMounts(text: string): MountEntry[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 3 && f[0])
    .map((f) => ({ device: unescape(f[0]!), mountpoint: unescape(f[1]!), fstype: f[2]! }));
}

/** /proc/swaps: a header line, then `Filename Type Size Used Priority`. */
export function parseSwaps(text: string): string[] {
  return text.split('\n').slice(1).map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean).map((s) => s.replace(/\\040/g, ' '));
}

/** Mount points whose disk is the system disk. */
export const SYSTEM_MOUNTS = ['/', '/boot', '/boot/efi', '/usr', '/var', '/home', '/etc', '/opt', '/srv'];

export interface SystemView {
  mounts(): MountEntry[];
  swaps(): string[];
  /** Resolves /dev paths and symlinks (/dev/disk/by-id/...) to the real node. */
  realpath(p: string): string;
  /** `block` for a block device, `file`, `dir`, `other`, or null when missing. */
  kind(p: string): 'block' | 'file' | 'dir' | 'other' | null;
  /** sysfs: the kernel's name for a block device node, e.g. /dev/sdb -> sdb. */
  blockName(devPath: string): string | null;
  /** sysfs: whether a block device is a partition, and its whole disk. */
  isPartition(name: string): boolean;
  parentDisk(name: string): string;
  partitions(disk: string): string[];
  holders(name: string): string[];
  sizeBytes(name: string): number | null;
  /** Backing files of attached loop devices: [loop name, file]. */
  loopBackings(): [string, string][];
}

export type FlashTarget = { kind: 'file'; path: string; exists: boolean } | { kind: 'block'; path: string; name: string; sizeBytes: number | null };

/**
 * Checks a target and explains a refusal. For a block device: the whole disk only, nothing of it mounted,
 * swapped on or held by device-mapper, and not the disk of the running system.
 */
export function checkTarget(target: string, sys: SystemView, image?: string): FlashTarget {
  const path = resolve(target);
  const kind = sys.kind(path);
  if (kind === null) {
    if (path.startsWith('/dev/')) throw new TargetRefused(`${target}: no such device`);
    if (sys.kind(dirname(path)) !== 'dir') throw new TargetRefused(`${target}: the folder ${dirname(path)} does not exist`);
    return { kind: 'file', path, exists: false };
  }
  if (kind === 'dir') throw new TargetRefused(`${target} is a folder, not a disk or an image file`);
  if (kind === 'other') throw new TargetRefused(`${target} is neither a block device nor a regular file`);
  const real = sys.realpath(path);
  if (image && sys.kind(image) === 'file' && sys.realpath(resolve(image)) === real) throw new TargetRefused(`${target} is the image itself`);

  if (kind === 'file') {
    if (path.startsWith('/dev/')) throw new TargetRefused(`${target} is a regular file under /dev, not a device (is the disk attached?)`);
    const loop = sys.loopBackings().find(([, f]) => f === real);
    if (loop) throw new TargetRefused(`${target} is attached to /dev/${loop[0]} (losetup -d /dev/${loop[0]} first, or flash /dev/${loop[0]})`);
    return { kind: 'file', path, exists: true };
  }

  const name = sys.blockName(real);
  if (!name) throw new TargetRefused(`${target}: not a block device that the kernel lists in /sys/class/block`);
  if (sys.isPartition(name)) throw new TargetRefused(`${target} is a partition of /dev/${sys.parentDisk(name)}: flash the whole disk (/dev/${sys.parentDisk(name)})`);
  const family = new Set([name, ...sys.partitions(name)]);
  const mine = (dev: string) => {
    if (!dev.startsWith('/')) return false;
    const n = sys.blockName(sys.realpath(dev));
    return n !== null && family.has(n);
  };
  const mounts = sys.mounts().filter((m) => mine(m.device));
  const system = mounts.find((m) => SYSTEM_MOUNTS.includes(m.mountpoint));
  if (system) throw new TargetRefused(`${target} is a system disk: ${system.device} is mounted at ${system.mountpoint}`);
  if (mounts.length) throw new TargetRefused(`${target} is in use: ${mounts.map((m) => `${m.device} is mounted at ${m.mountpoint}`).join(', ')} (unmount it first)`);
  const swap = sys.swaps().find(mine);
  if (swap) throw new TargetRefused(`${target} is in use: ${swap} is swap space (swapoff it first)`);
  for (const n of family) {
    const h = sys.holders(n);
    if (h.length) throw new TargetRefused(`${target} is in use: /dev/${n} is held by ${h.map((x) => `/dev/${x}`).join(', ')} (device-mapper, LVM or RAID)`);
  }
  return { kind: 'block', path, name, sizeBytes: sys.sizeBytes(name) };
}

const readText = (p: string) => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};
const list = (p: string) => {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
};

/** The real machine: /proc/self/mounts, /proc/swaps, /sys/class/block. */
export const linuxSystem: SystemView = {
  mounts: () => parseMounts(readText('/proc/self/mounts')),
  swaps: () => parseSwaps(readText('/proc/swaps')),
  realpath: (p) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  },
  kind: (p) => {
    try {
      const st = statSync(p);
      return st.isBlockDevice() ? 'block' : st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
    } catch {
      return null;
    }
  },
  blockName: (dev) => {
    try {
      const st = statSync(dev);
      if (!st.isBlockDevice()) return null;
      const major = Math.floor(st.rdev / 256) & 0xfff;
      const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
      const link = `/sys/dev/block/${major}:${minor}`;
      return existsSync(link) ? basename(realpathSync(link)) : null;
    } catch {
      return null;
    }
  },
  isPartition: (name) => existsSync(`/sys/class/block/${name}/partition`),
  parentDisk: (name) => basename(dirname(realpathSync(`/sys/class/block/${name}`))),
  partitions: (disk) => list(`/sys/class/block/${disk}`).filter((e) => existsSync(join('/sys/class/block', disk, e, 'partition'))),
  holders: (name) => list(`/sys/class/block/${name}/holders`),
  sizeBytes: (name) => {
    const s = Number(readText(`/sys/class/block/${name}/size`).trim());
    return Number.isFinite(s) && s > 0 ? s * 512 : null;
  },
  loopBackings: () =>
    list('/sys/block')
      .filter((n) => n.startsWith('loop'))
      .map((n): [string, string] => [n, readText(`/sys/block/${n}/loop/backing_file`).trim()])
      .filter(([, f]) => f !== ''),
};
