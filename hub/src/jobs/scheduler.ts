// The hub's scheduler: the queue (persisted in the job store), dispatch of runs to matching devices,
// leases and the offline grace period (a lapsed run is `lost` and requeued up to a retry limit), cancel
// at every stage, and settling finished jobs: the verdict on replicas, reputation, and the earnings, which
// the ledger (ledger/ledger.ts) writes once per finished run in the same transaction as the verdict.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { isActive, isFinal, runIdOf, SosnaError, transitionPath } from '@sosna/protocol';
import type { DeviceJob, JobSpec, JobState, Logger } from '@sosna/protocol';
import type { HubEventBus } from '../events.js';
import type { DeviceLinks } from '../fleet/device-links.js';
import type { Registry } from '../fleet/registry.js';
import type { DeviceStore } from '../fleet/store.js';
import { declaredOwner, DEFAULT_REPUTATION, deviceView, ownerOf } from './device-view.js';
import { emptyUsage, explainNoMatch, planDispatch, staticMismatch } from './matcher.js';
import type { DeviceView, JobNeed, Usage } from './matcher.js';
import type { JobRow, JobStore, LogRow, MarketRow, RingerRow, RunRow } from './store.js';
import { planExpiries } from './lapse.js';
import { amountFor, billedSeconds, decide, latestRuns, liveState, nextReputation } from './verdict.js';
import { ringerVerdict } from './trust.js';
import type { TrustEvent } from './trust.js';
import { Verifier } from './verifier.js';
import { Ledger } from '../ledger/ledger.js';
import type { PaidRun } from '../ledger/ledger.js';
import type { TrustConfig } from './verifier.js';

export interface SchedulerConfig {
  leaseSec: number;
  offlineGraceSec: number;
  maxRetries: number;
  maxLogBytesPerRun: number;
  tickMs: number;
}

export interface SchedulerDeps {
  store: Pick<DeviceStore, 'getDevice' | 'listDevices'> & { readonly jobs: JobStore };
  links: Pick<DeviceLinks, 'call'>;
  registry: Pick<Registry, 'isOnline'>;
  events: HubEventBus;
  log: Logger;
  config: SchedulerConfig;
  now?: () => number;
  /**
   * Lease and offline-grace clocks wait for ready() (the hub calls it once devices can reconnect and renew).
   * Without it they start with start().
   */
  holdClocksUntilReady?: boolean;
  /**
   * Adaptive verification (trust.ts): single-replica batch jobs are replicated by the device's streak,
   * ringers are mixed in, wrong results slash stakes. Without it, replication is what the buyer asked.
   */
  trust?: TrustConfig;
  /** Where settled runs' earnings are written (ledger/ledger.ts); by default a ledger over `store.jobs`. */
  ledger?: Ledger;
}

export interface SchedulerFeed {
  job: [job: JobRow];
  log: [row: LogRow];
}

const BASE32 = 'abcdefghijkmnpqrstuvwxyz23456789';
export function newJobId(): string {
  const bytes = randomBytes(12);
  return `j-${[...bytes].map((b) => BASE32[b % 32]).join('')}`;
}

/** Who submits the ringers the hub mixes in (jobs whose answers it knows). */
export const RINGER_SUBMITTER = 'hub:ringer';

/** Errors a device gives when it will not take a run (as opposed to not answering). */
const REFUSALS = new Set(['E_CONFLICT', 'E_INVALID', 'E_NOT_FOUND', 'E_UNKNOWN_SLOT', 'E_UNAUTHORIZED']);

export class Scheduler {
  readonly feed = new EventEmitter<SchedulerFeed>();
  private readonly jobs: JobStore;
  private readonly ledger: Ledger;
  private readonly live = new Map<string, JobRow>();
  private readonly runs = new Map<string, RunRow[]>();
  private readonly views = new Map<string, DeviceView>();
  private readonly offlineSince = new Map<string, number>();
  private readonly refused = new Map<string, Set<string>>();
  private readonly logBytes = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private kicked = false;
  private lastPass = 0;
  private stopped = false;
  /** When devices could reconnect and renew (null: not yet; no run is lost before). */
  private readyAt: number | null = null;
  private readonly now: () => number;
  /** Adaptive verification, when on. */
  readonly verifier: Verifier | null;
  /** Live ringers by job id. */
  private readonly ringers = new Map<string, RingerRow>();

  constructor(private readonly d: SchedulerDeps) {
    this.jobs = d.store.jobs;
    this.ledger = d.ledger ?? new Ledger(this.jobs);
    this.now = d.now ?? Date.now;
    this.verifier = d.trust ? new Verifier(this.jobs, d.trust) : null;
  }

  get config(): SchedulerConfig {
    return this.d.config;
  }

  // ------------------------------------------------------------------------------------------------
  // life cycle

  start(): void {
    const now = this.now();
    for (const job of this.jobs.liveJobs()) {
      this.live.set(job.id, job);
      const ringer = this.jobs.getRinger(job.id);
      if (ringer) this.ringers.set(job.id, ringer);
      const runs = this.jobs.runsOf(job.id);
      this.runs.set(job.id, runs);
      // the hub was down: every device gets a fresh lease and grace period to come back
      for (const r of runs) if (isActive(r.state)) this.patchRun(r, { leaseUntil: now + this.d.config.leaseSec * 1000 });
    }
    for (const row of this.d.store.listDevices()) {
      if (this.d.registry.isOnline(row.id)) this.refreshDevice(row.id);
      else this.offlineSince.set(row.id, now);
    }
    this.d.events.on('online', this.onOnline);
    this.d.events.on('offline', this.onOffline);
    if (!this.d.holdClocksUntilReady) this.readyAt = now;
    this.timer = setInterval(() => this.tick(), this.d.config.tickMs);
    this.timer.unref();
    this.kick();
  }

  /** Devices can reconnect and renew from now on: the lease and offline-grace clocks count from here. */
  ready(at = this.now()): void {
    this.readyAt ??= at;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.d.events.off('online', this.onOnline);
    this.d.events.off('offline', this.onOffline);
    this.feed.removeAllListeners();
  }

  private readonly onOnline = (id: string) => {
    this.offlineSince.delete(id);
    this.refreshDevice(id);
    this.kick();
  };

  private readonly onOffline = (id: string) => {
    this.offlineSince.set(id, this.now());
    this.views.delete(id);
  };

  private refreshDevice(id: string): void {
    const row = this.d.store.getDevice(id);
    if (!row) return;
    const view = deviceView(row, this.market(id));
    if (this.verifier) {
      view.rank = this.verifier.rank(id, view.owner, view.reputation);
      if (this.verifier.quarantined(view.owner)) Object.assign(view, { healthy: false, quarantined: true });
    }
    this.views.set(id, view);
  }

  market(deviceId: string): MarketRow {
    return this.jobs.getMarket(deviceId) ?? { deviceId, owner: null, reputation: DEFAULT_REPUTATION, agreed: 0, dissented: 0, lost: 0, healthy: true, healthReason: null };
  }

  /** Asks for a scheduling pass soon (coalesced). */
  kick(): void {
    if (this.kicked || this.stopped) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      if (!this.stopped) this.schedule();
    });
  }

  /**
   * Periodic work: leases and the offline grace period. Scheduling passes run when something changed
   * (kick); the tick adds one now and then as a safety net, since a pass costs jobs x devices.
   */
  tick(): void {
    const now = this.now();
    const clock = { readyAt: this.readyAt, leaseSec: this.d.config.leaseSec, offlineGraceSec: this.d.config.offlineGraceSec };
    // a loss earlier in the plan may have ended a run later in it (a job past its retries cancels its runs)
    for (const e of planExpiries(this.runs, this.offlineSince, now, clock)) if (isActive(e.run.state)) this.loseRun(e.jobId, e.run, e.reason);
    if (now - this.lastPass >= this.d.config.tickMs * 10) this.schedule();
  }

  // ------------------------------------------------------------------------------------------------
  // queue

  submit(spec: JobSpec, submittedBy: string, key?: string): { jobId: string; state: JobState; duplicate: boolean } {
    if (key) {
      const prior = this.jobs.findJobByKey(key);
      // a key is the submitter's own: someone else's job behind it is neither answered nor revealed
      if (prior && prior.submittedBy !== submittedBy) throw new SosnaError('E_CONFLICT', `submit key ${key} is taken: use another key`);
      if (prior) return { jobId: prior.id, state: prior.state, duplicate: true };
    }
    const known = this.d.store.listDevices().map((row) => this.views.get(row.id) ?? deviceView(row, this.market(row.id)));
    const why = explainNoMatch(known, { bid: spec.bid, resources: spec.resources, constraints: spec.constraints }, spec.replicas);
    if (why) throw new SosnaError('E_INVALID', `the job cannot run on this hub: ${why}`);
    const job = this.enqueue(spec, submittedBy, key);
    return { jobId: job.id, state: job.state, duplicate: false };
  }

  /** Queues a job (a ringer: with the device it is for and its known answer). */
  private enqueue(spec: JobSpec, submittedBy: string, key?: string, ringer?: Omit<RingerRow, 'jobId'>): JobRow {
    const now = this.now();
    const job: JobRow = {
      id: newJobId(), spec, state: 'queued', reason: null, replicas: spec.replicas, retries: 0, digest: null, exitCode: null,
      submittedBy, key: key ?? null, createdAt: now, updatedAt: now, finishedAt: null,
    };
    this.jobs.tx(() => {
      this.jobs.insertJob(job);
      this.jobs.addEvent({ jobId: job.id, runId: null, at: now, from: null, to: 'queued', reason: `submitted by ${submittedBy}` });
      if (ringer) this.jobs.insertRinger({ jobId: job.id, ...ringer });
    });
    this.live.set(job.id, job);
    this.runs.set(job.id, []);
    if (ringer) this.ringers.set(job.id, { jobId: job.id, ...ringer });
    this.d.log.info('job queued', { jobId: job.id, image: spec.image, replicas: spec.replicas, bid: spec.bid });
    this.feed.emit('job', job);
    this.kick();
    return job;
  }

  private gate: ((job: JobRow) => string | null) | null = null;

  /**
   * A check before a job's first run is placed (the escrow: a buyer's job waits for its deposit). It answers
   * why the job must wait (kept as the job's reason, `awaiting-funds: ...`), or null.
   */
  setGate(gate: (job: JobRow) => string | null): void {
    this.gate = gate;
    this.kick();
  }

  private holdIfUnfunded(job: JobRow, runs: RunRow[]): boolean {
    if (!this.gate || runs.length > 0) return false;
    const why = this.gate(job);
    const wasHeld = job.reason?.startsWith('awaiting-funds') ?? false;
    if (why === null) {
      if (wasHeld) {
        job.reason = null;
        this.jobs.updateJob(job.id, { reason: null, updatedAt: this.now() });
        this.jobs.addEvent({ jobId: job.id, runId: null, at: this.now(), from: job.state, to: job.state, reason: 'funded' });
        this.feed.emit('job', job);
      }
      return false;
    }
    if (job.reason !== why) {
      job.reason = why;
      this.jobs.updateJob(job.id, { reason: why, updatedAt: this.now() });
      if (!wasHeld) this.jobs.addEvent({ jobId: job.id, runId: null, at: this.now(), from: job.state, to: job.state, reason: why });
      this.feed.emit('job', job);
    }
    return true;
  }

  /** Dispatch again now (a deposit arrived). */
  wake(): void {
    this.kick();
  }

  cancel(jobId: string, reason: string): JobRow {
    const job = this.live.get(jobId);
    if (!job) {
      const done = this.jobs.getJob(jobId);
      if (!done) throw new SosnaError('E_NOT_FOUND', `no job ${jobId}`);
      if (done.state === 'cancelled') return done;
      throw new SosnaError('E_CONFLICT', `job ${jobId} already ${done.state}`);
    }
    const toStop: RunRow[] = [];
    this.jobs.tx(() => {
      for (const r of this.runs.get(jobId) ?? []) {
        if (!isActive(r.state)) continue;
        this.moveRun(r, 'cancelled', reason);
        toStop.push(r);
      }
      this.moveJob(job, 'cancelled', reason);
      this.jobs.updateJob(job.id, { finishedAt: this.now() });
    });
    this.forget(job);
    for (const r of toStop) {
      this.d.links.call(r.deviceId, 'jobs', 'cancel', { id: r.id, reason }, { timeoutMs: 10_000 }).catch((err: unknown) =>
        this.d.log.debug('cancel not delivered (the lease will say it)', { runId: r.id, error: (err as Error).message }),
      );
    }
    this.kick();
    return job;
  }

  getJob(jobId: string): JobRow | undefined {
    return this.live.get(jobId) ?? this.jobs.getJob(jobId);
  }

  runsOf(jobId: string): RunRow[] {
    return this.runs.get(jobId) ?? this.jobs.runsOf(jobId);
  }

  /** The run with this id when the given device holds (or held) it. */
  findRun(runId: string, deviceId: string): { job: JobRow | undefined; run: RunRow } | undefined {
    const jobId = runId.split('.')[0]!;
    const run = (this.runs.get(jobId) ?? []).find((r) => r.id === runId) ?? this.jobs.getRun(runId);
    if (!run || run.deviceId !== deviceId) return undefined;
    return { job: this.getJob(jobId), run };
  }

  /**
   * A device's run got a whole piece of its job's input from `peer` that failed its hash (the device
   * dropped that peer and fetched the piece elsewhere). Counted against the device serving the job's
   * input at `peer` (its reputation drops, a job event says why) only when: the reporting run is active
   * and its job has an input; `peer` is an input endpoint another device's run of the same job reported
   * itself, or a port on the host of exactly one such device (so a device can only accuse the replicas
   * of its own job, the ones it was told to fetch from); and the
   * reporter has not already had a report against that device counted for this job (one per pair per job,
   * kept as a job event, so a restart does not reset it). See docs/architecture.md "Corrupted pieces".
   */
  reportBadPiece(reporter: RunRow, job: JobRow | undefined, peer: string, piece: number): { counted: boolean; deviceId: string | null; reason: string } {
    if (!job?.spec.input) return { counted: false, deviceId: null, reason: `job ${reporter.jobId} has no input` };
    if (!isActive(reporter.state)) return { counted: false, deviceId: null, reason: `run ${reporter.id} is ${reporter.state}` };
    // the address a peer connected from is not the one it serves at (an outgoing connection's port is
    // ephemeral): then the one other device of the job serving from that host, if it is only one
    const others = this.runsOf(job.id).filter((r) => r.id !== reporter.id && r.deviceId !== reporter.deviceId);
    const host = peer.slice(0, peer.lastIndexOf(':'));
    const onHost = others.filter((r) => r.endpoints.some((e) => e.startsWith(`bt-in://${host}:`)));
    const accused = others.find((r) => r.endpoints.includes(`bt-in://${peer}`)) ?? (new Set(onHost.map((r) => r.deviceId)).size === 1 ? onHost[0] : undefined);
    if (!accused) return { counted: false, deviceId: null, reason: `${peer} is not where another run of job ${job.id} serves its input` };
    const tag = `corrupted input piece: device ${accused.deviceId} reported by device ${reporter.deviceId}`;
    if (this.jobs.eventsOf(job.id).some((e) => e.reason?.startsWith(tag))) {
      return { counted: false, deviceId: accused.deviceId, reason: `device ${reporter.deviceId} already reported device ${accused.deviceId} for job ${job.id} (one counted report per pair and job)` };
    }
    const m = this.market(accused.deviceId);
    const reputation = nextReputation(m.reputation, 'corrupt');
    const reason = `${tag} (piece ${piece} from ${peer} failed its hash; reputation ${m.reputation} -> ${reputation})`;
    this.jobs.tx(() => {
      this.jobs.putMarket({ ...m, reputation });
      this.jobs.addEvent({ jobId: job.id, runId: accused.id, at: this.now(), from: accused.state, to: accused.state, reason });
    });
    this.d.log.warn('a device served a corrupted piece of a job input', { jobId: job.id, deviceId: accused.deviceId, reporter: reporter.deviceId, piece, reputation });
    return { counted: true, deviceId: accused.deviceId, reason };
  }

  // ------------------------------------------------------------------------------------------------
  // dispatch

  /** Current use of each device by the runs it holds. */
  usage(): Map<string, Usage> {
    const usage = new Map<string, Usage>();
    for (const [jobId, runs] of this.runs) {
      const spec = this.live.get(jobId)?.spec;
      if (!spec) continue;
      for (const r of runs) {
        if (!isActive(r.state)) continue;
        let u = usage.get(r.deviceId);
        if (!u) usage.set(r.deviceId, (u = emptyUsage()));
        u.jobs++;
        u.cpus += spec.resources.cpus;
        u.memoryBytes += spec.resources.memoryBytes;
        u.gpus.push(...r.gpus);
      }
    }
    return usage;
  }

  /** The online devices as the matcher sees them (what `console offers` groups). */
  onlineViews(): DeviceView[] {
    return [...this.views.values()];
  }

  /** One pass: settle what can be settled, then place the runs that are missing. */
  schedule(): number {
    this.lastPass = this.now();
    const needs: JobNeed[] = [];
    const slots = new Map<string, number[]>();
    for (const job of [...this.live.values()]) {
      const runs = this.runs.get(job.id) ?? [];
      const decision = decide(job, runs);
      if (decision.kind === 'succeed' || decision.kind === 'fail') {
        this.settle(job, decision);
        continue;
      }
      if (decision.kind === 'add-replica') {
        this.jobs.tx(() => {
          job.replicas++;
          this.jobs.updateJob(job.id, { replicas: job.replicas, updatedAt: this.now() });
          this.jobs.addEvent({ jobId: job.id, runId: null, at: this.now(), from: job.state, to: job.state, reason: `${decision.reason}: one more replica` });
        });
        this.kick();
        continue;
      }
      if (decision.kind !== 'place') continue;
      if (this.holdIfUnfunded(job, runs)) continue;
      if (this.verifier && this.dropUnplaceableCheck(job, runs, decision.replicas)) continue;
      const ringer = this.ringers.get(job.id);
      if (ringer && !this.views.has(ringer.deviceId)) {
        this.cancel(job.id, `check dropped: device ${ringer.deviceId} is offline`); // a ringer waits for no one
        continue;
      }
      const held = runs.filter((r) => isActive(r.state) || r.state === 'succeeded' || r.state === 'failed');
      needs.push({
        jobId: job.id,
        count: decision.replicas.length,
        bid: job.spec.bid,
        resources: job.spec.resources,
        constraints: job.spec.constraints,
        excludeDevices: new Set([...runs.filter((r) => r.replica < job.replicas && r.state !== 'lost').map((r) => r.deviceId), ...(this.refused.get(job.id) ?? [])]),
        excludeOwners: new Set(held.map((r) => r.owner)),
        onlyDevice: ringer?.deviceId,
      });
      slots.set(job.id, decision.replicas);
    }
    if (needs.length === 0) return 0;
    needs.sort((a, b) => (a.bid === b.bid ? this.live.get(a.jobId)!.createdAt - this.live.get(b.jobId)!.createdAt : a.bid > b.bid ? -1 : 1));
    const plan = planDispatch(needs, [...this.views.values()], this.usage());
    const now = this.now();
    const started: { run: RunRow; job: JobRow }[] = [];
    this.jobs.tx(() => {
      for (const a of plan) {
        const job = this.live.get(a.jobId)!;
        const replica = slots.get(a.jobId)!.shift()!;
        const runs = this.runs.get(job.id)!;
        const attempt = runs.filter((r) => r.replica === replica).length;
        const run: RunRow = {
          id: runIdOf(job.id, replica, attempt), jobId: job.id, replica, attempt, deviceId: a.deviceId, owner: a.owner, state: 'assigned', reason: null,
          exitCode: null, oom: false, digest: null, assignedAt: now, startedAt: null, finishedAt: null, runtimeMs: null,
          leaseUntil: now + this.d.config.leaseSec * 1000, endpoints: [], restarts: 0, gpus: a.gpus, verdict: null, billedSec: null, amount: null,
        };
        this.jobs.insertRun(run);
        this.jobs.addEvent({ jobId: job.id, runId: run.id, at: now, from: 'queued', to: 'assigned', reason: `device ${a.deviceId}` });
        runs.push(run);
        this.syncJobState(job);
        started.push({ run, job });
        if (this.verifier) this.verifyDispatch(this.verifier, job, run);
      }
    });
    for (const { run, job } of started) this.sendStart(job, run);
    return plan.length;
  }

  /**
   * Adaptive verification at dispatch: a single-replica batch job gets a second replica with the device's
   * replication chance (when another owner could run it), and a ringer may follow for the same device.
   */
  private verifyDispatch(v: Verifier, job: JobRow, run: RunRow): void {
    if (this.ringers.has(job.id)) return;
    const spec = job.spec;
    const others = [...this.views.values()].filter((w) => w.owner !== run.owner);
    const need = (s: JobSpec) => ({ bid: s.bid, resources: s.resources, constraints: s.constraints });
    if (spec.kind === 'batch' && spec.verify !== false && spec.replicas === 1 && job.replicas === 1 && run.replica === 0 && others.some((w) => staticMismatch(w, need(spec)) === null)) {
      const { replicate, chance } = v.drawReplication(run.deviceId, run.owner);
      if (replicate) {
        job.replicas = 2;
        this.jobs.updateJob(job.id, { replicas: 2, updatedAt: this.now() });
        this.jobs.addEvent({ jobId: job.id, runId: null, at: this.now(), from: job.state, to: job.state, reason: `verification: replicated (chance ${chance.toFixed(3)} for ${run.deviceId})` });
        this.kick();
      }
    }
    const device = this.views.get(run.deviceId);
    const ringer = device ? v.pickRinger((s) => staticMismatch(device, need(s)) === null) : null;
    if (ringer) this.enqueue(ringer.spec, RINGER_SUBMITTER, undefined, { deviceId: run.deviceId, expected: ringer.digest });
  }

  /**
   * A verification replica that no other owner online can run any more (they left after the draw) is
   * dropped once the first result is in, so that the job does not wait for ever; true when dropped.
   */
  private dropUnplaceableCheck(job: JobRow, runs: RunRow[], missing: number[]): boolean {
    if (job.spec.replicas !== 1 || job.replicas !== 2 || missing.length !== 1 || missing[0] !== 1 || runs.some((r) => r.replica === 1)) return false;
    const first = latestRuns(runs).get(0);
    if (!first || (first.state !== 'succeeded' && first.state !== 'failed')) return false;
    const need = { bid: job.spec.bid, resources: job.spec.resources, constraints: job.spec.constraints };
    if ([...this.views.values()].some((w) => w.owner !== first.owner && staticMismatch(w, need) === null)) return false;
    this.jobs.tx(() => {
      job.replicas = 1;
      this.jobs.updateJob(job.id, { replicas: 1, updatedAt: this.now() });
      this.jobs.addEvent({ jobId: job.id, runId: null, at: this.now(), from: job.state, to: job.state, reason: 'verification dropped: no other owner online can run it' });
    });
    this.kick();
    return true;
  }

  private sendStart(job: JobRow, run: RunRow): void {
    const params: { job: DeviceJob } = { job: { id: run.id, jobId: job.id, spec: job.spec, leaseSec: this.d.config.leaseSec, issuedAt: run.assignedAt } };
    this.d.links.call(run.deviceId, 'jobs', 'start', params, { timeoutMs: 15_000 }).then(
      () => this.d.log.debug('run accepted', { runId: run.id, deviceId: run.deviceId }),
      (err: unknown) => {
        const e = err as SosnaError;
        this.d.log.warn('run not started', { runId: run.id, deviceId: run.deviceId, error: e.message });
        if (!REFUSALS.has(e.code) || !this.live.has(job.id) || run.state !== 'assigned') return; // no answer: the lease decides
        let set = this.refused.get(job.id);
        if (!set) this.refused.set(job.id, (set = new Set()));
        set.add(run.deviceId);
        this.jobs.tx(() => this.moveRun(run, 'lost', `device refused: ${e.message}`));
        this.syncJobState(job);
        this.kick();
      },
    );
  }

  // ------------------------------------------------------------------------------------------------
  // state changes

  /** Applies a device's report to a run (walking the transition table); returns false when it changed nothing. */
  applyReport(run: RunRow, to: JobState, patch: Partial<RunRow>, reason: string | null): boolean {
    const job = this.live.get(run.jobId);
    if (!job || !isActive(run.state)) return false;
    const target = to === 'cancelled' ? 'lost' : to; // a run the device dropped by itself goes back to the queue
    const path = transitionPath(run.state, target);
    if (path === null) throw new SosnaError('E_CONFLICT', `run ${run.id} cannot go from ${run.state} to ${to}`);
    this.jobs.tx(() => {
      this.patchRun(run, { ...patch, leaseUntil: this.now() + this.d.config.leaseSec * 1000 });
      for (const step of path) this.moveRun(run, step, step === target ? (to === 'cancelled' ? `cancelled on the device: ${reason ?? ''}`.trim() : reason) : null);
      if (target === 'lost') this.countLost(job, run);
      this.syncJobState(job);
    });
    if (!isActive(run.state)) this.kick();
    return true;
  }

  renewLease(run: RunRow): void {
    this.patchRun(run, { leaseUntil: this.now() + this.d.config.leaseSec * 1000 });
  }

  setHealth(deviceId: string, healthy: boolean, reason: string | null): void {
    const m = this.market(deviceId);
    if (m.healthy === healthy && m.healthReason === reason) return;
    this.jobs.putMarket({ ...m, healthy, healthReason: reason });
    this.d.log.warn(healthy ? 'device healthy again' : 'device marked unhealthy', { deviceId, reason });
    this.refreshDevice(deviceId);
    if (!this.d.registry.isOnline(deviceId)) this.views.delete(deviceId);
    if (healthy) this.kick();
  }

  /** Stores output of a run within the per-run bound; returns the pieces accepted. */
  appendLogs(run: RunRow, pieces: { stream: LogRow['stream']; data: string; at: number }[], dropped: number): number {
    const max = this.d.config.maxLogBytesPerRun;
    let used = this.logBytes.get(run.id) ?? 0;
    const rows: Omit<LogRow, 'seq'>[] = [];
    if (dropped > 0) rows.push({ jobId: run.jobId, runId: run.id, at: this.now(), stream: 'system', data: `[${dropped} bytes of output dropped by the device: rate limit]\n` });
    let accepted = 0;
    for (const p of pieces) {
      if (!p.data) continue;
      if (used >= max) break;
      const data = used + p.data.length > max ? p.data.slice(0, max - used) : p.data;
      used += data.length;
      rows.push({ jobId: run.jobId, runId: run.id, at: p.at, stream: p.stream, data });
      accepted++;
      if (used >= max) rows.push({ jobId: run.jobId, runId: run.id, at: this.now(), stream: 'system', data: `\n[output beyond ${max} bytes is not kept]\n` });
    }
    this.logBytes.set(run.id, used);
    if (rows.length === 0) return 0;
    const seqs = this.jobs.appendLogs(rows);
    rows.forEach((r, i) => this.feed.emit('log', { ...r, seq: seqs[i]! }));
    return accepted;
  }

  private patchRun(run: RunRow, patch: Partial<RunRow>): void {
    Object.assign(run, patch);
    this.jobs.updateRun(run.id, patch);
  }

  private moveRun(run: RunRow, to: JobState, reason: string | null): void {
    const from = run.state;
    const now = this.now();
    this.patchRun(run, { state: to, ...(reason !== null ? { reason } : {}), ...(isFinal(to) || to === 'lost' ? { finishedAt: run.finishedAt ?? now } : {}) });
    this.jobs.addEvent({ jobId: run.jobId, runId: run.id, at: now, from, to, reason });
  }

  private moveJob(job: JobRow, to: JobState, reason: string | null): void {
    const path = transitionPath(job.state, to);
    if (path === null) {
      this.d.log.warn('job state change not allowed by the table', { jobId: job.id, from: job.state, to });
      return;
    }
    const now = this.now();
    for (const step of path) {
      this.jobs.addEvent({ jobId: job.id, runId: null, at: now, from: job.state, to: step, reason: step === to ? reason : null });
      job.state = step;
    }
    job.updatedAt = now;
    // the reason tells the present state: a final state sets it (a job that succeeded after a loss has none:
    // the loss stays in its history); a loss sets it until the job ends
    if (isFinal(to)) job.reason = reason;
    else if (reason !== null && to === 'lost') job.reason = reason;
    this.jobs.updateJob(job.id, { state: job.state, updatedAt: now, reason: job.reason });
    this.feed.emit('job', job);
  }

  /** Moves a live job to what its runs say (never backwards, except through `lost` to `queued`). */
  private syncJobState(job: JobRow): void {
    const want = liveState(this.runs.get(job.id) ?? []);
    const rank: Partial<Record<JobState, number>> = { queued: 0, assigned: 1, pulling: 2, running: 3 };
    if (want === job.state) return;
    if (want === 'queued') {
      // only a lost (or dropped) run sends a job back; finished runs wait for the verdict
      const lost = [...latestRuns(this.runs.get(job.id) ?? []).values()].find((r) => r.state === 'lost' || r.state === 'cancelled');
      if (!lost || job.state === 'queued') return;
      this.moveJob(job, 'lost', lost.reason ?? 'run lost');
      this.moveJob(job, 'queued', 'requeued');
      return;
    }
    if ((rank[want] ?? 0) > (rank[job.state] ?? 0)) this.moveJob(job, want, null);
  }

  private loseRun(jobId: string, run: RunRow, reason: string): void {
    const job = this.live.get(jobId);
    if (!job) return;
    this.d.log.warn('run lost', { runId: run.id, deviceId: run.deviceId, reason });
    this.jobs.tx(() => {
      this.moveRun(run, 'lost', reason);
      this.countLost(job, run);
      this.syncJobState(job);
    });
    this.kick();
  }

  private countLost(job: JobRow, run: RunRow): void {
    job.retries++;
    this.jobs.updateJob(job.id, { retries: job.retries });
    const m = this.market(run.deviceId);
    this.jobs.putMarket({ ...m, lost: m.lost + 1, reputation: nextReputation(m.reputation, 'lost') });
    if (job.retries > this.d.config.maxRetries) {
      for (const r of this.runs.get(job.id) ?? []) if (isActive(r.state)) this.moveRun(r, 'cancelled', 'job failed');
      this.moveJob(job, 'failed', `lost ${job.retries} times (last: ${run.reason ?? 'device gone'})`);
      this.jobs.updateJob(job.id, { finishedAt: this.now() });
      this.forget(job);
    }
  }

  /** Final verdict: job state, per-run verdicts, reputation and the ledger's entries, in one transaction. */
  private settle(job: JobRow, verdict: Extract<ReturnType<typeof decide>, { kind: 'succeed' | 'fail' }>): void {
    const runs = this.runs.get(job.id) ?? [];
    const byId = new Map(runs.map((r) => [r.id, r]));
    const ringer = this.ringers.get(job.id);
    let decision = verdict;
    // a ringer's single result is checked against the answer the hub knows; a wrong one is a dissent
    const ringerEvents = new Map<string, TrustEvent>();
    if (ringer) {
      for (const id of [...verdict.agree, ...verdict.dissent]) {
        const e = ringerVerdict(ringer.expected, byId.get(id)!);
        if (e) ringerEvents.set(id, e);
      }
      const wrong = [...ringerEvents].filter(([, e]) => e === 'wrong').map(([id]) => id);
      if (wrong.length) decision = { kind: 'fail', reason: 'wrong answer', exitCode: verdict.exitCode, agree: verdict.agree.filter((id) => !wrong.includes(id)), dissent: [...verdict.dissent, ...wrong] };
    }
    const replicated = job.spec.replicas > 1 || job.replicas > 1 || ringerEvents.size > 0;
    const now = this.now();
    this.jobs.tx(() => {
      const paid: PaidRun[] = [];
      for (const id of decision.agree) {
        const r = byId.get(id)!;
        const seconds = billedSeconds(r.runtimeMs, job.spec.timeoutSec);
        const amount = amountFor(seconds, job.spec.bid);
        this.patchRun(r, { verdict: replicated ? 'agree' : null, billedSec: seconds, amount });
        paid.push({ runId: r.id, deviceId: r.deviceId, owner: r.owner, seconds, amount });
      }
      this.ledger.record({ jobId: job.id, price: job.spec.bid }, paid, now);
      for (const id of decision.dissent) this.patchRun(byId.get(id)!, { verdict: 'dissent', billedSec: 0, amount: 0n });
      if (replicated) {
        for (const [ids, event] of [[decision.agree, 'agree'], [decision.dissent, 'dissent']] as const) {
          for (const id of ids) {
            const r = byId.get(id)!;
            const m = this.market(r.deviceId);
            this.jobs.putMarket({
              ...m, reputation: nextReputation(m.reputation, event),
              agreed: m.agreed + (event === 'agree' ? 1 : 0), dissented: m.dissented + (event === 'dissent' ? 1 : 0),
            });
            this.refreshDeviceIfOnline(r.deviceId);
          }
        }
      }
      // verification records and slashes: only where a result was proven (a majority, or a ringer's answer)
      if (this.verifier) {
        const proven = ringer ? ringerEvents : new Map<string, TrustEvent>(replicated && decision.agree.length ? [...decision.agree.map((id) => [id, 'agree'] as const), ...decision.dissent.map((id) => [id, 'wrong'] as const)] : []);
        for (const [id, event] of proven) {
          const r = byId.get(id)!;
          const why = ringer ? `wrong answer to a check (job ${job.id})` : `outvoted on job ${job.id}`;
          const slash = this.verifier.record(r.deviceId, r.owner, event, r.id, why, now);
          if (slash) this.d.log.warn('stake slashed', { owner: slash.owner, amount: slash.amount, runId: r.id, reason: why });
          this.refreshDeviceIfOnline(r.deviceId);
        }
      }
      job.digest = decision.kind === 'succeed' ? decision.digest : null;
      job.exitCode = decision.exitCode;
      this.jobs.updateJob(job.id, { digest: job.digest, exitCode: job.exitCode, finishedAt: now });
      this.moveJob(job, decision.kind === 'succeed' ? 'succeeded' : 'failed', decision.kind === 'fail' ? decision.reason : null);
    });
    this.d.log.info(`job ${job.state}`, { jobId: job.id, reason: job.reason ?? undefined, digest: job.digest ?? undefined });
    this.forget(job);
  }

  /** Rebuilds an online device's view (its owner's stake changed). */
  refreshView(id: string): void {
    this.refreshDeviceIfOnline(id);
  }

  private refreshDeviceIfOnline(id: string): void {
    if (this.views.has(id)) this.refreshDevice(id);
  }

  private forget(job: JobRow): void {
    this.live.delete(job.id);
    for (const r of this.runs.get(job.id) ?? []) this.logBytes.delete(r.id);
    this.runs.delete(job.id);
    this.refused.delete(job.id);
    this.ringers.delete(job.id);
  }

  /** The owner a device earns for (explicit, else its fleet). */
  ownerOf(deviceId: string): string {
    const row = this.d.store.getDevice(deviceId);
    return ownerOf(deviceId, row?.fleet ?? null, this.jobs.getMarket(deviceId), declaredOwner(row?.inventory));
  }
}
