// Runner for AMD and Intel GPUs (and NVIDIA cards the kernel DRM layer knows): reads
// <sysfsRoot>/class/drm/cardN. The root is a parameter so tests read fixture trees.
import { join } from 'node:path';
import { DRM_CARD_FILES, DRM_DEVICE_FILES, DRM_HWMON_FILES, parseDrmCard } from './drm-parser.js';
import { listDir, readFiles } from './fs-read.js';
import type { GpuCandidate } from './nvidia-parser.js';
import { warn, type Warning } from './types.js';

export interface DrmDetectOptions {
  sysfsRoot: string;
  /** Per file read. */
  readTimeoutMs: number;
}

export async function detectDrmGpus(opts: DrmDetectOptions): Promise<{ gpus: GpuCandidate[]; warnings: Warning[] }> {
  const drm = join(opts.sysfsRoot, 'class', 'drm');
  const cards = (await listDir(drm, opts.readTimeoutMs)).filter((name) => /^card\d+$/u.test(name));
  const warnings: Warning[] = [];
  const gpus = await Promise.all(
    cards.map(async (card) => {
      const deviceDir = join(drm, card, 'device');
      const hwmonDirs = await listDir(join(deviceDir, 'hwmon'), opts.readTimeoutMs);
      const firstHwmon = hwmonDirs.find((h) => /^hwmon\d+$/u.test(h));
      const [device, hwmon, cardFiles] = await Promise.all([
        readFiles(deviceDir, DRM_DEVICE_FILES, opts.readTimeoutMs),
        firstHwmon ? readFiles(join(deviceDir, 'hwmon', firstHwmon), DRM_HWMON_FILES, opts.readTimeoutMs) : {},
        readFiles(join(drm, card), DRM_CARD_FILES, opts.readTimeoutMs),
      ]);
      const gpu = parseDrmCard({ card, device, hwmon, cardFiles });
      if (!gpu && device['vendor'] && ['0x1002', '0x8086', '0x10de'].includes(device['vendor'].toLowerCase())) {
        warnings.push(warn('sysfs:drm', `${card}: GPU attributes unreadable (no PCI slot in uevent)`));
      }
      return gpu;
    }),
  );
  return { gpus: gpus.filter((g): g is GpuCandidate => g !== undefined), warnings };
}
