// Hardware filters over stored inventories (pure): what `sosna console devices --class gpu
// --gpu-vram-min 8G` and, later, the scheduler's matching ask of a device.
import type { DeviceFilter } from '@sosna/protocol';

interface Gpu {
  vendor?: string;
  vramBytes?: number;
}
interface StoredInventory {
  arch?: string;
  hardware?: { gpus?: Gpu[]; asics?: unknown[]; board?: { kind?: string } };
  profiles?: { profileId?: string }[];
  benchmarks?: Record<string, number>;
}

export function matchesHardware(inventory: Record<string, unknown> | null, f: DeviceFilter): boolean {
  const inv = (inventory ?? {}) as StoredInventory;
  const gpus = inv.hardware?.gpus ?? [];
  if (f.class === 'gpu' && gpus.length === 0) return false;
  if (f.class === 'asic' && (inv.hardware?.asics?.length ?? 0) === 0) return false;
  if (f.class === 'board' && !['raspberry-pi', 'jetson', 'generic-arm'].includes(inv.hardware?.board?.kind ?? '')) return false;
  if (f.gpuVramMin !== undefined || f.gpuVendor !== undefined) {
    const ok = gpus.some((g) => (f.gpuVramMin === undefined || (g.vramBytes ?? 0) >= f.gpuVramMin) && (f.gpuVendor === undefined || g.vendor === f.gpuVendor));
    if (!ok) return false;
  }
  if (f.arch !== undefined && inv.arch !== f.arch) return false;
  if (f.profile !== undefined && !(inv.profiles ?? []).some((p) => p.profileId === f.profile)) return false;
  for (const [key, min] of Object.entries(f.benchMin ?? {})) {
    const v = inv.benchmarks?.[key];
    if (v === undefined || v < min) return false;
  }
  return true;
}

export function hasHardwareFilter(f: DeviceFilter): boolean {
  return f.class !== undefined || f.gpuVramMin !== undefined || f.gpuVendor !== undefined || f.arch !== undefined || f.profile !== undefined || f.benchMin !== undefined;
}
