import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AARCH64_ELF_MAGIC, AARCH64_ELF_MASK, binfmtRegistration, enableAarch64, handlesAarch64, parseBinfmtEntry, planBinfmt, SOSNA_BINFMT_NAME,
} from './binfmt.js';
import type { BinfmtIo } from './binfmt.js';

const tmp = mkdtempSync(join(tmpdir(), 'sosna-binfmt-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// what the kernel shows for our registration (read from /proc/sys/fs/binfmt_misc/sosna-qemu-aarch64 during a real build)
const OURS = `enabled
interpreter /usr/bin/qemu-aarch64-static
flags: F
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
`;
// Debian's binfmt-support entry for qemu-user-static (no F: the interpreter must be inside a chroot)
const DEBIAN_NO_F = OURS.replace('flags: F', 'flags: ');
const ARM32 = `enabled
interpreter /usr/bin/qemu-arm-static
flags: F
offset 0
magic 7f454c4601010100000000000000000002002800
mask ffffffffffffff00fffffffffffffffffeffffff
`;
const PYTHON = `enabled
interpreter /usr/bin/python3.11
flags:
offset 0
magic a70d0d0a
`;

describe('the binfmt_misc registration line', () => {
  it('is :name:M::magic:mask:interpreter:F with 20 escaped header bytes each', () => {
    const line = binfmtRegistration(SOSNA_BINFMT_NAME, '/usr/bin/qemu-aarch64-static');
    const parts = line.split(':');
    expect(parts.slice(0, 4)).toEqual(['', SOSNA_BINFMT_NAME, 'M', '']);
    expect(parts[4]).toBe('\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00' + '\\x00'.repeat(8) + '\\x02\\x00\\xb7\\x00');
    expect(parts[5]).toBe('\\xff'.repeat(7) + '\\x00' + '\\xff'.repeat(8) + '\\xfe\\xff\\xff\\xff');
    expect(parts.slice(6)).toEqual(['/usr/bin/qemu-aarch64-static', 'F']);
    expect(AARCH64_ELF_MAGIC).toHaveLength(20);
    expect(AARCH64_ELF_MASK).toHaveLength(20);
  });

  it('refuses names, interpreters and flags the kernel would misread', () => {
    expect(() => binfmtRegistration('a:b', '/x')).toThrow(/binfmt name "a:b"/);
    expect(() => binfmtRegistration('ok', 'qemu')).toThrow(/absolute path/);
    expect(() => binfmtRegistration('ok', '/a:b')).toThrow(/absolute path/);
    expect(() => binfmtRegistration('ok', '/x', 'FZ')).toThrow(/flags FZ/);
  });
});

describe('reading binfmt_misc entries', () => {
  it('parses the kernel\'s entry and sees that it handles aarch64 executables', () => {
    const e = parseBinfmtEntry(SOSNA_BINFMT_NAME, OURS);
    expect(e).toEqual({
      name: SOSNA_BINFMT_NAME, enabled: true, interpreter: '/usr/bin/qemu-aarch64-static', flags: 'F', offset: 0,
      magic: '7f454c460201010000000000000000000200b700', mask: 'ffffffffffffff00fffffffffffffffffeffffff',
    });
    expect(handlesAarch64(e)).toBe(true);
  });

  it('does not take arm32, other formats or a disabled aarch64 entry for an aarch64 handler', () => {
    expect(handlesAarch64(parseBinfmtEntry('qemu-arm', ARM32))).toBe(false);
    expect(handlesAarch64(parseBinfmtEntry('python3.11', PYTHON))).toBe(false);
    expect(handlesAarch64(parseBinfmtEntry('qemu-aarch64', OURS.replace('enabled', 'disabled')))).toBe(false);
  });
});

describe('planning the emulation', () => {
  it('registers ours when no aarch64 handler exists', () => {
    const plan = planBinfmt([parseBinfmtEntry('qemu-arm', ARM32), parseBinfmtEntry('python3.11', PYTHON)]);
    expect(plan).toEqual({ kind: 'register', name: SOSNA_BINFMT_NAME, line: binfmtRegistration(SOSNA_BINFMT_NAME, '/usr/bin/qemu-aarch64-static') });
  });

  it('uses a handler that exists, preferring one with F, and takes over a stale one of ours', () => {
    expect(planBinfmt([parseBinfmtEntry('qemu-aarch64', DEBIAN_NO_F)])).toEqual({ kind: 'existing', name: 'qemu-aarch64', interpreter: '/usr/bin/qemu-aarch64-static', fixBinary: false, ours: false });
    expect(planBinfmt([parseBinfmtEntry('qemu-aarch64', DEBIAN_NO_F), parseBinfmtEntry('other', OURS)])).toMatchObject({ name: 'other', fixBinary: true, ours: false });
    expect(planBinfmt([parseBinfmtEntry(SOSNA_BINFMT_NAME, OURS)])).toMatchObject({ kind: 'existing', ours: true });
  });
});

/** A binfmt_misc folder in a plain directory: `register` parses the line like the kernel does, `-1` removes. */
function fakeIo(opts: { root?: boolean; mounted?: boolean; mountError?: string; entries?: Record<string, string> } = {}) {
  const dir = mkdtempSync(join(tmp, 'binfmt-'));
  const log: string[] = [];
  const entries = new Map(Object.entries(opts.entries ?? {}));
  let mounted = opts.mounted ?? true;
  const io: BinfmtIo = {
    dir,
    isRoot: () => opts.root ?? true,
    exists: (p) => (p === join(dir, 'register') ? mounted : p.startsWith(tmp) ? (() => { try { readFileSync(p); return true; } catch { return false; } })() : p === '/usr/bin/qemu-aarch64-static'),
    mount: async () => {
      log.push('mount');
      if (opts.mountError) throw new Error(opts.mountError);
      mounted = true;
    },
    umount: async () => void (log.push('umount'), (mounted = false)),
    list: () => [...entries.keys()],
    read: (n) => entries.get(n)!,
    write: (n, text) => {
      log.push(`${n} <- ${text}`);
      if (n === 'register') {
        const [, name, , , magic, mask, interp, flags] = text.split(':');
        const hex = (s: string) => s.split('\\x').filter(Boolean).join('');
        entries.set(name!, `enabled\ninterpreter ${interp}\nflags: ${flags}\noffset 0\nmagic ${hex(magic!)}\nmask ${hex(mask!)}\n`);
      } else if (text === '-1') entries.delete(n);
    },
  };
  return { io, log, entries };
}

describe('enabling and releasing the emulation', () => {
  const chroot = join(tmp, 'chroot');
  mkdirSync(chroot, { recursive: true });

  it('mounts binfmt_misc when needed, registers ours, and release() removes it and unmounts', async () => {
    const { io, log, entries } = fakeIo({ mounted: false });
    const lines: string[] = [];
    const em = await enableAarch64(chroot, (l) => lines.push(l), io, '/usr/bin/qemu-aarch64-static');
    expect(log.slice(0, 2)).toEqual(['mount', `register <- ${binfmtRegistration(SOSNA_BINFMT_NAME, '/usr/bin/qemu-aarch64-static')}`]);
    expect(handlesAarch64(parseBinfmtEntry(SOSNA_BINFMT_NAME, entries.get(SOSNA_BINFMT_NAME)!))).toBe(true);
    expect(lines.join('\n')).toMatch(/registered sosna-qemu-aarch64 .*flag F/);
    await em.release();
    await em.release(); // twice is harmless
    expect(log.slice(2)).toEqual([`${SOSNA_BINFMT_NAME} <- -1`, 'umount']);
    expect(entries.size).toBe(0);
  });

  it('leaves a handler it did not make alone, copying a non-F interpreter into the chroot for the build only', async () => {
    const interp = join(tmp, 'qemu-aarch64-static');
    writeFileSync(interp, 'fake');
    const { io, log, entries } = fakeIo({ entries: { 'qemu-aarch64': DEBIAN_NO_F.replace('/usr/bin/qemu-aarch64-static', interp) } });
    const em = await enableAarch64(chroot, () => undefined, io, interp);
    const inside = join(chroot, interp);
    expect(readFileSync(inside, 'utf8')).toBe('fake');
    await em.release();
    expect(() => readFileSync(inside)).toThrow();
    expect(log).toEqual([]);
    expect([...entries.keys()]).toEqual(['qemu-aarch64']);
  });

  it('stops with the fix when qemu-user-static is missing, without root, or when binfmt_misc cannot be mounted', async () => {
    await expect(enableAarch64(chroot, () => undefined, fakeIo().io, '/nonexistent/qemu-aarch64-static')).rejects.toThrow(
      /install with: sudo apt-get install -y --no-install-recommends qemu-user-static/,
    );
    await expect(enableAarch64(chroot, () => undefined, fakeIo({ root: false }).io, '/usr/bin/qemu-aarch64-static')).rejects.toThrow(/needs root/);
    await expect(enableAarch64(chroot, () => undefined, fakeIo({ mounted: false, mountError: 'permission denied' }).io, '/usr/bin/qemu-aarch64-static')).rejects.toThrow(
      /^cannot mount binfmt_misc: permission denied/,
    );
  });
});
