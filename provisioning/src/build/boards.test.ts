import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOARDS, BOARD_SPECS, boardFirmwareDir, nonFreeFirmwareApt, parseBoard } from './boards.js';
import { planPiBoot } from './arm64.js';

describe('--board', () => {
  it('accepts rpi4 and rpi3', () => {
    expect(BOARDS.map(parseBoard)).toEqual(['rpi4', 'rpi3']);
  });

  it('an unknown board stops with the flag, the value and the accepted boards', () => {
    expect(() => parseBoard('rpi5')).toThrow('--board "rpi5": unknown board; accepted: rpi4 (Raspberry Pi 4 / 400 / CM4), rpi3 (Raspberry Pi 3 (B, B+, A+))');
    expect(() => parseBoard('')).toThrow('--board "": unknown board');
  });

  it('apt for raspi-firmware: a private sources list, the host\'s apt untouched', () => {
    const apt = nonFreeFirmwareApt('/c');
    expect(apt.options).toEqual([
      '-o', 'Dir::Etc::SourceList=/c/apt-non-free-firmware/sources.list', '-o', 'Dir::Etc::SourceParts=/nonexistent',
      '-o', 'Dir::State::Lists=/c/apt-non-free-firmware/lists', '-o', 'Dir::Cache=/c/apt-non-free-firmware/cache',
    ]);
  });

  it('takes only the board\'s firmware files, and names one the package lacks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sosna-boards-'));
    try {
      const fw = join(dir, 'raspi-firmware');
      const work = join(dir, 'work');
      mkdirSync(fw);
      for (const f of ['bootcode.bin', 'start.elf', 'fixup.dat', 'start4.elf', 'fixup4.dat', 'start_x.elf']) writeFileSync(join(fw, f), f);
      const pi4 = boardFirmwareDir('rpi4', fw, work);
      expect(readdirSync(pi4).sort()).toEqual(['fixup4.dat', 'start4.elf']);
      expect(readFileSync(join(pi4, 'start4.elf'), 'utf8')).toBe('start4.elf');
      const pi3 = boardFirmwareDir('rpi3', fw, work);
      expect(readdirSync(pi3).sort()).toEqual(['bootcode.bin', 'fixup.dat', 'start.elf']);
      // what the Pi hook then plans for it: the firmware, the kernel's device trees, config.txt, cmdline.txt
      const plan = planPiBoot(readdirSync(pi3), BOARD_SPECS.rpi3.dtbs.map((d) => `/k/${d}`));
      expect(plan.copies.map((c) => c.to).sort()).toEqual(['/bcm2837-rpi-3-a-plus.dtb', '/bcm2837-rpi-3-b-plus.dtb', '/bcm2837-rpi-3-b.dtb', '/bootcode.bin', '/fixup.dat', '/start.elf']);
      expect(plan.generated.map((g) => g.to)).toEqual(['/config.txt', '/cmdline.txt']);
      rmSync(join(fw, 'fixup4.dat'));
      expect(() => boardFirmwareDir('rpi4', fw, join(dir, 'w2'))).toThrow(`raspi-firmware has no fixup4.dat (needed by --board rpi4) in ${fw}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
