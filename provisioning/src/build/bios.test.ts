import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIOS_PARTITION_NAME, GPT_TYPE } from '../image/layout.js';
import { BIOS_PARTITION_BYTES, BOOT_IMG, CORE_LOAD_SEGMENT, GRUB_I386_PC_DIR, MAX_CORE_BYTES, X86_BOOT_TOOLS, installGrubBios, makeGrubBiosCore, patchBootSector, patchCoreImage } from './bios.js';
import { assembleDisk, planLayout } from './disk.js';
import { grubConfig } from './smoke.js';
import { MissingToolsError, requireTools, run, which } from './tools.js';

/** A protective MBR as sfdisk writes it: one 0xEE partition over the disk, signature 0x55aa. */
function protectiveMbr(): Buffer {
  const s = Buffer.alloc(512);
  s.writeUInt32LE(0x12345678, 0x1b8); // disk signature
  s[0x1be + 4] = 0xee;
  s.writeUInt32LE(1, 0x1be + 8);
  s.writeUInt32LE(0xffffffff, 0x1be + 12);
  s.writeUInt16LE(0xaa55, 0x1fe);
  return s;
}
const fakeBootImg = () => Buffer.alloc(512, 0xcc);

describe('GRUB for legacy BIOS, installed by hand', () => {
  it('the MBR gets boot.img\'s code, keeps the disk\'s partition table and signature, and points at the core', () => {
    const disk = protectiveMbr();
    const mbr = patchBootSector(fakeBootImg(), disk, 2048);
    expect(mbr.length).toBe(512);
    expect(mbr.subarray(BOOT_IMG.partStart)).toEqual(disk.subarray(BOOT_IMG.partStart)); // GPT's protective entry + 0x55aa
    expect(mbr.readBigUInt64LE(BOOT_IMG.kernelSector)).toBe(2048n);
    expect(mbr[BOOT_IMG.bootDrive]).toBe(0xff);
    expect([...mbr.subarray(BOOT_IMG.driveCheck, BOOT_IMG.driveCheck + 2)]).toEqual([0x90, 0x90]);
    expect(mbr.subarray(0, BOOT_IMG.bpbStart)).toEqual(Buffer.alloc(3, 0xcc)); // the jump stays boot.img's
    expect(mbr.subarray(BOOT_IMG.bpbStart, BOOT_IMG.bpbEnd)).toEqual(disk.subarray(BOOT_IMG.bpbStart, BOOT_IMG.bpbEnd));
    expect(mbr.subarray(BOOT_IMG.driveCheck + 2, BOOT_IMG.partStart)).toEqual(Buffer.alloc(BOOT_IMG.partStart - BOOT_IMG.driveCheck - 2, 0xcc));
  });

  it('refuses a disk without an MBR signature and a boot.img of the wrong size', () => {
    expect(() => patchBootSector(fakeBootImg(), Buffer.alloc(512), 2048)).toThrow(/no MBR signature/);
    expect(() => patchBootSector(Buffer.alloc(440), protectiveMbr(), 2048)).toThrow(/boot.img is 440 bytes/);
  });

  it('the core\'s first sector lists the rest: one run from the next sector, loaded at 0x8200, then a terminator', () => {
    const core = Buffer.alloc(512 * 10 + 100, 0xab); // 11 sectors once padded
    const out = patchCoreImage(core, 2048);
    expect(out.length).toBe(512 * 11);
    expect(out.readBigUInt64LE(500)).toBe(2049n);
    expect(out.readUInt16LE(508)).toBe(10);
    expect(out.readUInt16LE(510)).toBe(CORE_LOAD_SEGMENT);
    expect(out.subarray(488, 500)).toEqual(Buffer.alloc(12)); // the next entry down: len 0 ends the list
    expect(out.subarray(512, 512 * 10 + 100)).toEqual(core.subarray(512)); // the rest untouched
    expect(out.subarray(512 * 10 + 100)).toEqual(Buffer.alloc(412)); // padding
    expect(() => patchCoreImage(Buffer.alloc(MAX_CORE_BYTES + 1), 2048)).toThrow(/more than diskboot can load/);
    expect(() => patchCoreImage(Buffer.alloc(100), 2048)).toThrow(/not a core.img/);
  });

  it('a missing GRUB platform folder is named with its Debian package', () => {
    const err = (() => {
      try {
        requireTools(X86_BOOT_TOOLS, (t) => (t.startsWith(GRUB_I386_PC_DIR) ? null : t));
      } catch (e) {
        return e as MissingToolsError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(MissingToolsError);
    expect(err!.message).toContain(`${GRUB_I386_PC_DIR}/boot.img`);
    expect(err!.message).toContain('install with: sudo apt-get install -y --no-install-recommends grub-pc-bin');
  });

  const haveGrub = which('grub-mkimage') !== null && existsSync(join(GRUB_I386_PC_DIR, 'boot.img')) && which('sfdisk') !== null;
  it.skipIf(!haveGrub)('on a real GPT disk file: GRUB\'s core goes into the BIOS boot partition, the GPT stays intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sosna-bios-'));
    try {
      const core = await makeGrubBiosCore(dir, grubConfig('console=ttyS0'));
      expect(core).not.toBeNull();
      const layout = planLayout([
        { name: BIOS_PARTITION_NAME, type: GPT_TYPE.biosBoot, sizeBytes: BIOS_PARTITION_BYTES },
        { name: 'sosna-boot', type: GPT_TYPE.efiSystem, sizeBytes: 2 ** 20 },
      ]);
      const image = join(dir, 'disk.img');
      await assembleDisk(image, layout, {});
      const before = readFileSync(image);
      const { coreSector, coreBytes } = installGrubBios(image, layout, core!);
      expect(coreSector).toBe(2048);
      const after = readFileSync(image);
      // the partition table (protective MBR entry, primary GPT header and entries) is what sfdisk wrote
      expect(after.subarray(0x1b8, 512 * 34)).toEqual(before.subarray(0x1b8, 512 * 34));
      expect(after.subarray(0, 0x1b8)).not.toEqual(before.subarray(0, 0x1b8));
      expect(after.readBigUInt64LE(BOOT_IMG.kernelSector)).toBe(2048n);
      // the core starts with GRUB's diskboot.img, its block list patched
      const diskboot = readFileSync(join(GRUB_I386_PC_DIR, 'diskboot.img'));
      expect(after.subarray(2048 * 512, 2048 * 512 + 488)).toEqual(diskboot.subarray(0, 488));
      expect(after.readUInt16LE(2048 * 512 + 508)).toBe(coreBytes / 512 - 1);
      expect(after.subarray(2048 * 512 + coreBytes, 4096 * 512)).toEqual(Buffer.alloc(4096 * 512 - 2048 * 512 - coreBytes));
      const dump = await run('sfdisk', ['-d', image]);
      expect(dump).toMatch(/start=\s*2048, size=\s*2048, type=21686148-6449-6E6F-744E-656564454649.*name="sosna-bios"/);
      expect(dump).toMatch(/name="sosna-boot"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
