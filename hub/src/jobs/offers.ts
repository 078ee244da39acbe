// What is on offer (pure): the online devices that could take one more run now, by the matcher's own
// rules (staticMismatch: health, ask against the bid, capacity, GPUs, disk, arch/profile/benchmarks;
// fitNow: the free part of the capacity), grouped by hardware class with their asks.
import type { OfferClass, OfferRequirements } from '@sosna/protocol';
import { emptyUsage, fitNow, staticMismatch } from './matcher.js';
import type { DeviceView, Usage } from './matcher.js';

interface Inv {
  arch?: string;
  cpu?: { brand?: string; cores?: number };
  benchmarks?: Record<string, number>;
}

const GiB = 2 ** 30;
const NO_LIMIT = 2n ** 255n;

export function regionOf(tags: readonly string[]): string | null {
  for (const t of tags) {
    const m = /^region[=:](.+)$/.exec(t);
    if (m) return m[1]!;
  }
  return null;
}

function median(sorted: bigint[]): bigint {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2n;
}

export function offerClasses(views: readonly DeviceView[], usage: ReadonlyMap<string, Usage>, tagsOf: (deviceId: string) => readonly string[], req: OfferRequirements = {}): { classes: OfferClass[]; free: number } {
  const groups = new Map<string, { c: Omit<OfferClass, 'askMin' | 'askMedian'>; asks: bigint[] }>();
  let free = 0;
  for (const d of views) {
    const u = usage.get(d.id) ?? emptyUsage();
    const need = { bid: req.bid ?? NO_LIMIT, resources: req.resources ?? { cpus: 0, memoryBytes: 0, pids: 8 }, constraints: req.constraints };
    if (staticMismatch(d, need) !== null) continue;
    if (fitNow(d, u, need) === null) continue;
    free++;
    const inv = (d.inventory ?? {}) as Inv;
    const gpus = d.gpus;
    const names = [...new Set(gpus.map((g) => g.name || g.vendor))].sort();
    const c = {
      gpu: names.length ? names.join(' + ') : null,
      gpuCount: gpus.length,
      vramBytes: gpus.length ? Math.min(...gpus.map((g) => g.vramBytes)) : null,
      cpu: inv.cpu?.brand ?? null,
      cores: inv.cpu?.cores ?? null,
      memoryBytes: Math.floor(d.capacity.memoryBytes / GiB) * GiB,
      arch: inv.arch ?? null,
      region: regionOf(tagsOf(d.id)),
    };
    const key = JSON.stringify(c);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { c: { ...c, benchmarks: { ...(inv.benchmarks ?? {}) }, devices: 0, freeCpus: 0, freeMemoryBytes: 0, freeGpus: 0 }, asks: [] }));
    else {
      const b = g.c.benchmarks;
      for (const k of Object.keys(b)) {
        const v = inv.benchmarks?.[k];
        if (v === undefined) delete b[k];
        else b[k] = Math.min(b[k]!, v);
      }
    }
    g.c.devices++;
    g.c.freeCpus += Math.max(0, d.capacity.cpus - u.cpus);
    g.c.freeMemoryBytes += Math.max(0, d.capacity.memoryBytes - u.memoryBytes);
    g.c.freeGpus += gpus.filter((x) => !u.gpus.includes(x.index)).length;
    g.asks.push(d.askPerSec);
  }
  const classes = [...groups.values()].map(({ c, asks }) => {
    asks.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return { ...c, askMin: asks[0]!, askMedian: median(asks) };
  });
  // cheapest first, then the most devices
  classes.sort((a, b) => (a.askMin !== b.askMin ? (a.askMin < b.askMin ? -1 : 1) : b.devices - a.devices));
  return { classes, free };
}
