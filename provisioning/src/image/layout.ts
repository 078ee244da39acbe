// The sosna disk layout, shared by the image build, `sosna image configure` and the device's init:
// a GPT disk whose FAT boot partition is named `sosna-boot` (filesystem label SOSNA-BOOT) and holds the
// kernel, the initrd and everything per-device under /sosna/. The root (full variant) is never written
// per device.
export const BOOT_PARTITION_NAME = 'sosna-boot';
export const BOOT_FS_LABEL = 'SOSNA-BOOT';
export const ROOT_PARTITION_NAME = 'sosna-root';
export const BIOS_PARTITION_NAME = 'sosna-bios';

/** GPT partition type GUIDs. */
export const GPT_TYPE = {
  efiSystem: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  biosBoot: '21686148-6449-6E6F-744E-656564454649',
  linuxRoot: {
    x86_64: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709',
    arm64: 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE',
  },
} as const;

/** Paths on the boot partition. */
export const BOOT_PATHS = {
  dir: '/sosna',
  config: '/sosna/config.json',
  stateDir: '/sosna/state',
  credentials: '/sosna/state/credentials.json',
  wifi: '/sosna/wifi.conf',
  imageInfo: '/sosna/image.json',
} as const;

/** Where the device mounts the boot partition; the agent's state directory there. */
export const DEVICE_BOOT_MOUNT = '/boot';
export const DEVICE_STATE_DIR = `${DEVICE_BOOT_MOUNT}${BOOT_PATHS.stateDir}`;

export type Arch = 'x86_64' | 'arm64';
export type Variant = 'smoke' | 'full';
export const ARCHES: Arch[] = ['x86_64', 'arm64'];
export const VARIANTS: Variant[] = ['smoke', 'full'];
/** Debian's name for each architecture. */
export const DEBIAN_ARCH: Record<Arch, string> = { x86_64: 'amd64', arm64: 'arm64' };

export const imageBaseName = (variant: Variant, arch: Arch) => `sosna-${variant}-${arch}`;
