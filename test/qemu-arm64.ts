// Boots an arm64 disk image in qemu-system-aarch64 for tests: the `virt` machine, a Cortex-A57 under TCG
// (no arm64 hardware here), UEFI firmware AAVMF from Debian's qemu-efi-aarch64 package (which boots the
// image's /EFI/BOOT/BOOTAA64.EFI), user networking (the host's loopback is 10.0.2.2 for the guest). The
// serial console is captured; qemu is ended by its pid. Same Guest interface as qemu.ts.
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { runGuest } from './qemu.js';
import type { Guest } from './qemu.js';

export const AAVMF = { code: '/usr/share/AAVMF/AAVMF_CODE.fd', vars: '/usr/share/AAVMF/AAVMF_VARS.fd' } as const;
export const QEMU_AARCH64 = '/usr/bin/qemu-system-aarch64';

/** What is missing to boot arm64 images here, with the command that installs it; null when nothing is. */
export function arm64QemuMissing(): string | null {
  const missing = [
    ...(existsSync(QEMU_AARCH64) ? [] : ['qemu-system-arm']),
    ...(existsSync(AAVMF.code) && existsSync(AAVMF.vars) ? [] : ['qemu-efi-aarch64']),
  ];
  return missing.length ? `${missing.join(', ')} missing: bash scripts/test-deps/image.sh (apt-get install -y --no-install-recommends ${missing.join(' ')})` : null;
}

export function bootArm64Image(image: string, scratch: string, opts: { memoryMiB?: number; cpu?: string } = {}): Guest {
  const problem = arm64QemuMissing();
  if (problem) throw new Error(problem);
  const vars = join(scratch, `AAVMF_VARS-${Date.now()}.fd`);
  copyFileSync(AAVMF.vars, vars);
  const args = [
    '-M', 'virt', '-cpu', opts.cpu ?? 'cortex-a57', '-accel', 'tcg', '-smp', '2', '-m', String(opts.memoryMiB ?? 1024),
    '-nographic', '-no-reboot', '-monitor', 'none', '-serial', 'stdio',
    '-drive', `if=pflash,format=raw,readonly=on,file=${AAVMF.code}`,
    '-drive', `if=pflash,format=raw,file=${vars}`,
    '-drive', `file=${image},format=raw,if=virtio`,
    '-nic', 'user,model=virtio-net-pci',
  ];
  return runGuest(QEMU_AARCH64, args);
}

/**
 * A kernel, device tree and initrd under qemu's Raspberry Pi 3 machine (`-M raspi3b`: BCM2837, 4 Cortex-A53,
 * exactly 1 GiB). qemu does not run the Pi's GPU firmware (bootcode.bin, start.elf): it loads the kernel and
 * the device tree itself, as the firmware would after reading config.txt. The console is the second serial
 * port, the mini UART (`ttyS1`, what cmdline.txt names); the first (PL011) is the Bluetooth UART on a Pi 3.
 */
export function bootRaspi3b(files: { kernel: string; dtb: string; initrd?: string; sd?: string }, append: string): Guest {
  if (!existsSync(QEMU_AARCH64)) throw new Error('qemu-system-aarch64 missing: bash scripts/test-deps/image.sh (apt-get install -y --no-install-recommends qemu-system-arm)');
  const args = [
    '-M', 'raspi3b', '-m', '1G', '-display', 'none', '-no-reboot', '-monitor', 'none', '-serial', 'null', '-serial', 'stdio',
    '-kernel', files.kernel, '-dtb', files.dtb, ...(files.initrd ? ['-initrd', files.initrd] : []), ...(files.sd ? ['-drive', `file=${files.sd},if=sd,format=raw`] : []), '-append', append,
  ];
  return runGuest(QEMU_AARCH64, args);
}
