// The full variant (x86_64): Debian bookworm minbase by debootstrap with systemd, Debian's kernel and
// initramfs, Docker Engine for jobs, Node and the agent as a systemd service; journald keeps logs in RAM.
// The root (ext4, built from the folder by mkfs.ext4 -d, no mount) is the same on every device; the
// kernel, initrd, GRUB and everything per device are on the FAT boot partition, mounted on /boot.
import { createHash, randomUUID } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GPT_TYPE, ROOT_PARTITION_NAME } from '../image/layout.js';
import { biosBootParts } from './bios.js';
import { grubConfig, makeGrubEfi, mib } from './smoke.js';
import { run, requireTools } from './tools.js';
import type { BuildContext, BuiltParts } from './types.js';

export const FULL_SUITE = 'bookworm';
export const FULL_MIRROR = 'http://deb.debian.org/debian';
/** Packages on top of minbase (debootstrap resolves their dependencies). */
export const FULL_PACKAGES = [
  'systemd', 'systemd-sysv', 'udev', 'dbus', 'kmod', 'linux-image-amd64', 'initramfs-tools', 'zstd',
  'iproute2', 'iputils-ping', 'ca-certificates', 'wpasupplicant', 'docker.io', 'libstdc++6',
  'systemd-timesyncd', 'dosfstools',
  // Debian's kernel has AppArmor on: without apparmor_parser Docker cannot load its docker-default profile
  // and refuses to start any container (a Recommends of docker.io, which debootstrap does not install)
  'apparmor',
];

async function du(dir: string): Promise<number> {
  const out = await run('du', ['-sb', dir]);
  return Number(out.split(/\s/)[0]);
}

/** debootstrap into `rootfs`, or unpack the cached result of an identical earlier run. */
async function debootstrap(ctx: BuildContext, rootfs: string): Promise<void> {
  const key = createHash('sha256').update(JSON.stringify([FULL_SUITE, FULL_MIRROR, FULL_PACKAGES])).digest('hex').slice(0, 12);
  const cached = join(ctx.cacheDir, `rootfs-${FULL_SUITE}-amd64-${key}.tar.zst`);
  mkdirSync(rootfs, { recursive: true });
  if (existsSync(cached)) {
    ctx.progress(`rootfs: from the cache (${cached})`);
    await run('tar', ['--zstd', '-xpf', cached, '-C', rootfs, '--numeric-owner']);
    return;
  }
  const debs = join(ctx.cacheDir, 'debootstrap-debs');
  mkdirSync(debs, { recursive: true });
  ctx.progress(`rootfs: debootstrap ${FULL_SUITE} minbase + ${FULL_PACKAGES.length} packages (a few minutes; downloads kept in ${debs})`);
  try {
    await run('debootstrap', ['--variant=minbase', `--cache-dir=${debs}`, `--include=${FULL_PACKAGES.join(',')}`, FULL_SUITE, rootfs, FULL_MIRROR]);
  } finally {
    // debootstrap leaves /proc (and sometimes /sys) of the rootfs mounted
    for (const m of ['proc', 'sys', 'dev/pts']) await run('umount', ['-l', join(rootfs, m)]).catch(() => undefined);
  }
  ctx.progress('rootfs: caching the result for the next build');
  // written beside and renamed: a build that starts meanwhile never unpacks a half-written cache
  const partial = `${cached}.partial-${process.pid}`;
  await run('tar', ['--zstd', '-cpf', partial, '-C', rootfs, '--numeric-owner', '.']);
  renameSync(partial, cached);
}

export async function buildFullParts(ctx: BuildContext): Promise<BuiltParts> {
  if (ctx.arch !== 'x86_64') throw new Error(`--variant full --arch ${ctx.arch} is not built yet (see os-image/README.md: arm64)`);
  if (process.getuid?.() !== 0) throw new Error('the full variant runs debootstrap, which needs root: run sosna image build with sudo');
  requireTools(['debootstrap', 'mkfs.ext4', 'tar', 'du', 'umount']);
  const rootfs = join(ctx.work, 'rootfs');
  await debootstrap(ctx, rootfs);

  // the kernel and the initrd that the kernel package's postinst made, for the boot partition
  const boot = join(rootfs, 'boot');
  const kernel = readdirSync(boot).filter((f) => /^vmlinuz-/.test(f)).sort().pop();
  if (!kernel) throw new Error('the rootfs has no /boot/vmlinuz-*: did linux-image-amd64 install?');
  const release = kernel.replace(/^vmlinuz-/, '');
  const initrd = join(boot, `initrd.img-${release}`);
  if (!existsSync(initrd)) throw new Error(`the rootfs has no /boot/initrd.img-${release}: initramfs-tools did not run`);
  const vmlinuzOut = join(ctx.work, 'vmlinuz');
  const initrdOut = join(ctx.work, 'initrd.img');
  copyFileSync(join(boot, kernel), vmlinuzOut);
  copyFileSync(initrd, initrdOut);
  // /boot becomes the FAT partition's mount point
  for (const f of readdirSync(boot)) rmSync(join(boot, f), { recursive: true, force: true });

  ctx.progress('rootfs: sosna overlay (agent service, networkd DHCP, journald in RAM, fstab), Node, the agent');
  cpSync(join(ctx.osImageDir, 'full', 'overlay'), rootfs, { recursive: true, verbatimSymlinks: true, force: true });
  const nodeBin = realpathSync(ctx.node ?? process.execPath);
  mkdirSync(join(rootfs, 'usr/local/bin'), { recursive: true });
  copyFileSync(nodeBin, join(rootfs, 'usr/local/bin/node'));
  chmodSync(join(rootfs, 'usr/local/bin/node'), 0o755);
  mkdirSync(join(rootfs, 'opt/sosna'), { recursive: true });
  copyFileSync(ctx.agentBundle, join(rootfs, 'opt/sosna/sosna-agent.mjs'));
  chmodSync(join(rootfs, 'opt/sosna/sosna-agent.mjs'), 0o755); // the service executes it (its first line has the node flags)
  writeFileSync(join(rootfs, 'etc/machine-id'), ''); // systemd makes one per device on first boot
  rmSync(join(rootfs, 'var/lib/dbus/machine-id'), { force: true });
  rmSync(join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
  mkdirSync(join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });

  const nodeVersion = (await run(nodeBin, ['--version'])).trim();
  const agentVersion = (await run(nodeBin, [ctx.agentBundle, '--version'])).trim();
  const dockerVersion = readFileSync(join(rootfs, 'var/lib/dpkg/status'), 'utf8').split('\n\n').find((b) => b.startsWith('Package: docker.io\n'))?.match(/^Version: (.+)$/m)?.[1] ?? 'unknown';

  // the root filesystem image: used size + 30% + 512 MiB for container images
  const used = await du(rootfs);
  const rootSize = Math.ceil((used * 1.3 + 512 * 2 ** 20) / 2 ** 20) * 2 ** 20;
  const rootImg = join(ctx.work, 'root.ext4');
  ctx.progress(`root filesystem: ext4 "${ROOT_PARTITION_NAME}", ${mib(used)} used, ${mib(rootSize)} (mkfs.ext4 -d, no mount)`);
  await run('mkfs.ext4', ['-q', '-F', '-L', ROOT_PARTITION_NAME, '-d', rootfs, rootImg, `${Math.floor(rootSize / 1024)}k`]);
  const rootUuid = randomUUID().toUpperCase();

  const bootFiles = [{ from: vmlinuzOut, to: '/vmlinuz' }, { from: initrdOut, to: '/initrd.img' }];
  const kernelArgs = `root=PARTUUID=${rootUuid.toLowerCase()} rw console=tty0 console=ttyS0,115200 quiet`;
  const efi = await makeGrubEfi(ctx.work, kernelArgs);
  if (efi) bootFiles.push({ from: efi, to: '/EFI/BOOT/BOOTX64.EFI' });
  const bios = await biosBootParts(ctx.work, grubConfig(kernelArgs));
  ctx.progress(`kernel ${release}, initrd ${mib(statSync(initrdOut).size)}; UEFI ${efi ? 'GRUB' : 'loader missing (grub-efi-amd64-bin)'}; BIOS ${bios ? 'GRUB (BIOS boot partition + MBR)' : 'loader missing (grub-pc-bin)'}`);
  return {
    bootFiles,
    partitions: [
      ...(bios ? [bios.partition] : []),
      { name: ROOT_PARTITION_NAME, type: GPT_TYPE.linuxRoot.x86_64, file: rootImg, sizeBytes: rootSize, uuid: rootUuid },
    ],
    ...(bios ? { finish: bios.finish } : {}),
    versions: {
      kernel: { package: 'linux-image-amd64', version: release, release },
      debian: { version: FULL_SUITE },
      docker: { version: dockerVersion },
      node: { version: nodeVersion, source: nodeBin },
      agent: { version: agentVersion },
    },
  };
}
