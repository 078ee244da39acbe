import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectBoard } from './board-detector.js';
import { identifyBoard, parseCompatible, parseNvTegraRelease } from './board-parser.js';
import { decodeRpiRevision } from './rpi-revision.js';

const BOARDS = fileURLToPath(new URL('./fixtures/boards/', import.meta.url));
const GiB = 1024 ** 3;

const detect = (dir: string, arch: 'arm64' | 'x86_64' | 'armv7' = 'arm64') => {
  const root = join(BOARDS, dir);
  return detectBoard({ fsRoot: root, procRoot: join(root, 'proc'), sysfsRoot: join(root, 'sys'), arch, readTimeoutMs: 1000 });
};

describe('decodeRpiRevision (new-style bit layout)', () => {
  it.each([
    ['c03114', { type: '4B', processor: 'BCM2711', manufacturer: 'Sony UK', memoryBytes: 4 * GiB, revision: '1.4' }],
    ['d04170', { type: '5', processor: 'BCM2712', manufacturer: 'Sony UK', memoryBytes: 8 * GiB, revision: '1.0' }],
    ['a02082', { type: '3B', processor: 'BCM2837', manufacturer: 'Sony UK', memoryBytes: 1 * GiB, revision: '1.2' }],
    ['a22082', { type: '3B', processor: 'BCM2837', manufacturer: 'Embest', memoryBytes: 1 * GiB, revision: '1.2' }],
    ['902120', { type: 'Zero 2 W', processor: 'BCM2837', memoryBytes: 512 * 1024 ** 2, revision: '1.0' }],
    ['e04171', { type: '5', processor: 'BCM2712', memoryBytes: 16 * GiB, revision: '1.1' }],
    ['b03115', { type: '4B', memoryBytes: 2 * GiB, revision: '1.5' }],
    ['d04190', { type: '500', memoryBytes: 8 * GiB }],
  ])('decodes %s', (code, expected) => {
    expect(decodeRpiRevision(code)).toMatchObject({ code, newStyle: true, ...expected });
  });

  it('ignores the warranty/overvoltage bits above bit 23', () => {
    expect(decodeRpiRevision('1a02082')).toMatchObject({ type: '3B', memoryBytes: 1 * GiB });
  });

  it('recognises old-style codes and rejects junk', () => {
    expect(decodeRpiRevision('000e')).toEqual({ code: '000e', newStyle: false });
    expect(decodeRpiRevision('not-hex')).toBeUndefined();
    expect(decodeRpiRevision('')).toBeUndefined();
  });
});

describe('board parsing', () => {
  it('splits device-tree compatible lists and reads nv_tegra_release', () => {
    expect(parseCompatible('raspberrypi,5-model-b\0brcm,bcm2712\0')).toEqual(['raspberrypi,5-model-b', 'brcm,bcm2712']);
    expect(parseNvTegraRelease('# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64, DATE: x')).toEqual({
      release: 'R35',
      revision: '4.1',
      board: 't186ref',
    });
    expect(parseNvTegraRelease('hello')).toBeUndefined();
  });

  it('returns no board for an unknown architecture', () => {
    expect(identifyBoard({ arch: 'other' })).toBeUndefined();
  });
});

describe('detectBoard on fixture roots', () => {
  it('identifies a Raspberry Pi 4 from device tree and revision code', async () => {
    expect(await detect('raspberry-pi-4')).toEqual({
      kind: 'raspberry-pi',
      model: 'Raspberry Pi 4 Model B Rev 1.4',
      revision: 'c03114',
      soc: 'BCM2711',
      memoryBytes: 4 * GiB,
      manufacturer: 'Sony UK',
    });
  });

  it('identifies a Raspberry Pi 5', async () => {
    expect(await detect('raspberry-pi-5')).toMatchObject({ kind: 'raspberry-pi', model: 'Raspberry Pi 5 Model B Rev 1.0', soc: 'BCM2712', memoryBytes: 8 * GiB });
  });

  it('identifies a Jetson Orin Nano from nv_tegra_release and device tree', async () => {
    expect(await detect('jetson-orin-nano')).toEqual({
      kind: 'jetson',
      model: 'NVIDIA Jetson Orin Nano Developer Kit',
      revision: 'L4T R36.4.0',
      soc: 'tegra234',
      memoryBytes: 7620268 * 1024,
      manufacturer: 'NVIDIA',
    });
  });

  it('falls back to a generic ARM board', async () => {
    expect(await detect('rk3588-generic')).toEqual({
      kind: 'generic-arm',
      model: 'Orange Pi 5',
      soc: 'rockchip,rk3588',
      memoryBytes: 16114876 * 1024,
      manufacturer: 'rockchip',
    });
  });

  it('reads DMI on x86, skipping vendor placeholders', async () => {
    expect(await detect('x86-mining-rig', 'x86_64')).toEqual({
      kind: 'x86',
      model: 'ASRock H110 Pro BTC+',
      revision: 'P1.60',
      manufacturer: 'ASRock',
      memoryBytes: 8046300 * 1024,
    });
  });

  it('still names an ARM board when nothing is readable', async () => {
    expect(await detect('does-not-exist', 'armv7')).toEqual({ kind: 'generic-arm', model: 'generic armv7 board' });
  });
});
