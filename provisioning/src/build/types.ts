import type { Arch, Variant } from '../image/layout.js';

export interface BuildContext {
  arch: Arch;
  variant: Variant;
  /** Scratch folder for this build (removed afterwards unless kept). */
  work: string;
  /** Downloaded and unpacked Debian packages, kept between builds. */
  cacheDir: string;
  /** The single-file agent (agent/dist/sosna-agent.mjs). */
  agentBundle: string;
  /** The repository's os-image/ folder (init scripts, units, hooks). */
  osImageDir: string;
  /** Node binary for the guest (default: this Node, when the architectures match). */
  node?: string;
  /** arm64: Raspberry Pi boot firmware to copy onto the boot partition. */
  firmwareDir?: string;
  progress: (line: string) => void;
}

/** A partition besides the boot partition, as a filesystem image file built by the variant. */
export interface ExtraPartition {
  name: string;
  type: string;
  /** Filesystem image to copy in; absent for an empty partition (e.g. BIOS boot). */
  file?: string;
  sizeBytes: number;
  /** Placed before the boot partition (BIOS boot) instead of after it. */
  first?: boolean;
  uuid?: string;
}

export interface BuiltParts {
  /** Files for the FAT boot partition: host path -> path on the partition. */
  bootFiles: { from: string; to: string }[];
  partitions: ExtraPartition[];
  versions: Record<string, Record<string, string>>;
  kernelModules?: string[];
  /** Runs on the finished raw image (e.g. writing a BIOS boot loader). */
  finish?: (image: string, layout: DiskLayout) => Promise<void>;
}

export interface LayoutPartition {
  index: number;
  name: string;
  type: string;
  startSector: number;
  sectors: number;
  uuid?: string;
}
export interface DiskLayout {
  sectorSize: 512;
  totalSectors: number;
  partitions: LayoutPartition[];
}
