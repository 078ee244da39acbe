import { describe, expect, it } from 'vitest';
import { checkTarget, parseMounts, parseSwaps, TargetRefused } from './target.js';
import type { SystemView } from './target.js';

/** A machine with sda (system: sda1 on /, sda2 on /boot), sdb (USB stick, sdb1 mounted on /media/stick), sdc (free), sdd (LVM), sde (swap). */
function fakeSystem(over: Partial<SystemView> = {}): SystemView {
  const parts: Record<string, string[]> = { sda: ['sda1', 'sda2'], sdb: ['sdb1'], sdc: [], sdd: ['sdd1'], sde: ['sde1'] };
  const parentOf = (n: string) => Object.keys(parts).find((d) => parts[d]!.includes(n));
  const blocks = new Set([...Object.keys(parts), ...Object.values(parts).flat()].map((n) => `/dev/${n}`));
  return {
    mounts: () => parseMounts('/dev/sda1 / ext4 rw 0 0\n/dev/sda2 /boot vfat rw 0 0\n/dev/sdb1 /media/my\\040stick vfat rw 0 0\nproc /proc proc rw 0 0\n'),
    swaps: () => parseSwaps('Filename Type Size Used Priority\n/dev/sde1 partition 1000 0 -2\n'),
    realpath: (p) => (p === '/dev/disk/by-id/usb-stick' ? '/dev/sdb' : p),
    // like stat(): follows the /dev/disk/by-id link
    kind: (p) => (blocks.has(p === '/dev/disk/by-id/usb-stick' ? '/dev/sdb' : p) ? 'block' : p === '/tmp/out.img' ? 'file' : p === '/tmp' ? 'dir' : p === '/dev/sdz.img' ? 'file' : null),
    blockName: (p) => (blocks.has(p) ? p.slice(5) : null),
    isPartition: (n) => !!parentOf(n),
    parentDisk: (n) => parentOf(n)!,
    partitions: (d) => parts[d] ?? [],
    holders: (n) => (n === 'sdd1' ? ['dm-0'] : []),
    sizeBytes: () => 16e9,
    loopBackings: () => [['loop0', '/tmp/attached.img']],
    ...over,
  };
}

const refused = (target: string, sys = fakeSystem()) => {
  try {
    checkTarget(target, sys);
  } catch (err) {
    expect(err).toBeInstanceOf(TargetRefused);
    return (err as Error).message;
  }
  throw new Error(`${target} was accepted`);
};

describe('flash targets', () => {
  it('accepts a free whole disk and plain files', () => {
    expect(checkTarget('/dev/sdc', fakeSystem())).toEqual({ kind: 'block', path: '/dev/sdc', name: 'sdc', sizeBytes: 16e9 });
    expect(checkTarget('/tmp/out.img', fakeSystem())).toEqual({ kind: 'file', path: '/tmp/out.img', exists: true });
    expect(checkTarget('/tmp/new.img', fakeSystem())).toEqual({ kind: 'file', path: '/tmp/new.img', exists: false });
  });
  it('refuses the system disk, naming the mount', () => {
    expect(refused('/dev/sda')).toBe('/dev/sda is a system disk: /dev/sda1 is mounted at /');
  });
  it('refuses a disk with a mounted partition, also through a /dev/disk/by-id link', () => {
    expect(refused('/dev/sdb')).toMatch(/in use: \/dev\/sdb1 is mounted at \/media\/my stick/);
    expect(refused('/dev/disk/by-id/usb-stick')).toMatch(/in use/);
  });
  it('refuses partitions, swap, device-mapper holders, loop-attached files and missing devices', () => {
    expect(refused('/dev/sdc1')).toBe('/dev/sdc1: no such device');
    expect(refused('/dev/sda2')).toMatch(/is a partition of \/dev\/sda: flash the whole disk/);
    expect(refused('/dev/sde')).toMatch(/\/dev\/sde1 is swap space/);
    expect(refused('/dev/sdd')).toMatch(/held by \/dev\/dm-0/);
    expect(refused('/tmp/attached.img', fakeSystem({ kind: (p) => (p === '/tmp/attached.img' ? 'file' : null) }))).toMatch(/attached to \/dev\/loop0/);
    expect(refused('/tmp')).toMatch(/is a folder/);
    expect(refused('/dev/sdz.img')).toMatch(/regular file under \/dev/);
    expect(refused('/nope/x.img')).toMatch(/folder \/nope does not exist/);
  });
  it('refuses to write an image onto itself', () => {
    expect(() => checkTarget('/tmp/out.img', fakeSystem(), '/tmp/out.img')).toThrow(/is the image itself/);
  });
});
