// Rig mode's thin I/O: checks the flight sheet against this device, runs the owner's miner on the GPUs (and
// CPU threads) that are not given to jobs, reads its API every statsIntervalSec (one read at a time, bounded
// by apiTimeoutMs) and keeps the latest figures for telemetry, /metrics and the profit planner.
// Handing a GPU to a job restarts the miner without it (SIGTERM, SIGKILL after stopGraceSec): a miner
// cannot drop a device while it runs.
import type { Logger, MinerApiKind, MiningConfig } from '@sosna/protocol';
import { checkFlightSheet, minerArgv } from './flight-sheet.js';
import type { RigGpu } from './flight-sheet.js';
import { MinerSupervisor } from './supervisor.js';
import { Tuner, tuningPlan } from './tuning.js';
import type { TuneResult } from './tuning.js';
import { runCommand } from '../hardware/exec.js';
import type { ExecFn } from '../hardware/exec.js';
import { minerMetrics, readXmrig } from './xmrig.js';
import { readTrex } from './trex.js';
import { readLolminer } from './lolminer.js';
import { readGminer } from './gminer.js';
import type { MinerStats, XmrigApi } from './xmrig.js';

/** Each miner's API reader, by `mining.miner.api.kind`. */
const READERS: Record<MinerApiKind, (api: XmrigApi) => Promise<MinerStats>> = { xmrig: readXmrig, trex: readTrex, lolminer: readLolminer, gminer: readGminer };

export interface RigOptions {
  sheet: MiningConfig;
  /** The GPUs the hardware detection found (inventory indices). */
  gpus: RigGpu[];
  log: Logger;
  /** The worker name for `{worker}` when the sheet gives none (the device name). */
  worker: string;
  env?: NodeJS.ProcessEnv;
  /** Restart backoff after the miner exits on its own (tests shorten it). */
  restartMinMs?: number;
  /** Runs nvidia-smi for the tuning (tests pass a fake through PATH or here). */
  exec?: ExecFn;
  nvidiaSmi?: string;
  /** Where AMD cards' sysfs files are (tests pass a temporary tree). */
  sysfsRoot?: string;
}

export class FlightSheetError extends Error {
  constructor(readonly errors: string[]) {
    super(`flight sheet refused:\n  ${errors.join('\n  ')}`);
  }
}

export class MiningRig {
  private readonly supervisor: MinerSupervisor;
  private readonly command: string;
  private jobGpus = new Set<number>();
  private faulty = new Set<number>();
  private mining: number[] = [];
  private stats: MinerStats | null = null;
  private statsAt = 0;
  private lastError: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private stopped = false;
  /** H/s each GPU last mined at (inventory index): kept while a job has the GPU, for the planner. */
  private readonly lastGpuRate = new Map<number, number>();

  constructor(private readonly opts: RigOptions) {
    const check = checkFlightSheet(opts.sheet, opts.gpus, opts.env);
    if (check.errors.length) throw new FlightSheetError(check.errors);
    this.command = check.command!;
    for (const g of opts.gpus) if (g.state === 'error') this.faulty.add(g.index);
    this.tuner = new Tuner({ exec: opts.exec ?? runCommand, nvidiaSmi: opts.nvidiaSmi ?? 'nvidia-smi' });
    this.supervisor = new MinerSupervisor({
      argv: [this.command], env: opts.sheet.miner.env, graceMs: opts.sheet.stopGraceSec * 1000, log: opts.log,
      restartMinMs: opts.restartMinMs ?? 1000,
      onExit: () => (this.stats = null),
    });
  }

  get id(): string {
    return this.opts.sheet.miner.id;
  }

  /** GPUs the miner runs on now. */
  get miningGpus(): number[] {
    return [...this.mining];
  }

  get pid(): number | null {
    return this.supervisor.pid;
  }

  get state(): string {
    return this.supervisor.state;
  }

  private wantedGpus(): number[] {
    return this.opts.sheet.gpus.filter((i) => !this.jobGpus.has(i) && !this.faulty.has(i)).sort((a, b) => a - b);
  }

  private argv(gpus: number[]): string[] {
    return minerArgv(this.opts.sheet, this.command, gpus, this.opts.gpus, this.opts.worker);
  }

  private readonly tuner: Tuner;
  private tuned: Promise<TuneResult[]> | null = null;

  /**
   * Applies the sheet's tuning (power limits, clocks; tuning.ts) on the mining GPUs; each failure is logged
   * with the field, the value and the reason, and mining goes on. Restored by stop().
   */
  async applyTuning(): Promise<TuneResult[]> {
    const results = await this.tuner.apply(tuningPlan(this.opts.sheet, this.opts.gpus, this.opts.sysfsRoot));
    for (const r of results) {
      if (r.ok) this.opts.log.info(`tuning: ${r.field} = ${r.value} set on GPU ${r.gpu}`, { detail: r.detail });
      else this.opts.log.warn(`tuning not applied: ${r.field} = ${r.value} on GPU ${r.gpu}: ${r.detail}`);
    }
    return results;
  }

  /** Puts the GPUs back as they were before applyTuning(). */
  async restoreTuning(): Promise<TuneResult[]> {
    await this.tuned;
    this.tuned = null;
    const results = await this.tuner.restore();
    for (const r of results) {
      if (r.ok) this.opts.log.info(`tuning restored: ${r.field} on GPU ${r.gpu}`, { detail: r.detail });
      else this.opts.log.warn(`tuning not restored: ${r.field} on GPU ${r.gpu}: ${r.detail}`);
    }
    return results;
  }

  start(): void {
    if (!this.opts.sheet.enabled) return;
    this.stopped = false;
    this.tuned = this.applyTuning();
    void this.apply();
    const every = this.opts.sheet.statsIntervalSec * 1000;
    this.timer = setInterval(() => void this.poll(), every);
    this.timer.unref();
  }

  private applying: Promise<void> = Promise.resolve();

  /** One change at a time, each on the set wanted when it runs (a run's GPUs may come and go in quick turns). */
  private apply(): Promise<void> {
    this.applying = this.applying.then(() => this.applyNow()).catch((err: Error) => this.opts.log.error('mining: could not apply the GPU set', { error: err.message }));
    return this.applying;
  }

  /** Runs the miner on the wanted GPUs: unchanged -> nothing; changed -> restart; none (and no CPU threads) -> stopped. */
  private async applyNow(): Promise<void> {
    const want = this.wantedGpus();
    const none = want.length === 0 && this.opts.sheet.cpuThreads === 0;
    const same = want.length === this.mining.length && want.every((g, i) => g === this.mining[i]) && this.supervisor.state !== 'stopped';
    if (this.stopped || (same && !none)) return;
    this.mining = none ? [] : want;
    if (none) {
      this.opts.log.info('mining paused: every mining GPU is given to jobs or faulty');
      await this.supervisor.stop();
      return;
    }
    this.opts.log.info('mining', { gpus: want, cpuThreads: this.opts.sheet.cpuThreads });
    if (this.supervisor.state === 'stopped') this.supervisor.start(this.argv(want));
    else await this.supervisor.restart(this.argv(want));
  }

  /** GPUs jobs have now: mining stops on them (resolves once the old miner has exited) and resumes when they are free. */
  async setJobGpus(gpus: Iterable<number>): Promise<void> {
    this.jobGpus = new Set(gpus);
    await this.apply();
  }

  /** The watchdog's restart: the miner stops (SIGTERM, then SIGKILL) and starts again on the same GPUs. */
  async restartMiner(): Promise<void> {
    if (this.stopped || this.supervisor.state === 'stopped') return;
    this.stats = null;
    await this.supervisor.restart(this.argv(this.mining));
  }

  /** Whether the miner should run now (some GPU or CPU thread is left to it). */
  get wanted(): boolean {
    return !this.stopped && this.opts.sheet.enabled && (this.wantedGpus().length > 0 || this.opts.sheet.cpuThreads > 0);
  }

  /** GPUs found faulty (fell off the bus, errors): out of mining until they recover. */
  async setFaultyGpus(gpus: Iterable<number>): Promise<void> {
    this.faulty = new Set(gpus);
    await this.apply();
  }

  /** One read of the miner's API (skipped while one is in flight or the miner is not running). */
  async poll(): Promise<MinerStats | null> {
    if (this.polling || this.supervisor.state !== 'running') return this.stats;
    this.polling = true;
    try {
      const api = this.opts.sheet.miner.api;
      const read = READERS[api.kind];
      const s = await read({ host: api.host, port: api.port, ...(api.token ? { token: api.token } : {}), timeoutMs: this.opts.sheet.apiTimeoutMs });
      // the miner counts GPUs by the vendor tool's index: report them by inventory index, like gpu.N telemetry
      const byVendor = new Map(this.opts.gpus.map((g) => [g.vendorIndex ?? g.index, g.index]));
      s.gpus = s.gpus.map((g) => ({ ...g, index: byVendor.get(g.index) ?? g.index }));
      for (const g of s.gpus) this.lastGpuRate.set(g.index, g.hashrate);
      if (!s.gpus.length && this.mining.length && s.hashrate['10s'] !== undefined) {
        for (const i of this.mining) this.lastGpuRate.set(i, s.hashrate['10s'] / this.mining.length); // totals only: an even share
      }
      this.stats = s;
      this.statsAt = Date.now();
      if (this.lastError) this.opts.log.info('miner API answers again');
      this.lastError = null;
    } catch (err) {
      const why = (err as Error).message;
      if (why !== this.lastError) this.opts.log.warn('miner API not answering', { reason: why });
      this.lastError = why;
      this.stats = null;
    } finally {
      this.polling = false;
    }
    return this.stats;
  }

  /** The latest figures as telemetry keys (`miner.<id>.hashrate10s`, `miner.<id>.gpu.N.hashrate10s`, ...). */
  metrics(): Record<string, number> {
    return minerMetrics(this.id, this.stats, this.supervisor.state === 'running');
  }

  /** The latest stats and when they were read (null: none since the miner started or it stopped answering). */
  latest(): { stats: MinerStats; at: number } | null {
    return this.stats ? { stats: this.stats, at: this.statsAt } : null;
  }

  /** H/s GPU `index` last mined at (null: never measured). */
  gpuHashrate(index: number): number | null {
    return this.lastGpuRate.get(index) ?? null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.supervisor.stop();
    await this.restoreTuning();
  }
}
