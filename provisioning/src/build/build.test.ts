import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { moduleDepends, resolveLoadOrder } from './kmod.js';
import { newcHeader, writeCpio } from './cpio.js';
import { planLayout, sfdiskScript } from './disk.js';
import { MissingToolsError, parseLdd, requireTools } from './tools.js';

describe('kernel modules', () => {
  it('reads depends= from the .modinfo strings', () => {
    const ko = Buffer.concat([Buffer.from('\x7fELF....'), Buffer.from('\0license=GPL\0depends=virtio,virtio_ring\0intree=Y\0')]);
    expect(moduleDepends(ko)).toEqual(['virtio', 'virtio_ring']);
    expect(moduleDepends(Buffer.from('\0depends=\0'))).toEqual([]);
    expect(moduleDepends(Buffer.from('no modinfo'))).toEqual([]);
  });
  it('orders dependencies first, once each, and reports built-in and missing modules', () => {
    const deps: Record<string, string[]> = { virtio_blk: ['virtio', 'virtio_ring'], virtio_ring: ['virtio'], virtio: [], vfat: ['fat'], fat: [] };
    const r = resolveLoadOrder(['virtio_blk', 'vfat', 'virtio-ring', 'ext4', 'nvme'], {
      path: (n) => (n in deps ? `${n}.ko` : undefined),
      depends: (n) => deps[n]!,
      builtin: (n) => n === 'ext4',
    });
    expect(r.order).toEqual(['virtio', 'virtio_ring', 'virtio_blk', 'fat', 'vfat']);
    expect(r.builtin).toEqual(['ext4']);
    expect(r.missing).toEqual(['nvme']);
  });
  it('names a dependency cycle', () => {
    expect(() => resolveLoadOrder(['a'], { path: (n) => n, depends: (n) => (n === 'a' ? ['b'] : ['a']), builtin: () => false })).toThrow(/a -> b -> a/);
  });
});

describe('initramfs cpio (newc)', () => {
  it('writes 110-byte headers, 4-byte alignment and the trailer', async () => {
    const h = newcHeader(1, { name: 'init', mode: 0o100755, size: 3, nlink: 1, mtime: 0 });
    expect(h.subarray(0, 6).toString()).toBe('070701');
    expect(h.length % 4).toBe(0);
    expect(h.subarray(110, 114).toString()).toBe('init');
    const chunks: Buffer[] = [];
    const sink = new Writable({ write: (c, _e, cb) => (chunks.push(c as Buffer), cb()) });
    await writeCpio([
      { name: 'bin', kind: 'dir', mode: 0o755 },
      { name: 'bin/sh', kind: 'symlink', mode: 0o777, target: '/bin/busybox' },
      { name: 'init', kind: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\n') },
      { name: 'dev/console', kind: 'chardev', mode: 0o600, major: 5, minor: 1 },
    ], sink);
    const all = Buffer.concat(chunks);
    expect(all.length % 4).toBe(0);
    const text = all.toString('latin1');
    expect(text).toContain('bin/sh\0');
    expect(text).toContain('/bin/busybox');
    expect(text).toContain('#!/bin/sh\n');
    expect(text.endsWith('\0') || text.includes('TRAILER!!!')).toBe(true);
    // the console node: mode 020600, rdev 5:1
    const at = all.indexOf('dev/console') - 110;
    expect(all.subarray(at + 14, at + 22).toString()).toBe((0o020600).toString(16).padStart(8, '0'));
    expect(all.subarray(at + 78, at + 94).toString()).toBe('0000000500000001');
  });
});

describe('disk layout', () => {
  it('aligns partitions to 1 MiB and leaves room for the backup GPT', () => {
    const l = planLayout([{ name: 'sosna-boot', type: 'EF', sizeBytes: 256 * 2 ** 20 }, { name: 'sosna-root', type: 'L', sizeBytes: 10 * 2 ** 20 + 1 }]);
    expect(l.partitions.map((p) => [p.startSector, p.sectors])).toEqual([[2048, 524288], [526336, 22528]]);
    expect(l.totalSectors).toBe(526336 + 22528 + 2048);
    expect(sfdiskScript(l)).toContain('start=2048, size=524288, type=EF, name="sosna-boot"');
  });
});

describe('host tools', () => {
  it('names every missing tool and one apt-get line', () => {
    try {
      requireTools(['sfdisk', 'mcopy', 'mmd', 'ls'], (c) => (c === 'ls' ? '/bin/ls' : null));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(MissingToolsError);
      expect((err as Error).message).toBe('missing host tools: sfdisk, mcopy, mmd\ninstall with: sudo apt-get install -y --no-install-recommends fdisk mtools');
    }
  });
  it('parses ldd output', () => {
    const text = '\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n';
    expect(parseLdd(text)).toEqual(['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
    expect(parseLdd('\tnot a dynamic executable\n')).toEqual([]);
  });
});
