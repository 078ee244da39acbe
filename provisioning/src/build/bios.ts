// Legacy BIOS boot for the x86_64 images: GRUB for i386-pc, installed by hand (Debian's grub-pc-bin has no
// grub-bios-setup). GRUB's core image (`grub-mkimage -O i386-pc`: diskboot.img + the kernel + modules,
// with the same embedded config as the UEFI loader) goes into a 1 MiB BIOS boot partition (GPT type
// 21686148-...); GRUB's boot.img becomes the MBR's boot code, pointed at the core's first sector, and the
// core's first sector (diskboot) gets the block list of the rest. The protective MBR's partition table
// stays as sfdisk wrote it, so UEFI firmware still sees a GPT disk. Pure patching apart from the I/O at
// the end; what grub-bios-setup writes for an embedded core, and nothing else.
import { closeSync, existsSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BIOS_PARTITION_NAME, GPT_TYPE } from '../image/layout.js';
import { run, which } from './tools.js';
import type { DiskLayout, ExtraPartition } from './types.js';

export const GRUB_I386_PC_DIR = '/usr/lib/grub/i386-pc';
/** What the x86_64 boot loaders need on the build host (checked with the other tools, one apt-get line). */
export const X86_BOOT_TOOLS = ['grub-mkimage', 'grub-mkstandalone', `${GRUB_I386_PC_DIR}/boot.img`, '/usr/lib/grub/x86_64-efi/kernel.img'];
export const BIOS_PARTITION_BYTES = 2 ** 20;
const SECTOR = 512;

/** Offsets in GRUB's boot.img (include/grub/i386/pc/boot.h). */
export const BOOT_IMG = {
  /** The BIOS parameter block a FAT boot sector would have: kept from the disk's sector. */
  bpbStart: 0x03,
  bpbEnd: 0x5a,
  /** u64 LE: the LBA of the core image's first sector. */
  kernelSector: 0x5c,
  /** 0xff: use the drive the BIOS passes in DL. */
  bootDrive: 0x64,
  /** A 2-byte jmp that skips the "is DL a hard disk" check; nop'ed for hard disks (buggy BIOSes pass 0/1). */
  driveCheck: 0x66,
  /** Disk signature + partition table + 0x55aa: kept from the disk's sector (the protective MBR). */
  partStart: 0x1b8,
  partEnd: 0x200,
} as const;

/** The first block list entry at the end of diskboot.img: u64 start, u16 sectors, u16 segment. */
const BLOCKLIST_ENTRY = 12;
/** Where diskboot loads the rest of the core: the kernel segment 0x800 plus one sector. */
export const CORE_LOAD_SEGMENT = 0x820;
/** diskboot loads below 640 KiB in real mode: the core must stay well under that. */
export const MAX_CORE_BYTES = 480 * 1024;

/** The MBR: boot.img's code with the disk's BPB area and partition table, pointing at `coreSector`. */
export function patchBootSector(bootImg: Buffer, diskSector0: Buffer, coreSector: number): Buffer {
  if (bootImg.length !== SECTOR) throw new Error(`boot.img is ${bootImg.length} bytes, not ${SECTOR}`);
  if (diskSector0.length !== SECTOR) throw new Error(`the disk's first sector is ${diskSector0.length} bytes, not ${SECTOR}`);
  if (diskSector0.readUInt16LE(0x1fe) !== 0xaa55) throw new Error('the disk has no MBR signature (0x55aa): write the GPT (with its protective MBR) first');
  const mbr = Buffer.from(bootImg);
  diskSector0.copy(mbr, BOOT_IMG.bpbStart, BOOT_IMG.bpbStart, BOOT_IMG.bpbEnd);
  diskSector0.copy(mbr, BOOT_IMG.partStart, BOOT_IMG.partStart, BOOT_IMG.partEnd);
  mbr.writeBigUInt64LE(BigInt(coreSector), BOOT_IMG.kernelSector);
  mbr[BOOT_IMG.bootDrive] = 0xff;
  mbr[BOOT_IMG.driveCheck] = 0x90;
  mbr[BOOT_IMG.driveCheck + 1] = 0x90;
  return mbr;
}

/**
 * The core image with its block list filled in for a contiguous placement at `coreSector`: one entry
 * (the sectors after the first, loaded at 0x8200) and a zero terminator below it.
 */
export function patchCoreImage(core: Buffer, coreSector: number): Buffer {
  if (core.length < 2 * SECTOR) throw new Error(`the GRUB core image is only ${core.length} bytes: not a core.img`);
  if (core.length > MAX_CORE_BYTES) throw new Error(`the GRUB core image is ${core.length} bytes, more than diskboot can load (${MAX_CORE_BYTES})`);
  const sectors = Math.ceil(core.length / SECTOR);
  const out = Buffer.alloc(sectors * SECTOR);
  core.copy(out);
  const first = SECTOR - BLOCKLIST_ENTRY;
  out.writeBigUInt64LE(BigInt(coreSector + 1), first);
  out.writeUInt16LE(sectors - 1, first + 8);
  out.writeUInt16LE(CORE_LOAD_SEGMENT, first + 10);
  out.fill(0, first - BLOCKLIST_ENTRY, first); // terminator: len 0
  return out;
}

/** GRUB's i386-pc core image with `config` embedded (run by GRUB's rescue parser before anything else). */
export async function makeGrubBiosCore(work: string, config: string): Promise<string | null> {
  if (!which('grub-mkimage') || !existsSync(join(GRUB_I386_PC_DIR, 'boot.img'))) return null;
  const cfg = join(work, 'grub-bios.cfg');
  writeFileSync(cfg, config);
  const core = join(work, 'core.img');
  await run('grub-mkimage', [
    '-O', 'i386-pc', '-d', GRUB_I386_PC_DIR, '-o', core, '-c', cfg, '-p', '/boot/grub',
    'biosdisk', 'part_gpt', 'part_msdos', 'fat', 'search', 'search_label', 'linux', 'boot',
  ]);
  return core;
}

/** Writes the patched MBR and the core image into the BIOS boot partition of a finished disk image. */
export function installGrubBios(image: string, layout: DiskLayout, coreFile: string, bootImgFile = join(GRUB_I386_PC_DIR, 'boot.img')): { coreSector: number; coreBytes: number } {
  const part = layout.partitions.find((p) => p.name === BIOS_PARTITION_NAME);
  if (!part) throw new Error(`the layout has no partition "${BIOS_PARTITION_NAME}" for GRUB's core image`);
  const core = patchCoreImage(readFileSync(coreFile), part.startSector);
  if (core.length > part.sectors * SECTOR) throw new Error(`the GRUB core image (${core.length} bytes) does not fit the ${part.sectors * SECTOR}-byte partition "${BIOS_PARTITION_NAME}"`);
  const fd = openSync(image, 'r+');
  try {
    const sector0 = Buffer.alloc(SECTOR);
    if (readSync(fd, sector0, 0, SECTOR, 0) !== SECTOR) throw new Error(`${image}: shorter than one sector`);
    const mbr = patchBootSector(readFileSync(bootImgFile), sector0, part.startSector);
    writeSync(fd, core, 0, core.length, part.startSector * SECTOR);
    writeSync(fd, mbr, 0, SECTOR, 0);
  } finally {
    closeSync(fd);
  }
  return { coreSector: part.startSector, coreBytes: core.length };
}

/**
 * What an x86_64 variant adds for legacy BIOS boot: the BIOS boot partition (first on the disk) and the
 * step that installs GRUB once the disk is assembled; null when the host lacks grub-pc-bin.
 */
export async function biosBootParts(work: string, config: string): Promise<{ partition: ExtraPartition; finish: (image: string, layout: DiskLayout) => Promise<void> } | null> {
  const core = await makeGrubBiosCore(work, config);
  if (!core) return null;
  return {
    partition: { name: BIOS_PARTITION_NAME, type: GPT_TYPE.biosBoot, sizeBytes: BIOS_PARTITION_BYTES, first: true },
    finish: async (image, layout) => void installGrubBios(image, layout, core),
  };
}
