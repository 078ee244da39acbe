// Profit switching glue: feeds the pure planner (planner.ts) with what the agent measures (each GPU's
// hashrate from the miner, its power draw from telemetry `gpu.N.powerW`) and the owner's rates, keeps its
// state (the hysteresis) between calls, and answers the two questions the jobs side asks: what is the
// device's ask now, and may this run take its GPUs from mining.
import type { DeviceJob, MiningConfig, MiningRates } from '@sosna/protocol';
import { planRig } from './planner.js';
import type { Plan, PlanConfig, PlannerState, Rate } from './planner.js';
import type { RigGpu } from './flight-sheet.js';

export interface ProfitDeps {
  sheet: MiningConfig;
  /** The owner's own ask (config jobs.askPerSec). */
  askPerSec: bigint;
  gpus: RigGpu[];
  /** H/s GPU `index` last mined at (MiningRig.gpuHashrate). */
  hashrate(index: number): number | null;
  /** GPUs jobs hold now. */
  jobGpus(): number[];
  /** GPUs found faulty. */
  faulty?(): number[];
  /** Unused: the owner's rates never go stale (they are the owner's word); the hub's carry their own time. */
  ratesAt?: number;
  now?: () => number;
}

export class ProfitSwitch {
  private state: PlannerState = {};
  private power = new Map<number, number>();
  private last: Plan | null = null;
  private hubRates: MiningRates['rates'] = {};
  private readonly now: () => number;

  constructor(private readonly d: ProfitDeps) {
    this.now = d.now ?? Date.now;
  }

  private config(): PlanConfig {
    const p = this.d.sheet.profit;
    return {
      electricityWeiPerKwh: BigInt(p.electricityWeiPerKwh), rateMaxAgeMs: p.rateMaxAgeSec * 1000, hysteresisMs: p.hysteresisSec * 1000,
      marginPct: p.marginPct, askAtLeastMining: p.askAtLeastMining, askPerSec: this.d.askPerSec,
    };
  }

  /**
   * The rate the planner weighs: the owner's (profit.revenueWeiPerMh for the sheet's algorithm) when set,
   * never stale; else the hub's published one with the time it was set (stale past profit.rateMaxAgeSec);
   * else none (stale).
   */
  rate(): Rate | null {
    const own = this.d.sheet.profit.revenueWeiPerMh?.[this.d.sheet.algorithm];
    if (own !== undefined) return { weiPerMh: BigInt(own), at: this.now(), source: 'owner' };
    const hub = this.hubRates[this.d.sheet.algorithm];
    return hub ? { weiPerMh: BigInt(hub.weiPerMh), at: hub.at, source: 'hub' } : null;
  }

  /** The hub's retained rates (validated by the caller); the next plan weighs them. */
  setHubRates(rates: MiningRates['rates']): void {
    this.hubRates = rates;
  }

  /** Telemetry about the rate in use: `rateSource` (0 none, 1 owner, 2 hub), `rateAgeSec` (the hub's). */
  rateMetrics(): Record<string, number> {
    const r = this.rate();
    if (!r) return { rateSource: 0 };
    return r.source === 'owner' ? { rateSource: 1 } : { rateSource: 2, rateAgeSec: Math.max(0, Math.round((this.now() - r.at) / 1000)) };
  }

  /** The GPUs the plan covers: the flight sheet's mining GPUs. */
  private views(): Parameters<typeof planRig>[1]['gpus'] {
    const jobs = new Set(this.d.jobGpus());
    const faulty = new Set(this.d.faulty?.() ?? []);
    return this.d.sheet.gpus.map((i) => ({ index: i, hashrateHs: this.d.hashrate(i), powerW: this.power.get(i) ?? null, faulty: faulty.has(i), job: jobs.has(i) }));
  }

  /** A telemetry sample: remembers each mining GPU's draw (only while it mines: a job's draw is not mining's). */
  observe(metrics: Record<string, number>): Plan {
    const jobs = new Set(this.d.jobGpus());
    for (const i of this.d.sheet.gpus) {
      const w = metrics[`gpu.${i}.powerW`];
      if (w !== undefined && Number.isFinite(w) && !jobs.has(i)) this.power.set(i, w);
    }
    const plan = planRig(this.state, { now: this.now(), gpus: this.views(), rate: this.rate(), bids: [] }, this.config());
    this.state = plan.state;
    this.last = plan;
    return plan;
  }

  /** The device's ask now (the owner's, or mining's when the owner tied it to mining). */
  ask(): bigint {
    return (this.last ?? this.observe({})).askPerSec;
  }

  latest(): Plan | null {
    return this.last;
  }

  private placed: { id: string; gpus: number[] } | null = null;

  /**
   * Which GPUs a run that wants N NVIDIA GPUs goes on: free ones (no job, not faulty); first those that do
   * not mine, then the mining ones whose mining earns least (the smallest threshold), those out of their
   * hysteresis window before those in it, then by index. Null: not enough free GPUs (or none wanted).
   */
  choose(job: DeviceJob): number[] | null {
    const want = job.spec.resources.gpus;
    const n = want && (want.vendor ?? 'nvidia') === 'nvidia' ? want.count : 0;
    if (n === 0) return null;
    const busy = new Set([...this.d.jobGpus(), ...(this.d.faulty?.() ?? [])]);
    const plan = planRig(this.state, { now: this.now(), gpus: this.views(), rate: this.rate(), bids: [] }, this.config());
    const dec = new Map(plan.gpus.map((g) => [g.index, g]));
    const rank = (i: number): [number, bigint] => {
      const d = dec.get(i);
      return !d ? [0, 0n] : [d.offer ? 1 : 2, d.thresholdWeiPerSec];
    };
    const free = this.d.gpus
      .filter((g) => (g.vendor === undefined || g.vendor === 'nvidia') && g.state !== 'error' && !busy.has(g.index))
      .map((g) => g.index)
      .sort((a, b) => {
        const [ka, ta] = rank(a);
        const [kb, tb] = rank(b);
        return ka !== kb ? ka - kb : ta !== tb ? (ta < tb ? -1 : 1) : a - b;
      });
    return free.length >= n ? free.slice(0, n).sort((a, b) => a - b) : null;
  }

  /** The GPUs an admitted run is placed on (those admit() weighed), with the driver's ids for the engine. */
  place(job: DeviceJob): { gpus: number[]; deviceIds: string[] } | null {
    const gpus = this.placed?.id === job.id ? this.placed.gpus : this.choose(job);
    this.placed = null;
    if (!gpus) return null;
    return { gpus, deviceIds: gpus.map((i) => String(this.d.gpus.find((g) => g.index === i)?.vendorIndex ?? i)) };
  }

  /**
   * May this run start? Only asked when the owner opted in (`profit.askAtLeastMining`): the run goes on the
   * GPUs choose() picks; each of those that mines must be beaten by its share of the bid (with the margin)
   * and be out of its hysteresis window. Returns null (take it; the plan remembers the switch) or why not.
   */
  admit(job: DeviceJob): string | null {
    if (!this.d.sheet.profit.askAtLeastMining) return null;
    const want = job.spec.resources.gpus;
    const n = want && (want.vendor ?? 'nvidia') === 'nvidia' ? want.count : 0;
    if (n === 0) return null;
    const chosen = this.choose(job);
    if (!chosen) return null; // not enough free GPUs: the engine says so
    this.placed = { id: job.id, gpus: chosen };
    const taken = chosen.filter((i) => this.d.sheet.gpus.includes(i));
    if (!taken.length) return null;
    const share = job.spec.bid / BigInt(n);
    const bids = taken.map((gpu) => ({ id: `${job.id}#${gpu}`, gpu, perSec: share }));
    const plan = planRig(this.state, { now: this.now(), gpus: this.views(), rate: this.rate(), bids }, this.config());
    const refused = plan.gpus.filter((g) => taken.includes(g.index) && g.mode === 'mine' && !g.take);
    if (refused.length) {
      this.placed = null;
      return `this rig mines instead: ${refused.map((g) => `GPU ${g.index}: the bid's share ${share} wei/s does not beat mining (${g.reason})`).join('; ')}`;
    }
    this.state = plan.state;
    this.last = plan;
    return null;
  }
}
