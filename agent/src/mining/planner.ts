// Profit switching, pure: per GPU, what mining earns per second (measured hashrate x revenue rate) minus
// what its power costs (measured draw x electricity price), against the bids of jobs that want the GPU.
// State in, decisions out; the hysteresis is state (when each GPU last went from mining to a job).
// Money is bigint token wei; hashrates and watts are measurements (numbers) turned into wei exactly once.
//
// Rules, per GPU:
//  - a faulty GPU neither mines nor is offered (the watchdog raises the alert);
//  - a GPU that runs a job stays on it; when the job ends it mines again at once;
//  - a mining GPU is offered to jobs only when a bid beats mining's net by `marginPct`, and only once per
//    `hysteresisMs` (a bid that oscillates around the mining rate switches it at most once per window);
//  - no rate, or a stale one: mining's worth is unknown, so it keeps no job away (flagged `stale`).

export interface GpuView {
  index: number;
  /** H/s this GPU mines at (last measured while it mined); null: not measured yet. */
  hashrateHs: number | null;
  /** W it draws while mining (last measured); null: unknown (no power cost counted). */
  powerW: number | null;
  /** The GPU reports an error or fell off the bus. */
  faulty: boolean;
  /** A job runs on it now. */
  job: boolean;
}

export interface Rate {
  /** Token wei per 10^6 hashes of the configured algorithm. */
  weiPerMh: bigint;
  /** When the rate was published or set (ms). */
  at: number;
  source: 'owner' | 'hub';
}

export interface PlanConfig {
  electricityWeiPerKwh: bigint;
  rateMaxAgeMs: number;
  hysteresisMs: number;
  marginPct: number;
  /** Never run a job that pays less than mining: the device's ask is at least the cheapest offered GPU's threshold. */
  askAtLeastMining: boolean;
  /** The owner's own ask (config jobs.askPerSec). */
  askPerSec: bigint;
}

export type GpuMode = 'mine' | 'job' | 'off';

export interface GpuPlanState {
  mode: GpuMode;
  /** When it last went from mining to a job (ms); the hysteresis window runs from here. */
  lastSwitchAt: number | null;
}

export type PlannerState = Record<number, GpuPlanState>;

/** A job that wants a GPU, and what it pays for it per second. */
export interface Bid {
  id: string;
  gpu: number;
  perSec: bigint;
}

export interface GpuDecision {
  index: number;
  mode: GpuMode;
  /** Mining's revenue minus power cost per second (wei, may be negative); null: unknown (no rate, stale, no hashrate). */
  miningNetWeiPerSec: bigint | null;
  /** The least a job must pay per second to take this GPU from mining. */
  thresholdWeiPerSec: bigint;
  /** Whether the GPU is offered to jobs now. */
  offer: boolean;
  /** The bid it takes now, if any. */
  take: string | null;
  reason: string;
}

export interface Plan {
  state: PlannerState;
  gpus: GpuDecision[];
  /** The device's ask per second after `askAtLeastMining`. */
  askPerSec: bigint;
  /** The rate is missing or older than rateMaxAgeMs. */
  stale: boolean;
}

const MH = 1_000_000n;
const J_PER_KWH = 3_600_000n;

/** Mining revenue per second for `hashrateHs`, wei (rounded down; the hashrate to the milli-hash). */
export function revenuePerSec(hashrateHs: number, weiPerMh: bigint): bigint {
  return (BigInt(Math.max(0, Math.round(hashrateHs * 1000))) * weiPerMh) / (MH * 1000n);
}

/** Power cost per second for `powerW`, wei (rounded up: a cost is never understated); W to the milliwatt. */
export function powerCostPerSec(powerW: number, weiPerKwh: bigint): bigint {
  const num = BigInt(Math.max(0, Math.round(powerW * 1000))) * weiPerKwh;
  const den = J_PER_KWH * 1000n;
  return (num + den - 1n) / den;
}

export function planRig(state: PlannerState, input: { now: number; gpus: GpuView[]; rate: Rate | null; bids: Bid[] }, cfg: PlanConfig): Plan {
  const { now } = input;
  const stale = !input.rate || now - input.rate.at > cfg.rateMaxAgeMs;
  const next: PlannerState = {};
  const decisions: GpuDecision[] = [];
  const taken = new Set<string>();
  for (const g of [...input.gpus].sort((a, b) => a.index - b.index)) {
    const prev = state[g.index] ?? { mode: 'mine', lastSwitchAt: null };
    const net = stale || g.hashrateHs === null ? null : revenuePerSec(g.hashrateHs, input.rate!.weiPerMh) - (g.powerW === null ? 0n : powerCostPerSec(g.powerW, cfg.electricityWeiPerKwh));
    const threshold = net !== null && net > 0n ? (net * BigInt(Math.round(100 * (100 + cfg.marginPct)))) / 10_000n : 0n;
    const base = { index: g.index, miningNetWeiPerSec: net, thresholdWeiPerSec: threshold };
    if (g.faulty) {
      next[g.index] = { ...prev, mode: 'off' };
      decisions.push({ ...base, mode: 'off', offer: false, take: null, reason: 'GPU faulty: out of mining and jobs' });
      continue;
    }
    if (g.job) {
      next[g.index] = { mode: 'job', lastSwitchAt: prev.mode === 'job' ? prev.lastSwitchAt : now };
      decisions.push({ ...base, mode: 'job', offer: false, take: null, reason: 'a job runs on it' });
      continue;
    }
    const inWindow = prev.lastSwitchAt !== null && now - prev.lastSwitchAt < cfg.hysteresisMs;
    const offer = !inWindow;
    const best = offer ? input.bids.filter((b) => b.gpu === g.index && !taken.has(b.id) && b.perSec > threshold).sort((a, b) => (a.perSec > b.perSec ? -1 : a.perSec < b.perSec ? 1 : 0))[0] : undefined;
    if (best) {
      taken.add(best.id);
      next[g.index] = { mode: 'job', lastSwitchAt: now };
      decisions.push({ ...base, mode: 'job', offer, take: best.id, reason: `job ${best.id} pays ${best.perSec} wei/s, more than mining's ${threshold} wei/s (with margin)` });
      continue;
    }
    next[g.index] = { mode: 'mine', lastSwitchAt: prev.lastSwitchAt };
    const why = inWindow
      ? `switched ${Math.round((now - prev.lastSwitchAt!) / 1000)} s ago: held on mining for the hysteresis window`
      : stale ? 'mining (rate missing or stale: offered to any job)' : `mining; a job must pay more than ${threshold} wei/s`;
    decisions.push({ ...base, mode: 'mine', offer, take: null, reason: why });
  }
  let ask = cfg.askPerSec;
  if (cfg.askAtLeastMining) {
    const offered = decisions.filter((d) => d.offer);
    if (offered.length) {
      const least = offered.reduce((m, d) => (d.thresholdWeiPerSec < m ? d.thresholdWeiPerSec : m), offered[0]!.thresholdWeiPerSec);
      if (least > ask) ask = least;
    }
  }
  return { state: next, gpus: decisions, askPerSec: ask, stale };
}
