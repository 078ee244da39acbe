// `sosna image build --arch arm64 --board rpi4|rpi3`: the boot partition the Raspberry Pi firmware reads,
// checked file by file (the board's firmware byte for byte against Debian's raspi-firmware package, the
// device trees against the kernel package, config.txt and cmdline.txt line by line, nothing of the other
// board), the same `image configure` path as every image, and the rpi3 image's kernel + device tree +
// initramfs, taken from its boot partition, booted under qemu's Raspberry Pi 3 machine (`-M raspi3b`; qemu
// does not run the GPU firmware and has no Pi 4 machine in Debian 12's 7.2) until the kernel names the
// board and runs the image's /init. No real Pi here: see os-image/README.md "Raspberry Pi boards".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, requireBuild, writeJson } from './procs.js';
import { tempDir } from './helpers.js';
import { bootRaspi3b } from './qemu-arm64.js';
import type { Guest } from './qemu.js';
import { BOARD_SPECS } from '../provisioning/src/build/boards.js';
import type { Board } from '../provisioning/src/build/boards.js';

const tmp = tempDir('sosna-image-rpi-');
const outDir = join(tmp.dir, 'images');
const cacheDir = join(tmpdir(), 'sosna-image-cache');
const MTOOLS = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
let guest: Guest | undefined;

type Manifest = { name: string; versions: Record<string, Record<string, string>>; layout: { name: string; offset: number; size: number }[]; image: { file: string; size: number }; compressed: { file: string; size: number } };
const built: Partial<Record<Board, { image: string; manifest: Manifest; seconds: number }>> = {};

/** Every file on the image's boot partition (mtools, no mount), lower-case paths as mdir lists them. */
function bootFiles(image: string, offset: number): string[] {
  const r = spawnSync('mdir', ['-/', '-b', '-i', `${image}@@${offset}`, '::/'], { encoding: 'utf8', env: MTOOLS });
  if (r.status !== 0) throw new Error(`mdir: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l && !l.endsWith('/')).map((l) => l.replace(/^::/, '').toLowerCase()).sort();
}
function bootFile(image: string, offset: number, path: string): Buffer {
  const r = spawnSync('mtype', ['-i', `${image}@@${offset}`, `::${path}`], { env: MTOOLS, maxBuffer: 512 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`mtype ${path}: ${r.stderr.toString()}`);
  return r.stdout;
}
function extract(image: string, offset: number, path: string, to: string): string {
  const r = spawnSync('mcopy', ['-n', '-i', `${image}@@${offset}`, `::${path}`, to], { encoding: 'utf8', env: MTOOLS });
  if (r.status !== 0) throw new Error(`mcopy ${path}: ${r.stderr}`);
  return to;
}
/** A Debian package's files, unpacked afresh from its .deb in the cache (not the build's unpacked copy). */
function debFiles(prefix: string, arch: string): string {
  const debs = join(cacheDir, 'debs');
  const deb = readdirSync(debs).find((f) => f.startsWith(prefix) && f.endsWith(`_${arch}.deb`));
  if (!deb) throw new Error(`no ${prefix}*_${arch}.deb in ${debs}`);
  const dir = join(tmp.dir, `deb-${deb}`);
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('dpkg-deb', ['-x', join(debs, deb), dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dpkg-deb -x ${deb}: ${r.stderr}`);
  return dir;
}

beforeAll(async () => {
  requireBuild();
  for (const board of ['rpi4', 'rpi3'] as const) {
    const t0 = Date.now();
    const r = await cli(['image', 'build', '--arch', 'arm64', '--board', board, '--out', outDir, '--cache-dir', cacheDir, '--compress-level', '3'], { timeoutMs: 600_000 });
    expect(r.code, r.output).toBe(0);
    const manifest = JSON.parse(readFileSync(join(outDir, `sosna-smoke-arm64-${board}.manifest.json`), 'utf8')) as Manifest;
    built[board] = { image: join(outDir, manifest.image.file), manifest, seconds: (Date.now() - t0) / 1000 };
    if (board === 'rpi3') expect(r.output).toContain("note: the Pi 3's boot ROM reads MBR partition tables only");
  }
}, 1_300_000);

afterAll(async () => {
  await guest?.stop();
  tmp.cleanup();
});

describe('sosna image build --board: the boot partition the Pi firmware reads', () => {
  for (const board of ['rpi4', 'rpi3'] as const) {
    it(`${board}: firmware, device trees, config.txt, cmdline.txt, kernel, initrd and /sosna/, file by file`, async () => {
      const { image, manifest, seconds } = built[board]!;
      const boot = manifest.layout.find((p) => p.name === 'sosna-boot')!;
      expect(boot).toBeDefined();
      // the boot partition is the disk's first (no BIOS boot partition on arm64): where the firmware looks
      expect(manifest.layout[0]!.name).toBe('sosna-boot');
      expect(manifest.versions['raspi-firmware']).toMatchObject({ board, package: 'raspi-firmware' });
      const files = bootFiles(image, boot.offset);
      const spec = BOARD_SPECS[board];
      const other = BOARD_SPECS[board === 'rpi4' ? 'rpi3' : 'rpi4'];
      const raspi = join(debFiles('raspi-firmware_', 'all'), 'usr', 'lib', 'raspi-firmware');
      for (const f of spec.firmware) {
        expect(files, f).toContain(`/${f}`);
        expect(bootFile(image, boot.offset, `/${f}`).equals(readFileSync(join(raspi, f))), `${f} as in raspi-firmware`).toBe(true);
      }
      for (const f of other.firmware) expect(files, `${f} is the other board's`).not.toContain(`/${f}`);
      const release = manifest.versions.kernel!.release!;
      const kernelPkg = debFiles(`linux-image-${release}_`, 'arm64');
      for (const dtb of spec.dtbs) {
        expect(files, dtb).toContain(`/${dtb}`);
        expect(bootFile(image, boot.offset, `/${dtb}`).equals(readFileSync(join(kernelPkg, 'usr', 'lib', `linux-image-${release}`, 'broadcom', dtb))), `${dtb} as in the kernel package`).toBe(true);
      }
      expect(bootFile(image, boot.offset, '/vmlinuz').equals(readFileSync(join(kernelPkg, 'boot', `vmlinuz-${release}`)))).toBe(true);
      const config = bootFile(image, boot.offset, '/config.txt').toString('utf8').split('\n').filter((l) => l && !l.startsWith('#'));
      expect(config).toEqual(['arm_64bit=1', 'enable_uart=1', 'upstream_kernel=1', 'kernel=vmlinuz', 'initramfs initrd.img followkernel', 'cmdline=cmdline.txt']);
      expect(bootFile(image, boot.offset, '/cmdline.txt').toString('utf8')).toBe('console=tty0 console=ttyS1,115200 quiet\n');
      for (const f of ['/initrd.img', '/efi/boot/bootaa64.efi', '/sosna/image.json', '/sosna/readme.txt']) expect(files, f).toContain(f);
      console.log(`${board} image: built in ${seconds.toFixed(1)} s; ${(manifest.image.size / 2 ** 20).toFixed(0)} MiB raw, ${(manifest.compressed.size / 2 ** 20).toFixed(1)} MiB zstd -3; boot partition: ${files.join(' ')}`);
    }, 120_000);
  }

  it('the same image configure path: the device config lands beside the firmware and reads back', async () => {
    const { image } = built.rpi4!;
    const config = writeJson(join(tmp.dir, 'device.json'), { hub: { url: 'mqtt://10.0.2.2:1883' }, provisioningKey: 'k.s', name: 'pi4' });
    const r = await cli(['image', 'configure', image, '--config', config]);
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toMatch(/read back identical/);
    const boot = built.rpi4!.manifest.layout.find((p) => p.name === 'sosna-boot')!;
    expect(JSON.parse(bootFile(image, boot.offset, '/sosna/config.json').toString('utf8'))).toMatchObject({ name: 'pi4' });
    expect(bootFiles(image, boot.offset)).toContain('/start4.elf');
  }, 60_000);

  it('rpi3: its kernel and device tree boot under qemu -M raspi3b into the image\'s initramfs', async () => {
    const { image, manifest } = built.rpi3!;
    const boot = manifest.layout.find((p) => p.name === 'sosna-boot')!;
    const dir = join(tmp.dir, 'raspi3b');
    mkdirSync(dir, { recursive: true });
    const kernel = extract(image, boot.offset, '/vmlinuz', join(dir, 'vmlinuz'));
    const dtb = extract(image, boot.offset, '/bcm2837-rpi-3-b.dtb', join(dir, 'bcm2837-rpi-3-b.dtb'));
    const initrd = extract(image, boot.offset, '/initrd.img', join(dir, 'initrd.img'));
    // the image's cmdline.txt, without quiet and with earlycon: the messages before the UART driver binds
    const cmdline = bootFile(image, boot.offset, '/cmdline.txt').toString('utf8').trim().replace(/\s*\bquiet\b/, '');
    // the image itself as the SD card (qemu wants a power-of-two size: a copy grown to 512 MiB)
    const sd = join(dir, 'sd.img');
    expect(spawnSync('cp', ['--sparse=always', image, sd]).status).toBe(0);
    expect(spawnSync('truncate', ['-s', '512M', sd]).status).toBe(0);
    guest = bootRaspi3b({ kernel, dtb, initrd, sd }, `${cmdline} earlycon`);
    const model = await guest.waitFor(/Machine model: Raspberry Pi 3 Model B/);
    await guest.waitFor(/Kernel command line: console=tty0 console=ttyS1,115200 earlycon/);
    const init = await guest.waitFor(/Run \/init as init process/);
    // the image's init, on the Pi's console (the mini UART), finds its boot partition on the SD card
    await guest.waitFor(/sosna-init: boot partition \/dev\/mmcblk0p1 mounted on \/boot/);
    console.log(`raspi3b (qemu ${spawnSync('qemu-system-aarch64', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]}): model line ${(model / 1000).toFixed(1)} s, /init ${(init / 1000).toFixed(1)} s after start`);
  }, 600_000);
});
