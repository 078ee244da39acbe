// Running arm64 binaries on the x86_64 build host (debootstrap's second stage of the arm64 full image runs
// dpkg and the packages' maintainer scripts inside the arm64 root): the kernel's binfmt_misc hands every
// aarch64 ELF to qemu's user-mode emulator (Debian's qemu-user-static). The registration is host-global,
// so the build registers one only when no aarch64 handler exists, under a sosna-specific name, and removes
// it when it ends. The `F` (fix binary) flag makes the kernel open the interpreter at registration, so it
// works inside a chroot without a copy of qemu there. Pure parts (the line, the entry parser, the plan)
// apart from the I/O (mount, register, remove).
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run, which } from './tools.js';

export const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';
/** Our registration's name; an entry with this name left by a killed build is taken over and removed. */
export const SOSNA_BINFMT_NAME = 'sosna-qemu-aarch64';
export const QEMU_AARCH64_STATIC = '/usr/bin/qemu-aarch64-static';
export const QEMU_USER_APT = 'sudo apt-get install -y --no-install-recommends qemu-user-static';

/**
 * The first 20 bytes of an aarch64 ELF executable and the bits that must match: ELF magic, 64-bit (class 2),
 * little-endian (data 1), version 1, OS ABI ignored, e_type 2 or 3 (mask 0xfe: executables and PIEs),
 * e_machine 183 (0xb7, EM_AARCH64).
 */
export const AARCH64_ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0xb7, 0x00];
export const AARCH64_ELF_MASK = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff];

const hexEscape = (bytes: number[]) => bytes.map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');

/** The line written to binfmt_misc's `register`: `:name:M::magic:mask:interpreter:flags` (magic type, offset 0). */
export function binfmtRegistration(name: string, interpreter: string, flags = 'F'): string {
  if (!/^[\w.+-]+$/.test(name) || name.length > 64) throw new Error(`binfmt name ${JSON.stringify(name)}: letters, digits, . + - _ only`);
  if (!interpreter.startsWith('/') || interpreter.includes(':')) throw new Error(`binfmt interpreter ${interpreter}: an absolute path without ':'`);
  if (!/^[POCF]*$/.test(flags)) throw new Error(`binfmt flags ${flags}: only P, O, C, F`);
  return `:${name}:M::${hexEscape(AARCH64_ELF_MAGIC)}:${hexEscape(AARCH64_ELF_MASK)}:${interpreter}:${flags}`;
}

export interface BinfmtEntry {
  name: string;
  enabled: boolean;
  interpreter: string;
  flags: string;
  offset: number;
  /** Hex, as the kernel prints it (no mask: absent). */
  magic: string;
  mask?: string;
}

/** Parses a file of /proc/sys/fs/binfmt_misc (`enabled`, `interpreter ...`, `flags: ...`, `offset`, `magic`, `mask`). */
export function parseBinfmtEntry(name: string, text: string): BinfmtEntry {
  const lines = text.split('\n').map((l) => l.trim());
  const field = (key: string) => lines.find((l) => l.startsWith(`${key} `) || l.startsWith(`${key}:`))?.replace(new RegExp(`^${key}:?\\s*`), '');
  return {
    name,
    enabled: lines[0] === 'enabled',
    interpreter: field('interpreter') ?? '',
    flags: field('flags') ?? '',
    offset: Number(field('offset') ?? 0),
    magic: (field('magic') ?? '').toLowerCase(),
    ...(field('mask') ? { mask: field('mask')!.toLowerCase() } : {}),
  };
}

/** True when the entry is enabled and an aarch64 executable matches it (its magic and mask applied to our header). */
export function handlesAarch64(e: BinfmtEntry): boolean {
  if (!e.enabled || !e.magic || e.magic.length % 2) return false;
  const magic = Buffer.from(e.magic, 'hex');
  const mask = e.mask ? Buffer.from(e.mask, 'hex') : Buffer.alloc(magic.length, 0xff);
  const header = [...AARCH64_ELF_MAGIC.slice(0, 16), 0x02, 0x00, 0xb7, 0x00]; // an arm64 executable's first 20 bytes
  if (e.offset + magic.length > header.length) return false;
  for (let i = 0; i < magic.length; i++) if ((header[e.offset + i]! & mask[i]!) !== (magic[i]! & mask[i]!)) return false;
  return true;
}

export type BinfmtPlan =
  | { kind: 'existing'; name: string; interpreter: string; /** without F the interpreter must exist inside the chroot */ fixBinary: boolean; ours: boolean }
  | { kind: 'register'; name: string; line: string };

/** What to do, from the entries present: use an aarch64 handler that exists (taking over a stale one of ours) or register ours. */
export function planBinfmt(entries: BinfmtEntry[], interpreter = QEMU_AARCH64_STATIC): BinfmtPlan {
  const handlers = entries.filter(handlesAarch64);
  // prefer a handler with F (works in the chroot as is), then any
  const h = handlers.find((e) => e.flags.includes('F')) ?? handlers[0];
  if (h) return { kind: 'existing', name: h.name, interpreter: h.interpreter, fixBinary: h.flags.includes('F'), ours: h.name === SOSNA_BINFMT_NAME };
  return { kind: 'register', name: SOSNA_BINFMT_NAME, line: binfmtRegistration(SOSNA_BINFMT_NAME, interpreter) };
}

export interface Aarch64Emulation {
  /** How arm64 binaries run here, for the build log. */
  how: string;
  /** Undoes what `enableAarch64` did: our registration, the interpreter copied into the chroot, a mount we made. */
  release(): Promise<void>;
}

export interface BinfmtIo {
  dir: string;
  isRoot: () => boolean;
  exists: (p: string) => boolean;
  mount: () => Promise<void>;
  umount: () => Promise<void>;
  list: () => string[];
  read: (name: string) => string;
  write: (name: string, text: string) => void;
}

export const hostBinfmtIo = (dir = BINFMT_DIR): BinfmtIo => ({
  dir,
  isRoot: () => process.getuid?.() === 0,
  exists: existsSync,
  mount: async () => void (await run('mount', ['-t', 'binfmt_misc', 'binfmt_misc', dir])),
  umount: async () => void (await run('umount', [dir])),
  list: () => readdirSync(dir).filter((n) => n !== 'register' && n !== 'status'),
  read: (name) => readFileSync(join(dir, name), 'utf8'),
  write: (name, text) => writeFileSync(join(dir, name), text),
});

/**
 * Makes arm64 binaries run in `chrootDir` (qemu user emulation through binfmt_misc); root only. Registers
 * `sosna-qemu-aarch64` with the F flag when no aarch64 handler exists; `release()` removes it again (and
 * unmounts binfmt_misc if the build mounted it and nothing else is registered).
 */
export async function enableAarch64(chrootDir: string, progress: (l: string) => void, io: BinfmtIo = hostBinfmtIo(), interpreter = which('qemu-aarch64-static') ?? QEMU_AARCH64_STATIC): Promise<Aarch64Emulation> {
  if (!io.exists(interpreter)) {
    throw new Error(`the arm64 full image runs debootstrap's second stage under qemu user emulation: ${interpreter} is missing\ninstall with: ${QEMU_USER_APT}`);
  }
  if (!io.isRoot()) throw new Error('registering qemu-aarch64-static in binfmt_misc needs root: run sosna image build with sudo');
  let mounted = false;
  if (!io.exists(join(io.dir, 'register'))) {
    try {
      await io.mount();
    } catch (err) {
      throw new Error(`cannot mount binfmt_misc: ${(err as Error).message}\n(arm64 binaries cannot run on this host without it: mount -t binfmt_misc binfmt_misc ${io.dir}, or build in a VM/container that allows it)`);
    }
    mounted = true;
  }
  const plan = planBinfmt(io.list().map((n) => parseBinfmtEntry(n, io.read(n))), interpreter);
  const cleanups: (() => Promise<void> | void)[] = [];
  let how: string;
  if (plan.kind === 'register') {
    try {
      io.write('register', plan.line);
    } catch (err) {
      if (mounted) await io.umount().catch(() => undefined);
      throw new Error(`cannot register ${interpreter} in ${io.dir}/register: ${(err as Error).message}`);
    }
    cleanups.push(() => io.write(plan.name, '-1'));
    how = `registered ${plan.name} (binfmt_misc, flag F) for ${interpreter}; removed when the build ends`;
  } else {
    if (plan.ours) cleanups.push(() => io.write(plan.name, '-1')); // left by a killed build: ours to remove
    how = `binfmt_misc handler ${plan.name} (${plan.interpreter}${plan.fixBinary ? ', flag F' : ''})${plan.ours ? ', left by an earlier build; removed when this one ends' : ''}`;
    if (!plan.fixBinary) {
      // without F the kernel opens the interpreter by its path inside the chroot: put a copy there for the build
      const inside = join(chrootDir, plan.interpreter);
      if (!io.exists(inside)) {
        mkdirSync(dirname(inside), { recursive: true });
        copyFileSync(interpreter, inside);
        cleanups.push(() => rmSync(inside, { force: true }));
        how += `; copied ${interpreter} into the chroot for the build`;
      }
    }
  }
  if (mounted) {
    cleanups.push(async () => {
      if (io.list().length === 0) await io.umount().catch(() => undefined);
    });
  }
  progress(`arm64 emulation: ${how}`);
  let released = false;
  return {
    how,
    async release() {
      if (released) return;
      released = true;
      const errors: string[] = [];
      for (const c of cleanups) {
        try {
          await c();
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
      if (errors.length) throw new Error(`cleaning up the arm64 emulation: ${errors.join('; ')} (remove it by hand: echo -1 > ${io.dir}/${SOSNA_BINFMT_NAME})`);
    },
  };
}
