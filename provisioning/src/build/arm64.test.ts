import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { piBootFiles, piConfigTxt, planPiBoot, PI_KERNEL_ARGS, resolveInRoot } from './arm64.js';
import { makeFat } from './disk.js';
import { ELF_MACHINE, parseElf, readElf, resolveNeeded } from './elf.js';
import type { ElfInfo } from './elf.js';
import { which } from './tools.js';

const tmp = mkdtempSync(join(tmpdir(), 'sosna-arm64-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A minimal ELF64 LE file: one PT_LOAD, a PT_INTERP and a PT_DYNAMIC with DT_NEEDED/DT_SONAME/DT_STRTAB. */
function fakeElf(machine: number, interp: string, needed: string[], soname?: string): Buffer {
  const strs = ['', ...needed, ...(soname ? [soname] : [])];
  const strtab = Buffer.from(strs.join('\0') + '\0', 'latin1');
  const offOf = (s: string) => strs.slice(0, strs.indexOf(s)).reduce((n, x) => n + x.length + 1, 0);
  const interpBuf = Buffer.from(interp + '\0', 'latin1');
  const phoff = 64;
  const phnum = 3;
  const interpOff = phoff + phnum * 56;
  const strOff = interpOff + interpBuf.length;
  const dynOff = Math.ceil((strOff + strtab.length) / 8) * 8;
  const dyn: [bigint, bigint][] = [...needed.map((n) => [1n, BigInt(offOf(n))] as [bigint, bigint]), ...(soname ? [[14n, BigInt(offOf(soname))] as [bigint, bigint]] : []), [5n, BigInt(0x400000 + strOff)], [0n, 0n]];
  const buf = Buffer.alloc(dynOff + dyn.length * 16);
  buf.writeUInt32BE(0x7f454c46, 0);
  buf[4] = 2;
  buf[5] = 1;
  buf.writeUInt16LE(machine, 18);
  buf.writeBigUInt64LE(BigInt(phoff), 32);
  buf.writeUInt16LE(56, 54);
  buf.writeUInt16LE(phnum, 56);
  const ph = (i: number, type: number, offset: number, vaddr: number, size: number) => {
    const at = phoff + i * 56;
    buf.writeUInt32LE(type, at);
    buf.writeBigUInt64LE(BigInt(offset), at + 8);
    buf.writeBigUInt64LE(BigInt(vaddr), at + 16);
    buf.writeBigUInt64LE(BigInt(size), at + 32);
  };
  ph(0, 1, 0, 0x400000, buf.length);
  ph(1, 3, interpOff, 0x400000 + interpOff, interpBuf.length);
  ph(2, 2, dynOff, 0x400000 + dynOff, dyn.length * 16);
  interpBuf.copy(buf, interpOff);
  strtab.copy(buf, strOff);
  dyn.forEach(([t, v], i) => {
    buf.writeBigInt64LE(t, dynOff + i * 16);
    buf.writeBigUInt64LE(v, dynOff + i * 16 + 8);
  });
  return buf;
}
const reader = (b: Buffer) => (o: number, n: number) => b.subarray(o, o + n);

describe('ELF (what an arm64 binary needs, read without running it)', () => {
  it('reads machine, interpreter, DT_NEEDED and DT_SONAME', () => {
    const elf = fakeElf(ELF_MACHINE.aarch64, '/lib/ld-linux-aarch64.so.1', ['libstdc++.so.6', 'libc.so.6'], 'libfake.so.1');
    expect(parseElf(reader(elf))).toEqual({ machine: 183, interp: '/lib/ld-linux-aarch64.so.1', needed: ['libstdc++.so.6', 'libc.so.6'], soname: 'libfake.so.1' });
  });
  it('reads this host\'s own Node binary', () => {
    const info = readElf(process.execPath);
    expect([ELF_MACHINE.x86_64, ELF_MACHINE.aarch64]).toContain(info.machine);
    if (info.interp) expect(info.needed).toContain('libc.so.6');
  });
  it('refuses files that are not 64-bit little-endian ELF, naming them', () => {
    expect(() => parseElf(reader(Buffer.from('#!/bin/sh\n'.padEnd(64))), 'init')).toThrow('init is not an ELF file');
    const elf32 = fakeElf(40, '', []);
    elf32[4] = 1;
    expect(() => parseElf(reader(elf32), 'arm32')).toThrow(/arm32: only 64-bit little-endian/);
  });
  it('resolves libraries transitively and names what nothing provides', () => {
    const libs: Record<string, ElfInfo> = {
      'libstdc++.so.6': { machine: 183, interp: null, needed: ['libm.so.6', 'libc.so.6'], soname: 'libstdc++.so.6' },
      'libm.so.6': { machine: 183, interp: null, needed: ['libc.so.6'], soname: 'libm.so.6' },
      'libc.so.6': { machine: 183, interp: null, needed: [], soname: 'libc.so.6' },
    };
    const find = (so: string) => (libs[so] ? { path: `/x/${so}`, info: libs[so]! } : null);
    const root: ElfInfo = { machine: 183, interp: '/lib/ld-linux-aarch64.so.1', needed: ['libstdc++.so.6', 'libc.so.6'], soname: null };
    expect(resolveNeeded(root, find).map((l) => l.soname)).toEqual(['libstdc++.so.6', 'libc.so.6', 'libm.so.6']);
    expect(() => resolveNeeded({ ...root, needed: ['libstdc++.so.6', 'libssl.so.3'] }, find)).toThrow('no package provides libssl.so.3');
  });
  it('follows symlinks inside an unpacked package, absolute ones included', () => {
    const root = join(tmp, 'pkg');
    mkdirSync(join(root, 'lib', 'aarch64-linux-gnu'), { recursive: true });
    writeFileSync(join(root, 'lib', 'aarch64-linux-gnu', 'ld-linux-aarch64.so.1'), 'x');
    spawnSync('ln', ['-s', 'aarch64-linux-gnu/ld-linux-aarch64.so.1', join(root, 'lib', 'ld-linux-aarch64.so.1')]);
    spawnSync('ln', ['-s', '/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1', join(root, 'lib', 'abs.so')]);
    expect(resolveInRoot(root, '/lib/ld-linux-aarch64.so.1')).toBe(join(root, 'lib', 'aarch64-linux-gnu', 'ld-linux-aarch64.so.1'));
    expect(resolveInRoot(root, 'lib/abs.so')).toBe(join(root, 'lib', 'aarch64-linux-gnu', 'ld-linux-aarch64.so.1'));
    expect(resolveInRoot(root, 'lib/none.so')).toBeNull();
  });
});

describe('the Raspberry Pi hook (--firmware-dir)', () => {
  const firmware = ['bootcode.bin', 'fixup4.dat', 'start4.elf', 'overlays/disable-bt.dtbo', 'bcm2711-rpi-4-b.dtb'];
  const kernelDtbs = ['/k/broadcom/bcm2711-rpi-4-b.dtb', '/k/broadcom/bcm2837-rpi-3-b.dtb'];

  it('plans the firmware files, the kernel device trees it lacks, and config.txt/cmdline.txt', () => {
    const plan = planPiBoot(firmware, kernelDtbs);
    expect(plan.copies).toEqual([
      { source: 'firmware', from: 'bootcode.bin', to: '/bootcode.bin' },
      { source: 'firmware', from: 'fixup4.dat', to: '/fixup4.dat' },
      { source: 'firmware', from: 'start4.elf', to: '/start4.elf' },
      { source: 'firmware', from: 'overlays/disable-bt.dtbo', to: '/overlays/disable-bt.dtbo' },
      { source: 'firmware', from: 'bcm2711-rpi-4-b.dtb', to: '/bcm2711-rpi-4-b.dtb' }, // the firmware's own wins
      { source: 'kernel', from: '/k/broadcom/bcm2837-rpi-3-b.dtb', to: '/bcm2837-rpi-3-b.dtb' },
    ]);
    expect(plan.generated.map((g) => g.to)).toEqual(['/config.txt', '/cmdline.txt']);
    expect(plan.generated[0]!.text).toMatch(/^arm_64bit=1$/m);
    expect(plan.generated[0]!.text).toMatch(/^kernel=vmlinuz$/m);
    expect(plan.generated[0]!.text).toMatch(/^initramfs initrd\.img followkernel$/m);
    expect(plan.generated[1]!.text).toBe(`${PI_KERNEL_ARGS}\n`);
  });
  it('keeps the folder\'s own config.txt and cmdline.txt', () => {
    const plan = planPiBoot([...firmware, 'config.txt', 'cmdline.txt'], []);
    expect(plan.generated).toEqual([]);
    expect(plan.copies.map((c) => c.to)).toContain('/config.txt');
  });
  it('accepts the Pi UEFI firmware (RPI_EFI.fd) and a Pi 5 folder of device trees, and refuses a folder without boot files', () => {
    expect(planPiBoot(['RPI_EFI.fd', 'start4.elf', 'fixup4.dat'], []).copies).toHaveLength(3);
    expect(planPiBoot(['bcm2712-rpi-5-b.dtb', 'overlays/x.dtbo'], []).generated.map((g) => g.to)).toEqual(['/config.txt', '/cmdline.txt']);
    expect(() => planPiBoot(['readme.txt', 'overlays/x.dtbo'], [])).toThrow(/holds no Raspberry Pi boot files: neither start4\.elf\/start\.elf .*RPI_EFI\.fd .* nor a device tree/);
  });
  it('refuses files that would replace the build\'s own', () => {
    expect(() => planPiBoot(['start4.elf', 'vmlinuz', 'sosna/config.json'], [])).toThrow('--firmware-dir: vmlinuz, sosna/config.json would replace files the build writes itself');
  });
  it('puts the files on a real FAT boot partition', async () => {
    if (!which('mkfs.vfat') || !which('mcopy')) throw new Error('mkfs.vfat/mtools missing: bash scripts/test-deps/image.sh');
    const fw = join(tmp, 'firmware');
    mkdirSync(join(fw, 'overlays'), { recursive: true });
    for (const f of firmware) writeFileSync(join(fw, f), `contents of ${f}\n`);
    const dtbDir = join(tmp, 'broadcom');
    mkdirSync(dtbDir, { recursive: true });
    writeFileSync(join(dtbDir, 'bcm2837-rpi-3-b.dtb'), 'kernel dtb\n');
    writeFileSync(join(dtbDir, 'bcm2711-rpi-4-b.dtb'), 'kernel dtb for pi 4\n');
    writeFileSync(join(dtbDir, 'rk3399-rockpro64.dtb'), 'not a pi\n');
    const work = join(tmp, 'work');
    const files = piBootFiles(fw, dtbDir, work);
    const fat = join(tmp, 'boot.fat');
    await makeFat(fat, 64 * 2 ** 20, 'SOSNA-BOOT', files);
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    const type = (p: string) => spawnSync('mtype', ['-i', fat, `::${p}`], { encoding: 'utf8', env }).stdout;
    expect(type('/start4.elf')).toBe('contents of start4.elf\n');
    expect(type('/overlays/disable-bt.dtbo')).toBe('contents of overlays/disable-bt.dtbo\n');
    expect(type('/bcm2711-rpi-4-b.dtb')).toBe('contents of bcm2711-rpi-4-b.dtb\n');
    expect(type('/bcm2837-rpi-3-b.dtb')).toBe('kernel dtb\n');
    expect(type('/config.txt').replace(/\r/g, '')).toBe(piConfigTxt());
    expect(type('/cmdline.txt').replace(/\r/g, '')).toBe(`${PI_KERNEL_ARGS}\n`);
    const all = spawnSync('mdir', ['-b', '-i', fat, '::/'], { encoding: 'utf8', env }).stdout;
    expect(all).not.toMatch(/rk3399/i);
    expect(readFileSync(join(work, 'pi', 'cmdline.txt'), 'utf8')).toBe(`${PI_KERNEL_ARGS}\n`);
  });
  it('names a missing firmware folder', () => {
    expect(() => piBootFiles(join(tmp, 'nope'), null, tmp)).toThrow(`--firmware-dir ${join(tmp, 'nope')}: no such folder`);
  });
});
