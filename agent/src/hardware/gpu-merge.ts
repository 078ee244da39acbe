// Pure merge of the GPU sources into one list: nvidia-smi first, then DRM (sysfs), then the bare PCI
// scan, one entry per PCI bus id, ordered by bus id and numbered. Cards that only the PCI scan sees are
// the ones a rig owner must hear about (no driver, or fallen off the driver's view).
import type { HardwareGpu } from '@sosna/protocol/hardware';
import type { GpuCandidate } from './nvidia-parser.js';
import type { PciDisplayDevice } from './pci-parser.js';
import type { RocmCard } from './rocm-parser.js';
import { warn, type Warning } from './types.js';

export interface GpuSources {
  nvidia: readonly GpuCandidate[];
  /** nvidia-smi exists (the NVIDIA driver is installed). */
  nvidiaToolPresent: boolean;
  drm: readonly GpuCandidate[];
  pci: readonly PciDisplayDevice[];
  rocm: readonly RocmCard[];
}

export function mergeGpus(src: GpuSources): { gpus: HardwareGpu[]; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const byBus = new Map<string, GpuCandidate>();
  for (const g of src.nvidia) if (!byBus.has(g.pciBusId)) byBus.set(g.pciBusId, g);

  const orphanNvidia = (g: GpuCandidate): GpuCandidate => {
    const reason = src.nvidiaToolPresent
      ? 'on the PCI bus but not reported by nvidia-smi'
      : 'NVIDIA driver tools not installed (nvidia-smi not found)';
    warnings.push(warn('gpu', `${g.pciBusId} ${g.name}: ${reason}`));
    return { ...g, state: 'error', reason };
  };

  for (const g of src.drm) {
    if (byBus.has(g.pciBusId)) continue;
    byBus.set(g.pciBusId, g.vendor === 'nvidia' ? orphanNvidia(g) : g);
  }
  for (const { gpu } of src.pci) {
    if (byBus.has(gpu.pciBusId)) continue;
    let g = gpu;
    if (g.vendor === 'nvidia') g = orphanNvidia(g);
    else if (g.state === 'error') warnings.push(warn('gpu', `${g.pciBusId} ${g.name}: ${g.reason ?? 'error'}`));
    byBus.set(g.pciBusId, g);
  }
  for (const card of src.rocm) {
    if (!card.pciBusId || !card.name) continue;
    const g = byBus.get(card.pciBusId);
    if (g && g.vendor === 'amd' && g.source !== 'nvidia-smi') byBus.set(card.pciBusId, { ...g, name: card.name });
  }
  const sorted = [...byBus.values()].sort((a, b) => a.pciBusId.localeCompare(b.pciBusId));
  return { gpus: sorted.slice(0, 64).map((g, index) => ({ ...g, index })), warnings };
}
