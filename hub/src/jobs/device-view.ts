// A device as the matcher sees it, built from the stored inventory (the birth's `jobs` offer, hardware)
// and the hub's market record (owner, reputation, health). Pure.
import type { DeviceView } from './matcher.js';

export interface MarketRecord {
  owner: string | null;
  reputation: number;
  healthy: boolean;
}

interface StoredInventory {
  jobs?: { engine?: unknown; askPerSec?: string; capacity?: { cpus?: number; memoryBytes?: number; jobs?: number } };
  hardware?: { gpus?: { index?: number; vendor?: string; name?: string; vramBytes?: number }[]; disks?: { freeBytes?: number }[] };
}

export const DEFAULT_REPUTATION = 0.5;

/** The owner address a device declared in its birth (its config's `owner`), if any. */
export function declaredOwner(inventory: Record<string, unknown> | null | undefined): string | null {
  const o = inventory?.owner;
  return typeof o === 'string' && /^0x[0-9a-fA-F]{40}$/.test(o) ? o : null;
}

/**
 * Owner of a device for replication and earnings: set explicitly by the hub, else the wallet address the
 * device declares (where payouts go), else its fleet, else the device itself.
 */
export function ownerOf(deviceId: string, fleet: string | null, market?: Pick<MarketRecord, 'owner'>, declared?: string | null): string {
  return market?.owner ?? declared ?? fleet ?? deviceId;
}

export function deviceView(row: { id: string; fleet: string | null; inventory: Record<string, unknown> | null }, market?: MarketRecord): DeviceView {
  const inv = (row.inventory ?? {}) as StoredInventory;
  const offer = inv.jobs;
  const cap = offer?.engine ? offer.capacity : undefined;
  let ask = 0n;
  try {
    ask = BigInt(offer?.askPerSec ?? '0');
  } catch {
    ask = 0n;
  }
  const frees = (inv.hardware?.disks ?? []).map((d) => d.freeBytes).filter((x): x is number => typeof x === 'number');
  return {
    id: row.id,
    owner: ownerOf(row.id, row.fleet, market, declaredOwner(row.inventory)),
    askPerSec: ask,
    reputation: market?.reputation ?? DEFAULT_REPUTATION,
    healthy: market?.healthy ?? true,
    capacity: { cpus: cap?.cpus ?? 0, memoryBytes: cap?.memoryBytes ?? 0, jobs: cap?.jobs ?? 0 },
    gpus: (inv.hardware?.gpus ?? []).map((g, i) => ({ index: g.index ?? i, vendor: g.vendor ?? '', name: g.name ?? '', vramBytes: g.vramBytes ?? 0 })),
    diskFreeBytes: frees.length ? Math.max(...frees) : null,
    inventory: row.inventory,
  };
}
