// `sosna image build --board rpi4|rpi3`: the Raspberry Pi's boot firmware from Debian's `raspi-firmware`
// (component non-free-firmware, which the build enables for its own downloads only: a private apt
// sources list and lists folder in the cache, the host's apt configuration untouched), the board's
// firmware files put in a folder that the existing Pi hook (`piBootFiles`, as `--firmware-dir`) lays out
// on the boot partition with the kernel's device trees, config.txt and cmdline.txt.
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetchDeb } from './debian.js';
import { run } from './tools.js';

export const BOARDS = ['rpi4', 'rpi3'] as const;
export type Board = (typeof BOARDS)[number];

export interface BoardSpec {
  title: string;
  /** Files of raspi-firmware's /usr/lib/raspi-firmware/ that this board's boot ROM/bootloader loads. */
  firmware: string[];
  /** The device trees (Debian kernel names) the firmware picks for this board's models. */
  dtbs: string[];
  /** What a real board needs that the build does not give (said in the build output and the README). */
  caveat?: string;
}

export const BOARD_SPECS: Record<Board, BoardSpec> = {
  rpi4: {
    title: 'Raspberry Pi 4 / 400 / CM4',
    // the Pi 4's bootloader is in its EEPROM (reads GPT); it loads start4.elf + fixup4.dat from the FAT
    firmware: ['start4.elf', 'fixup4.dat'],
    dtbs: ['bcm2711-rpi-4-b.dtb', 'bcm2711-rpi-400.dtb', 'bcm2711-rpi-cm4-io.dtb'],
  },
  rpi3: {
    title: 'Raspberry Pi 3 (B, B+, A+)',
    // the Pi 3's ROM loads bootcode.bin, which loads start.elf + fixup.dat
    firmware: ['bootcode.bin', 'start.elf', 'fixup.dat'],
    dtbs: ['bcm2837-rpi-3-b.dtb', 'bcm2837-rpi-3-b-plus.dtb', 'bcm2837-rpi-3-a-plus.dtb'],
    caveat: "the Pi 3's boot ROM reads MBR partition tables only and this image is GPT: a real Pi 3 needs a hybrid MBR, which the build does not write",
  },
};

/** The board named by --board, or an error naming the flag, the value and the accepted boards. */
export function parseBoard(value: string): Board {
  if ((BOARDS as readonly string[]).includes(value)) return value as Board;
  throw new Error(`--board ${JSON.stringify(value)}: unknown board; accepted: ${BOARDS.map((b) => `${b} (${BOARD_SPECS[b].title})`).join(', ')}`);
}

export const NON_FREE_FIRMWARE_SOURCE = 'deb http://deb.debian.org/debian bookworm non-free-firmware';

/** apt options for a private sources list with only non-free-firmware, lists kept in the cache folder. */
export function nonFreeFirmwareApt(cacheDir: string): { dir: string; options: string[] } {
  const dir = join(cacheDir, 'apt-non-free-firmware');
  return {
    dir,
    options: [
      '-o', `Dir::Etc::SourceList=${join(dir, 'sources.list')}`, '-o', 'Dir::Etc::SourceParts=/nonexistent',
      '-o', `Dir::State::Lists=${join(dir, 'lists')}`, '-o', `Dir::Cache=${join(dir, 'cache')}`,
    ],
  };
}

/** Downloads (once) and unpacks raspi-firmware; returns its firmware folder and version. */
export async function fetchRaspiFirmware(cacheDir: string, progress: (l: string) => void = () => undefined): Promise<{ dir: string; version: string }> {
  const apt = nonFreeFirmwareApt(cacheDir);
  mkdirSync(join(apt.dir, 'lists', 'partial'), { recursive: true });
  mkdirSync(join(apt.dir, 'cache', 'archives', 'partial'), { recursive: true });
  writeFileSync(join(apt.dir, 'sources.list'), `${NON_FREE_FIRMWARE_SOURCE}\n`);
  if (!readdirSync(join(apt.dir, 'lists')).some((f) => f.includes('non-free-firmware') && f.endsWith('Packages'))) {
    progress(`raspi-firmware: apt-get update for ${NON_FREE_FIRMWARE_SOURCE} (a private sources list in ${apt.dir}; the host's apt is untouched)`);
    await run('apt-get', [...apt.options, '-q', 'update']);
  }
  const pkg = await fetchDeb('raspi-firmware', cacheDir, undefined, apt.options);
  const dir = join(pkg.root, 'usr', 'lib', 'raspi-firmware');
  if (!existsSync(dir)) throw new Error(`${pkg.deb} holds no usr/lib/raspi-firmware/`);
  return { dir, version: pkg.version };
}

/** A folder with exactly the board's firmware files (for the Pi hook); throws naming a file the package lacks. */
export function boardFirmwareDir(board: Board, raspiDir: string, work: string): string {
  const out = join(work, `firmware-${board}`);
  mkdirSync(out, { recursive: true });
  for (const f of BOARD_SPECS[board].firmware) {
    if (!existsSync(join(raspiDir, f))) throw new Error(`raspi-firmware has no ${f} (needed by --board ${board}) in ${raspiDir}`);
    copyFileSync(join(raspiDir, f), join(out, f));
  }
  return out;
}
