// The smoke variant: Debian's kernel + an initramfs holding busybox, Node, the kernel modules it needs
// and the agent bundle, on the same GPT layout as the full image (FAT partition `sosna-boot`). It boots
// to a running agent in seconds under emulation, which is what CI needs; UEFI firmware boots it through
// a standalone GRUB (when grub-mkstandalone is on the build host).
import { spawn } from 'node:child_process';
import { existsSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BOOT_FS_LABEL, DEBIAN_ARCH } from '../image/layout.js';
import type { Arch } from '../image/layout.js';
import { biosBootParts } from './bios.js';
import { writeCpio } from './cpio.js';
import type { CpioEntry } from './cpio.js';
import { fetchDeb, resolveMeta } from './debian.js';
import { resolveKernelModules } from './kmod.js';
import { lddLibs, run, which } from './tools.js';
import type { BuildContext, BuiltParts } from './types.js';

/** Drivers for the boot disk, the network and the FAT boot partition: virtual machines and common PCs. */
export const SMOKE_MODULES = [
  'virtio_pci', 'virtio_blk', 'virtio_scsi', 'virtio_net', 'virtio_rng',
  'ahci', 'sd_mod', 'nvme', 'usb_storage', 'uas', 'xhci_pci', 'ehci_pci',
  'e1000', 'e1000e', 'igb', 'r8169',
  'vfat', 'nls_cp437', 'nls_ascii', 'nls_utf8',
];

const KERNEL_META: Record<Arch, string> = { x86_64: 'linux-image-amd64', arm64: 'linux-image-arm64' };

/** GRUB's embedded config: find the boot partition by its label, boot /vmlinuz with /initrd.img. */
export const grubConfig = (kernelArgs: string) => `set timeout=0
insmod part_gpt
insmod fat
search --no-floppy --label ${BOOT_FS_LABEL} --set=root
linux /vmlinuz ${kernelArgs}
initrd /initrd.img
boot
`;

/** A standalone GRUB for UEFI (BOOTX64.EFI) with the config embedded; null when the host lacks GRUB's EFI files. */
export async function makeGrubEfi(work: string, kernelArgs: string): Promise<string | null> {
  if (!which('grub-mkstandalone') || !existsSync('/usr/lib/grub/x86_64-efi')) return null;
  const cfg = join(work, 'grub.cfg');
  writeFileSync(cfg, grubConfig(kernelArgs));
  const efi = join(work, 'BOOTX64.EFI');
  await run('grub-mkstandalone', [
    '-O', 'x86_64-efi', '-o', efi, '--locales=', '--fonts=', '--themes=', '--modules=part_gpt fat',
    '--install-modules=part_gpt fat search search_label search_fs_uuid linux normal configfile echo test all_video gzio',
    `boot/grub/grub.cfg=${cfg}`,
  ]);
  return efi;
}

/** An initramfs tree being assembled: the base directories and device nodes; parents are added once, first. */
export function initramfsTree(extraDirs: string[] = []): {
  entries: CpioEntry[];
  dir: (path: string) => void;
  file: (name: string, e: Omit<CpioEntry, 'name' | 'kind'>) => void;
} {
  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  const dir = (p: string) => {
    const parts = p.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        entries.push({ name: d, kind: 'dir', mode: d === 'tmp' ? 0o1777 : 0o755 });
      }
    }
  };
  const file = (name: string, e: Omit<CpioEntry, 'name' | 'kind'>) => {
    dir(name.split('/').slice(0, -1).join('/'));
    entries.push({ name, kind: 'file', ...e });
  };
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'proc', 'sys', 'dev', 'run', 'tmp', 'boot', 'root', 'mnt', 'var/log', 'etc', 'lib/modules', ...extraDirs]) dir(d);
  entries.push({ name: 'dev/console', kind: 'chardev', mode: 0o600, major: 5, minor: 1 });
  entries.push({ name: 'dev/null', kind: 'chardev', mode: 0o666, major: 1, minor: 3 });
  return { entries, dir, file };
}

/** The smoke images' small /etc: root user and group, hosts, name service order, os-release. */
export function smokeEtc(file: (name: string, e: Omit<CpioEntry, 'name' | 'kind'>) => void, prettyName: string, agentVersion: string): void {
  file('etc/passwd', { mode: 0o644, data: Buffer.from('root:x:0:0:root:/root:/bin/sh\n') });
  file('etc/group', { mode: 0o644, data: Buffer.from('root:x:0:\n') });
  file('etc/hosts', { mode: 0o644, data: Buffer.from('127.0.0.1 localhost\n::1 localhost\n') });
  file('etc/nsswitch.conf', { mode: 0o644, data: Buffer.from('passwd: files\ngroup: files\nhosts: files dns\n') });
  file('etc/os-release', { mode: 0o644, data: Buffer.from(`NAME="sosna smoke"\nID=sosna\nVERSION_ID="${agentVersion}"\nPRETTY_NAME="${prettyName}"\n`) });
}

/** Streams the initramfs (cpio newc) through `zstd` into `file`; returns the uncompressed size. */
export async function writeInitramfs(entries: CpioEntry[], file: string): Promise<number> {
  const zstd = spawn('zstd', ['-q', '-T0', '-9', '-f', '-o', file], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  zstd.stderr.on('data', (d: Buffer) => (err += d));
  let raw = 0;
  const counter = zstd.stdin;
  const origWrite = counter.write.bind(counter);
  counter.write = ((chunk: Buffer, ...rest: never[]) => {
    raw += chunk.length;
    return origWrite(chunk, ...rest);
  }) as typeof counter.write;
  const done = new Promise<void>((resolve, reject) =>
    zstd.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`zstd failed (exit ${code}): ${err.trim()}`)))),
  );
  await writeCpio(entries, zstd.stdin);
  zstd.stdin.end();
  await done;
  return raw;
}

export async function buildSmokeParts(ctx: BuildContext): Promise<BuiltParts> {
  const { arch, work, progress } = ctx;
  if (arch !== 'x86_64') throw new Error(`the smoke variant is built for x86_64 (the CI machine); --arch ${arch} comes with the full variant`);

  progress('kernel: resolving Debian\'s kernel package');
  const kernelPkg = await resolveMeta(KERNEL_META[arch], /^linux-image-\d/);
  progress(`kernel: ${kernelPkg} (apt-get download + dpkg-deb -x; cached in ${ctx.cacheDir})`);
  const kernel = await fetchDeb(kernelPkg, ctx.cacheDir);
  const kver = kernelPkg.replace(/^linux-image-/, '');
  const vmlinuz = join(kernel.root, 'boot', `vmlinuz-${kver}`);
  const modulesDir = join(kernel.root, 'lib', 'modules', kver);
  if (!existsSync(vmlinuz)) throw new Error(`${kernel.deb} holds no boot/vmlinuz-${kver}`);
  const mods = resolveKernelModules(modulesDir, SMOKE_MODULES);
  if (mods.missing.length) progress(`kernel: no module for ${mods.missing.join(', ')} (skipped)`);

  progress('busybox: busybox-static');
  const busyboxPkg = await fetchDeb('busybox-static', ctx.cacheDir, DEBIAN_ARCH[arch] === 'amd64' ? undefined : DEBIAN_ARCH[arch]);
  const busybox = join(busyboxPkg.root, 'bin', 'busybox');
  const applets = (await run(busybox, ['--list-full'])).split('\n').map((s) => s.trim()).filter((s) => s && s !== 'bin/busybox' && !s.endsWith('/busybox'));

  const nodeBin = realpathSync(ctx.node ?? process.execPath);
  const nodeVersion = (await run(nodeBin, ['--version'])).trim();
  const libs = lddLibs(nodeBin);
  progress(`node: ${nodeVersion} from ${nodeBin} (${libs.length} shared libraries)`);
  const agentVersion = (await run(nodeBin, [ctx.agentBundle, '--version'])).trim();

  // the initramfs tree
  const { entries, dir, file } = initramfsTree();
  file('init', { mode: 0o755, source: join(ctx.osImageDir, 'smoke', 'init') });
  file('usr/share/udhcpc/default.script', { mode: 0o755, source: join(ctx.osImageDir, 'smoke', 'udhcpc.script') });
  file('bin/busybox', { mode: 0o755, source: busybox });
  for (const a of applets) {
    dir(a.split('/').slice(0, -1).join('/'));
    entries.push({ name: a, kind: 'symlink', mode: 0o777, target: '/bin/busybox' });
  }
  for (const m of mods.order) file(`lib/modules/${basename(m.file)}`, { mode: 0o644, source: join(modulesDir, m.file) });
  file('lib/modules/load-order', { mode: 0o644, data: Buffer.from(mods.order.map((m) => `${basename(m.file)}\n`).join('')) });
  file('usr/bin/node', { mode: 0o755, source: nodeBin });
  for (const lib of libs) file(lib.replace(/^\//, ''), { mode: 0o755, source: realpathSync(lib) });
  file('opt/sosna/sosna-agent.mjs', { mode: 0o644, source: ctx.agentBundle });
  smokeEtc(file, `sosna smoke image (agent ${agentVersion})`, agentVersion);

  const initrd = join(work, 'initrd.img');
  const raw = await writeInitramfs(entries, initrd);
  progress(`initramfs: ${mods.order.length} kernel modules, ${applets.length} busybox applets, ${mib(raw)} -> ${mib(statSync(initrd).size)} (zstd)`);

  // the boot partition's files
  const bootFiles: { from: string; to: string }[] = [
    { from: vmlinuz, to: '/vmlinuz' },
    { from: initrd, to: '/initrd.img' },
  ];
  const kernelArgs = 'console=tty0 console=ttyS0,115200 quiet';
  const efi = await makeGrubEfi(work, kernelArgs);
  if (efi) {
    bootFiles.push({ from: efi, to: '/EFI/BOOT/BOOTX64.EFI' });
    progress('UEFI: standalone GRUB as /EFI/BOOT/BOOTX64.EFI');
  } else progress('UEFI: grub-mkstandalone not found (apt-get install grub-common grub-efi-amd64-bin); the image boots with an external kernel only');
  const bios = await biosBootParts(work, grubConfig(kernelArgs));
  progress(bios ? 'BIOS: GRUB core image in the BIOS boot partition, GRUB boot.img in the MBR' : 'BIOS: grub-mkimage or grub-pc-bin missing (apt-get install grub-common grub-pc-bin); no legacy BIOS boot');

  return {
    bootFiles,
    partitions: bios ? [bios.partition] : [],
    ...(bios ? { finish: bios.finish } : {}),
    versions: {
      kernel: { package: kernelPkg, version: kernel.version, release: kver },
      node: { version: nodeVersion, source: nodeBin },
      agent: { version: agentVersion },
      busybox: { version: busyboxPkg.version },
    },
    kernelModules: mods.order.map((m) => m.name),
  };
}

export const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
