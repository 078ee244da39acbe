// The scheduler's matching, pure: which devices can run a job (SONM's rules: the device's ask is at most
// the job's bid, every required capability and benchmark is met, capacity is free) and a greedy plan
// that places queued jobs, best bid first, on reputable, lightly loaded devices of distinct owners.
import type { JobConstraints, JobResources } from '@sosna/protocol';
import { matchesHardware } from '../fleet/device-filter.js';

export interface DeviceGpu {
  index: number;
  vendor: string;
  name: string;
  vramBytes: number;
}

export interface DeviceView {
  id: string;
  owner: string;
  askPerSec: bigint;
  /** 0..1; dissent lowers it, agreement raises it. */
  reputation: number;
  /** The matcher's rank (higher first): trust.ts rankOf; without it, reputation in steps of 0.05. */
  rank?: number;
  healthy: boolean;
  /** Not healthy because its owner is quarantined for proven wrong results (trust.ts isQuarantined). */
  quarantined?: boolean;
  capacity: { cpus: number; memoryBytes: number; jobs: number };
  gpus: DeviceGpu[];
  diskFreeBytes: number | null;
  /** The stored inventory, for arch/profile/benchmark constraints. */
  inventory: Record<string, unknown> | null;
}

export interface Usage {
  cpus: number;
  memoryBytes: number;
  jobs: number;
  /** GPU indices held by running jobs. */
  gpus: number[];
}
export const emptyUsage = (): Usage => ({ cpus: 0, memoryBytes: 0, jobs: 0, gpus: [] });

export interface JobNeed {
  jobId: string;
  /** New runs to place now (replicas still missing). */
  count: number;
  bid: bigint;
  resources: JobResources;
  constraints?: JobConstraints;
  /** Devices this job may not use (they hold or held one of its runs, or refused it). */
  excludeDevices: ReadonlySet<string>;
  /** Owners that already hold a replica: replicas go to distinct owners. */
  excludeOwners: ReadonlySet<string>;
  /** Only this device may run it (a ringer, mixed in for that device). */
  onlyDevice?: string;
}

export interface Assignment {
  jobId: string;
  deviceId: string;
  owner: string;
  gpus: number[];
}

const EPS = 1e-9;

function suitableGpus(d: DeviceView, r: JobResources): DeviceGpu[] {
  const g = r.gpus;
  if (!g) return [];
  const model = g.model?.toLowerCase();
  return d.gpus.filter(
    (x) => (g.vendor === undefined || x.vendor === g.vendor) && (model === undefined || x.name.toLowerCase().includes(model)) && (g.vramMin === undefined || x.vramBytes >= g.vramMin),
  );
}

/** Why a device can never run a job whatever its load ("devices that ..."), or null when it can. */
export function staticMismatch(d: DeviceView, need: Pick<JobNeed, 'bid' | 'resources' | 'constraints'>): string | null {
  const r = need.resources;
  if (!d.healthy) return d.quarantined ? 'are quarantined (their owner returned proven wrong results)' : 'are marked unhealthy';
  if (d.capacity.jobs <= 0) return 'run no jobs (no container engine)';
  if (d.askPerSec > need.bid) return `ask more than the bid of ${need.bid} wei/s`;
  if (r.cpus > d.capacity.cpus + EPS) return `offer fewer than ${r.cpus} CPUs`;
  if (r.memoryBytes > d.capacity.memoryBytes) return `offer less than ${r.memoryBytes} bytes of memory`;
  if (r.gpus && suitableGpus(d, r).length < r.gpus.count) return `have fewer than ${r.gpus.count} matching GPU(s)`;
  if (r.diskBytes !== undefined && (d.diskFreeBytes ?? 0) < r.diskBytes) return `have less than ${r.diskBytes} bytes of free disk`;
  const c = need.constraints;
  if (c && (c.arch !== undefined || c.profile !== undefined || c.benchMin !== undefined)) {
    if (!matchesHardware(d.inventory, { arch: c.arch, profile: c.profile, benchMin: c.benchMin })) return 'do not meet the arch/profile/benchmark constraints';
  }
  return null;
}

/** The GPUs a job would take on a device now, or null when it does not fit the free capacity. */
export function fitNow(d: DeviceView, u: Usage, need: Pick<JobNeed, 'resources'>): number[] | null {
  const r = need.resources;
  if (u.jobs + 1 > d.capacity.jobs) return null;
  if (u.cpus + r.cpus > d.capacity.cpus + EPS) return null;
  if (u.memoryBytes + r.memoryBytes > d.capacity.memoryBytes) return null;
  if (!r.gpus) return [];
  const free = suitableGpus(d, r).filter((g) => !u.gpus.includes(g.index));
  return free.length >= r.gpus.count ? free.slice(0, r.gpus.count).map((g) => g.index) : null;
}

/** A device's rank: given (newcomers, stake: see trust.ts), else its reputation in steps of 0.05. */
export const rankOfView = (d: DeviceView): number => d.rank ?? Math.round(d.reputation * 20);

/** Candidates in order of preference: rank first (reputation in steps of 0.05), then load, then ask. */
export function better(a: DeviceView, ua: Usage, b: DeviceView, ub: Usage): boolean {
  const ra = rankOfView(a);
  const rb = rankOfView(b);
  if (ra !== rb) return ra > rb;
  const la = ua.jobs / a.capacity.jobs;
  const lb = ub.jobs / b.capacity.jobs;
  if (la !== lb) return la < lb;
  if (a.askPerSec !== b.askPerSec) return a.askPerSec < b.askPerSec;
  return a.id < b.id;
}

/**
 * Places as many runs as fit. `needs` come in queue order (the caller sorts by bid, then age); `usage`
 * is updated in place with what was placed. Devices that are full for every job leave the scan.
 */
export function planDispatch(needs: readonly JobNeed[], devices: readonly DeviceView[], usage: Map<string, Usage>): Assignment[] {
  // the scan runs jobs x devices times: parallel arrays, ranks computed once
  const open: DeviceView[] = [];
  const uses: Usage[] = [];
  const ranks: number[] = [];
  for (const d of devices) {
    if (!d.healthy || d.capacity.jobs <= 0) continue;
    let u = usage.get(d.id);
    if (!u) usage.set(d.id, (u = emptyUsage()));
    if (u.jobs >= d.capacity.jobs) continue;
    open.push(d);
    uses.push(u);
    ranks.push(rankOfView(d));
  }
  const out: Assignment[] = [];
  for (const need of needs) {
    if (open.length === 0) break;
    const owners = new Set(need.excludeOwners);
    for (let k = 0; k < need.count; k++) {
      let best = -1;
      let bestGpus: number[] = [];
      for (let i = 0; i < open.length; i++) {
        const d = open[i]!;
        if (d.askPerSec > need.bid || owners.has(d.owner) || need.excludeDevices.has(d.id)) continue;
        if (need.onlyDevice !== undefined && d.id !== need.onlyDevice) continue;
        const u = uses[i]!;
        if (best >= 0) {
          // cheap pre-check: not better than the best so far, so no need to fit it
          const rb = ranks[best]!;
          if (ranks[i]! < rb || (ranks[i] === rb && u.jobs / d.capacity.jobs > uses[best]!.jobs / open[best]!.capacity.jobs)) continue;
        }
        const gpus = fitNow(d, u, need);
        if (!gpus) continue;
        if (need.constraints && staticMismatch(d, need)) continue;
        if (best < 0 || better(d, u, open[best]!, uses[best]!)) {
          best = i;
          bestGpus = gpus;
        }
      }
      if (best < 0) break;
      const d = open[best]!;
      const u = uses[best]!;
      u.jobs++;
      u.cpus += need.resources.cpus;
      u.memoryBytes += need.resources.memoryBytes;
      u.gpus.push(...bestGpus);
      owners.add(d.owner);
      out.push({ jobId: need.jobId, deviceId: d.id, owner: d.owner, gpus: bestGpus });
      if (u.jobs >= d.capacity.jobs) {
        open.splice(best, 1);
        uses.splice(best, 1);
        ranks.splice(best, 1);
      }
    }
  }
  return out;
}

/**
 * Why nobody can run a job (for a clear error at submit time), or null when at least `replicas` devices
 * of distinct owners could, load aside.
 */
export function explainNoMatch(devices: readonly DeviceView[], need: Pick<JobNeed, 'bid' | 'resources' | 'constraints'>, replicas: number): string | null {
  const reasons = new Map<string, number>();
  const owners = new Set<string>();
  for (const d of devices) {
    const why = staticMismatch(d, need);
    if (why === null) owners.add(d.owner);
    else reasons.set(why, (reasons.get(why) ?? 0) + 1);
  }
  if (owners.size >= replicas) return null;
  if (devices.length === 0) return 'no device is registered with this hub';
  const detail = [...reasons.entries()].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([why, n]) => `${n} device(s) ${why}`).join('; ');
  if (owners.size > 0) return `${replicas} replicas need devices of ${replicas} distinct owners; only ${owners.size} owner(s) have a device that could run it${detail ? ` (others: ${detail})` : ''}`;
  return `no device can run this job: ${detail}`;
}
