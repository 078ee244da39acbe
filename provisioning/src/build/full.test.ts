import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT_TYPE } from '../image/layout.js';
import { dockerDaemonConfig, writeDockerDaemonConfig } from './docker-daemon.js';
import { debootstrapArgs, FULL_ARCH, FULL_MIRROR, FULL_PACKAGES, FULL_SUITE, fullKernelArgs, fullPackages, rootfsCacheName } from './full.js';

describe('the full image per architecture', () => {
  it('installs the same packages on both, with the arch\'s kernel after kmod', () => {
    const x86 = fullPackages('x86_64');
    const arm = fullPackages('arm64');
    expect(x86).toContain('linux-image-amd64');
    expect(x86).not.toContain('linux-image-arm64');
    expect(arm).toContain('linux-image-arm64');
    expect(arm).not.toContain('linux-image-amd64');
    expect(arm.filter((p) => !p.startsWith('linux-image-'))).toEqual(x86.filter((p) => !p.startsWith('linux-image-')));
    for (const p of ['docker.io', 'apparmor', 'systemd', 'initramfs-tools', 'wpasupplicant']) expect(arm).toContain(p);
    expect(x86[x86.indexOf('kmod') + 1]).toBe('linux-image-amd64');
    expect(FULL_PACKAGES).toEqual(x86);
  });

  it('boots the root by PARTUUID with the arch\'s serial console last (the one systemd and the agent log to)', () => {
    const uuid = 'B5E0C8A4-1111-4222-8333-944455556666';
    expect(fullKernelArgs('x86_64', uuid)).toBe(`root=PARTUUID=${uuid.toLowerCase()} rw console=tty0 console=ttyS0,115200 quiet`);
    expect(fullKernelArgs('arm64', uuid)).toBe(`root=PARTUUID=${uuid.toLowerCase()} rw console=tty0 console=ttyAMA0,115200 quiet`);
    expect(fullKernelArgs('arm64', uuid, 'ttyS1,115200')).toMatch(/console=ttyS1,115200 quiet$/);
  });

  it('has the arch\'s root partition type, UEFI loader and BIOS boot only on x86_64', () => {
    expect(FULL_ARCH.x86_64).toMatchObject({ rootType: GPT_TYPE.linuxRoot.x86_64, efiPath: '/EFI/BOOT/BOOTX64.EFI', bios: true, foreign: false });
    expect(FULL_ARCH.arm64).toMatchObject({ rootType: GPT_TYPE.linuxRoot.arm64, efiPath: '/EFI/BOOT/BOOTAA64.EFI', bios: false, foreign: true });
  });

  it('caches the debootstrapped root per arch, keyed by suite, mirror and packages (x86_64\'s key unchanged)', () => {
    const x86 = rootfsCacheName('x86_64');
    const arm = rootfsCacheName('arm64');
    expect(x86).toMatch(/^rootfs-bookworm-amd64-[0-9a-f]{12}\.tar\.zst$/);
    expect(arm).toMatch(/^rootfs-bookworm-arm64-[0-9a-f]{12}\.tar\.zst$/);
    expect(arm.slice(-20)).not.toBe(x86.slice(-20));
    // the key x86_64 builds used before arm64 existed: the cached x86_64 root stays valid
    expect(x86).toBe('rootfs-bookworm-amd64-8337f7c0bc56.tar.zst');
    expect(rootfsCacheName('arm64', [...fullPackages('arm64'), 'htop'])).not.toBe(arm);
  });

  it('runs debootstrap natively on x86_64 and as a foreign first stage for arm64', () => {
    expect(debootstrapArgs('x86_64', '/w/rootfs', '/c')).toEqual(['--variant=minbase', '--cache-dir=/c', `--include=${fullPackages('x86_64').join(',')}`, FULL_SUITE, '/w/rootfs', FULL_MIRROR]);
    expect(debootstrapArgs('arm64', '/w/rootfs', '/c')).toEqual(['--foreign', '--arch=arm64', '--variant=minbase', '--cache-dir=/c', `--include=${fullPackages('arm64').join(',')}`, FULL_SUITE, '/w/rootfs', FULL_MIRROR]);
  });

  it('configures the image\'s Docker Engine for hostile jobs: user namespaces and no new privileges', () => {
    expect(dockerDaemonConfig()).toEqual({ 'userns-remap': 'default', 'no-new-privileges': true });
    const rootfs = mkdtempSync(join(tmpdir(), 'sosna-daemon-json-'));
    try {
      const file = writeDockerDaemonConfig(rootfs);
      expect(file).toBe(join(rootfs, 'etc/docker/daemon.json'));
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(dockerDaemonConfig());
    } finally {
      rmSync(rootfs, { recursive: true, force: true });
    }
  });
});
