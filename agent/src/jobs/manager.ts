// The runs on this device: the `jobs` RPC service the hub calls (start acknowledges only after the run
// is persisted; a known id answers what it has), one runner per run, reports to the hub until it has
// them, lease renewals, and recovery after a restart (records + containers found by their labels).
import { networkInterfaces, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { hubJobsService, isFinal, SosnaError } from '@sosna/protocol';
import type { CallOptions, DeviceConfig, Receipt, SignedReceipt, DeviceJob, deviceJobsService, Handlers, Logger, LogPiece, Params, Result, RunReport } from '@sosna/protocol';
import type { Engine } from './engine.js';
import { messageOf } from './engine.js';
import { Demuxer } from './demux.js';
import { LogForwarder } from './forwarder.js';
import { JobRecords, newRecord, reportOf } from './records.js';
import type { JobRecord } from './records.js';
import { JobRunner } from './runner.js';
import { JobData } from './data.js';
import { LABEL_DEVICE, LABEL_JOB } from './container-spec.js';
import { deviceHealth } from './watchdog.js';

type HubService = typeof hubJobsService;
/** How the manager reaches the hub (the agent's link). */
export interface HubCalls {
  connected(): boolean;
  call<K extends keyof HubService['methods'] & string>(spec: HubService, method: K, params: Params<HubService, K>, opts?: CallOptions): Promise<Result<HubService, K>>;
}

/** Watches the runs as they change (the local dashboard): every saved state, every accepted piece of output. */
export interface JobEvents {
  update(job: DeviceJob, report: RunReport): void;
  log(id: string, piece: LogPiece): void;
}

export interface JobManagerDeps {
  config: DeviceConfig['jobs'];
  stateDir: string;
  deviceId: string;
  engine: Engine | null;
  hub: HubCalls;
  log: Logger;
  events?: JobEvents;
  /** Rig mode (mining/profit.ts): why a run may not start (it pays less than mining), or null. */
  admit?: (job: DeviceJob) => string | null;
  /** Rig mode: the GPUs an admitted run is placed on (inventory indices, the driver's ids), or null (any N). */
  placeGpus?: (job: DeviceJob) => { gpus: number[]; deviceIds: string[] } | null;
  /** Rig mode: the ask now, when the owner tied it to mining (else config jobs.askPerSec). */
  askPerSec?: () => bigint;
  /** Signs finished runs' receipts with the device key (device-key.ts). */
  sign?: (receipt: Receipt) => SignedReceipt;
}

export function firstPublicIpv4(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

export class JobManager {
  private readonly records: JobRecords;
  private readonly runners = new Map<string, JobRunner>();
  private readonly forwarders = new Map<string, LogForwarder>();
  private leaseSec = 30;
  private leaseTimer: NodeJS.Timeout | null = null;
  /** When the lease timer fires (ms since the epoch). */
  private leaseDue = 0;
  private reporting: Promise<void> | null = null;
  private again = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private stalls: number[] = [];
  private gpuFault: string | null = null;
  /** The health the hub last heard from us (null: not since this connection). */
  private sentHealthy: boolean | null = null;
  private stopped = false;
  /** Job data peer to peer: inputs fetched and served to other replicas, outputs served to buyers. */
  readonly data: JobData;

  constructor(private readonly d: JobManagerDeps) {
    this.records = new JobRecords(join(d.stateDir, 'jobs'), (why) => d.log.warn('ignoring an unreadable job record', { why }));
    this.data = new JobData({
      dir: join(d.stateDir, 'data'),
      publicHost: d.config.publicHost ?? firstPublicIpv4(),
      log: d.log,
      onBadPeer: (runId, peer, piece) => {
        d.log.warn('a peer sent a corrupted piece; dropped it and fetched the piece elsewhere', { runId, peer, piece });
        // the hub lowers the reputation of the device serving there (within its limits: see badPiece)
        d.hub.call(hubJobsService, 'badPiece', { id: runId, peer, piece }, { timeoutMs: 10_000 }).then(
          (r) => d.log.info(r.counted ? 'the hub counted the corrupted piece' : 'the hub did not count the corrupted piece', { runId, peer, deviceId: r.deviceId, reason: r.reason }),
          (err: unknown) => d.log.warn('could not report the corrupted piece to the hub', { runId, peer, error: (err as Error).message }),
        );
      },
    });
  }

  /** What the birth offers: the engine (null: none), the ask and the capacity. */
  capability(): { engine: { name: string; version: string; apiVersion: string } | null; askPerSec: string; capacity: { cpus: number; memoryBytes: number; jobs: number } } {
    const e = this.d.engine;
    const c = this.d.config;
    return {
      engine: e ? { name: e.name, version: e.version, apiVersion: e.apiVersion } : null,
      askPerSec: this.d.askPerSec ? this.d.askPerSec().toString() : c.askPerSec,
      capacity: {
        cpus: c.cpus ?? cpus().length,
        memoryBytes: c.memoryBytes ?? Math.floor(totalmem() * 0.8),
        jobs: e && c.enabled ? c.maxJobs : 0,
      },
    };
  }

  /** Loads the records of an earlier process and resumes every run (re-attaching to its container). */
  async start(): Promise<void> {
    const recs = this.records.load();
    if (recs.length) this.d.log.info('resuming runs', { runs: recs.length });
    for (const rec of recs) {
      this.leaseSec = rec.job.leaseSec;
      this.d.events?.update(rec.job, reportOf(rec));
      this.spawn(rec);
    }
    await this.removeOrphans().catch((err: unknown) => this.d.log.warn('could not look for orphaned containers', { error: messageOf(err) }));
    this.scheduleLease(1000);
  }

  /** The container of a run of this device, for `remote.exec` (null: no such run, or its container is gone). */
  containerOf(runId: string): { containerId: string; state: string } | null {
    const rec = this.records.get(runId);
    if (!rec || !rec.containerId || rec.cleaned) return null;
    return { containerId: rec.containerId, state: rec.state };
  }

  /** Containers of this device with no record (the state directory was wiped): nobody will report them. */
  private async removeOrphans(): Promise<void> {
    const e = this.d.engine;
    if (!e) return;
    const list = await e.docker.listContainers({ all: true, filters: { label: [`${LABEL_DEVICE}=${this.d.deviceId}`] } });
    for (const c of list) {
      const id = c.Labels?.[LABEL_JOB];
      if (id && this.records.get(id)) continue;
      this.d.log.warn('removing a container without a record', { container: c.Id, runId: id });
      await e.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {});
    }
  }

  private spawn(rec: JobRecord): void {
    const e = this.d.engine;
    if (!e) {
      if (!isFinal(rec.state)) this.fail(rec, 'no container engine on this device any more');
      return;
    }
    const forwarder = new LogForwarder({
      bytesPerSec: this.d.config.logBytesPerSec,
      send: (pieces: LogPiece[], dropped: number) => this.sendLogs(rec.job.id, pieces, dropped),
      onDone: (raw) => (rec.forwardedBytes += raw),
      ...(this.d.events ? { onPiece: (piece: LogPiece) => this.d.events!.log(rec.job.id, piece) } : {}),
    });
    this.forwarders.set(rec.job.id, forwarder);
    const runner = new JobRunner(rec, {
      engine: e,
      deviceId: this.d.deviceId,
      publicHost: this.d.config.publicHost ?? firstPublicIpv4(),
      bindAddress: this.d.config.bindAddress,
      pidsLimit: this.d.config.pidsLimit,
      tmpDir: join(this.d.stateDir, 'tmp'),
      log: this.d.log,
      forwarder,
      save: (r, report) => this.save(r, report),
      onStallFailure: () => this.stalls.push(Date.now()),
      ...(this.d.sign ? { sign: this.d.sign } : {}),
      data: this.data,
      // while a run fetches its input, renew often: the answers name the other replicas to fetch from
      // sooner only: a fetch asks about every second, which must not put the renewal off again and again
      // (then no peer list and no lease renewal would come while the fetch waits for peers)
      askPeers: () => this.scheduleLease(1000, true),
    });
    this.runners.set(rec.job.id, runner);
    runner.start();
    void runner.done.then(() => {
      forwarder.dispose();
      this.forget(rec);
    });
  }

  private save(rec: JobRecord, report: boolean): void {
    if (this.stopped && !report) return;
    this.d.events?.update(rec.job, reportOf(rec));
    try {
      this.records.save(rec);
    } catch (err) {
      this.d.log.error('could not persist a job record', { runId: rec.job.id, error: messageOf(err) });
    }
    if (report) this.kickReports();
  }

  private fail(rec: JobRecord, reason: string): void {
    Object.assign(rec, { state: 'failed', reason, finishedAt: Date.now(), cleaned: true });
    rec.seq++;
    this.save(rec, true);
  }

  /** A record goes once its run is over, its container removed, and the hub has the last word (or gave it up). */
  private forget(rec: JobRecord): void {
    if (!rec.cleaned) return;
    if (!rec.abandoned && (!isFinal(rec.state) || rec.reportedSeq < rec.seq)) return;
    this.records.remove(rec.job.id, rec.state);
    this.runners.delete(rec.job.id);
    this.forwarders.delete(rec.job.id);
  }

  /** Rig mode: the GPUs (inventory indices) a run was placed on, when the rig chose them. */
  gpusOf(id: string): number[] | undefined {
    return this.records.get(id)?.gpus;
  }

  handlers(): Handlers<typeof deviceJobsService> {
    return {
      start: ({ job }) => {
        const known = this.records.get(job.id);
        if (known) return { id: job.id, state: known.state, duplicate: true };
        const done = this.records.finished(job.id);
        if (done) return { id: job.id, state: done, duplicate: true };
        const refused = this.d.admit?.(job);
        if (refused) throw new SosnaError('E_CONFLICT', refused);
        if (!this.d.engine) throw new SosnaError('E_CONFLICT', 'this device has no container engine');
        if (!this.d.config.enabled) throw new SosnaError('E_CONFLICT', 'jobs are disabled on this device');
        const active = this.records.list().filter((r) => !isFinal(r.state)).length;
        if (active >= this.d.config.maxJobs) throw new SosnaError('E_CONFLICT', `this device runs ${active} jobs, its maximum`);
        const rec = newRecord(job);
        const placed = this.d.placeGpus?.(job);
        if (placed) Object.assign(rec, { gpus: placed.gpus, gpuDeviceIds: placed.deviceIds });
        this.records.save(rec); // persisted (fsync'd) before the acknowledgement
        this.d.events?.update(job, reportOf(rec));
        this.leaseSec = job.leaseSec;
        this.spawn(rec);
        this.kickReports();
        return { id: job.id, state: rec.state, duplicate: false };
      },
      cancel: async ({ id, reason }) => {
        const rec = this.records.get(id);
        if (!rec) throw new SosnaError('E_NOT_FOUND', `no run ${id} on this device`);
        await this.runners.get(id)?.cancel(reason ?? 'cancelled by the hub');
        return { id, state: rec.state };
      },
      list: () => ({ jobs: this.records.list().map((r) => reportOf(r)) }),
      logs: async ({ id, follow }, ctx) => {
        const rec = this.records.get(id);
        if (!rec) throw new SosnaError('E_NOT_FOUND', `no run ${id} on this device`);
        const e = this.d.engine;
        if (!e || !rec.containerId || rec.cleaned) return;
        const stream = (await e.docker.getContainer(rec.containerId).logs({ follow: follow as true, stdout: true, stderr: true, abortSignal: ctx.signal } as never)) as unknown;
        const emit = (s: 'stdout' | 'stderr', b: Buffer) => ctx.emit({ stream: s, data: b.toString('utf8'), at: Date.now() });
        if (Buffer.isBuffer(stream)) return void new Demuxer(emit).push(stream);
        await new Promise<void>((resolve) => {
          const s = stream as NodeJS.ReadableStream;
          const demux = new Demuxer(emit);
          s.on('data', (c: Buffer) => demux.push(c));
          s.on('end', resolve);
          s.on('close', resolve);
          s.on('error', () => resolve());
        });
      },
    };
  }

  // ------------------------------------------------------------------------------------------------
  // talking to the hub

  private async sendLogs(id: string, pieces: LogPiece[], dropped: number): Promise<void> {
    const rec = this.records.get(id);
    if (!rec || rec.abandoned) return;
    if (!this.d.hub.connected()) throw new Error('not connected');
    await this.d.hub.call(hubJobsService, 'log', { id, pieces, ...(dropped ? { dropped } : {}) }, { timeoutMs: 10_000 });
  }

  /** Sends the reports the hub has not acknowledged yet, one at a time, in order of acceptance. */
  kickReports(): void {
    if (this.reporting) {
      this.again = true;
      return;
    }
    this.reporting = this.report().finally(() => {
      this.reporting = null;
      if (this.again && !this.stopped) {
        this.again = false;
        this.kickReports();
      }
    });
  }

  private async report(): Promise<void> {
    if (!this.d.hub.connected()) return;
    const due = this.records.list().filter((r) => r.reportedSeq < r.seq && !r.abandoned).sort((a, b) => a.acceptedAt - b.acceptedAt);
    let failed = false;
    for (const rec of due) {
      const seq = rec.seq;
      try {
        if (isFinal(rec.state)) await this.forwarders.get(rec.job.id)?.flush();
        const ack = await this.d.hub.call(hubJobsService, 'update', reportOf(rec), { timeoutMs: 10_000 });
        rec.reportedSeq = Math.max(rec.reportedSeq, seq);
        if (ack.state !== rec.state && (isFinal(ack.state) || ack.state === 'lost') && !isFinal(rec.state)) await this.abandon(rec, `the hub has this run as ${ack.state}`);
      } catch (err) {
        const code = (err as SosnaError).code;
        if (code === 'E_NOT_FOUND' || code === 'E_CONFLICT' || code === 'E_INVALID') {
          this.d.log.warn('the hub refused a report; dropping the run', { runId: rec.job.id, error: messageOf(err) });
          rec.reportedSeq = seq;
          await this.abandon(rec, messageOf(err));
        } else {
          failed = true;
          this.d.log.debug('report not delivered; will retry', { runId: rec.job.id, error: messageOf(err) });
          break;
        }
      }
      this.save(rec, false);
      this.forget(rec);
    }
    if (failed && !this.retryTimer && !this.stopped) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.kickReports();
      }, 2000);
      this.retryTimer.unref();
    }
  }

  private async abandon(rec: JobRecord, reason: string): Promise<void> {
    rec.abandoned = true;
    this.save(rec, false);
    const runner = this.runners.get(rec.job.id);
    if (runner) await runner.cancel(reason);
    else this.forget(rec);
  }

  private scheduleLease(ms: number, soonerOnly = false): void {
    if (this.stopped) return;
    if (soonerOnly && this.leaseTimer && this.leaseDue <= Date.now() + ms) return;
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.leaseDue = Date.now() + ms;
    this.leaseTimer = setTimeout(() => void this.renew(), ms);
    this.leaseTimer.unref();
  }

  /** Telemetry samples: a GPU that reports an error state makes the device unhealthy until it recovers. */
  observe(metrics: Record<string, number>): void {
    // peer to peer: what this device served to other peers (other replicas, buyers) and fetched from them
    const c = this.data.counters();
    metrics['data.servedBytes'] = c.servedBytes;
    metrics['data.fetchedBytes'] = c.fetchedBytes;
    metrics['data.badPieces'] = c.badPieces;
    const bad = Object.entries(metrics).filter(([k, v]) => /^gpu\.\d+\.ok$/.test(k) && v === 0).map(([k]) => k.split('.')[1]);
    const fault = bad.length ? `GPU ${bad.join(', ')} in an error state` : null;
    if (fault === this.gpuFault) return;
    this.gpuFault = fault;
    if (fault) this.d.log.warn('device unhealthy', { reason: fault });
    this.scheduleLease(50);
  }

  /** Renews the leases of every run not yet over, and says whether the device is healthy. */
  async renew(): Promise<void> {
    const period = Math.max(500, (this.leaseSec * 1000) / 3);
    try {
      const ids = this.records.list().filter((r) => !isFinal(r.state) && !r.abandoned).map((r) => r.job.id);
      const stalls = deviceHealth(this.stalls, Date.now(), this.d.config.unhealthyAfter);
      this.stalls = stalls.recent;
      const healthy = stalls.healthy && !this.gpuFault;
      const reason = this.gpuFault ?? (stalls.healthy ? undefined : `${stalls.recent.length} stalled jobs in the last hour`);
      if (!this.d.hub.connected() || (ids.length === 0 && healthy === this.sentHealthy)) return;
      const r = await this.d.hub.call(hubJobsService, 'lease', { ids, health: healthy ? 'ok' : 'unhealthy', ...(reason ? { reason } : {}) }, { timeoutMs: 10_000 });
      this.sentHealthy = healthy;
      this.leaseSec = r.leaseSec;
      for (const j of r.jobs) {
        // the other runs' endpoints, and the seeds tried again (no-op for a run not fetching an input)
        if (j.keep) this.data.addPeers(j.id, j.peers ?? []);
        if (j.keep) continue;
        const rec = this.records.get(j.id);
        if (rec && !rec.abandoned) {
          this.d.log.warn('the hub gave up a run; stopping it', { runId: j.id, reason: j.reason });
          await this.abandon(rec, `the hub gave this run up: ${j.reason ?? ''}`.trim());
        }
      }
    } catch (err) {
      this.d.log.debug('lease renewal failed', { error: messageOf(err) });
    } finally {
      this.scheduleLease(period);
    }
  }

  /** The link (re)connected: report and renew now. */
  onConnected(): void {
    this.sentHealthy = null;
    this.kickReports();
    this.scheduleLease(50);
  }

  /** Resolves when the runner of a run is done (result taken, container removed) or the run is unknown. */
  settled(id: string): Promise<void> {
    return this.runners.get(id)?.done ?? Promise.resolve();
  }

  /** Runs in flight (tests and the agent's status). */
  active(): JobRecord[] {
    return this.records.list().filter((r) => !isFinal(r.state));
  }

  /** Stops watching; containers keep running for the next agent process to re-attach. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const r of this.runners.values()) r.detachNow();
    // what is buffered goes to the hub if it can within a second; the records then say how far it got
    await Promise.race([Promise.all([...this.forwarders.values()].map((f) => f.flush().catch(() => {}))), new Promise((r) => setTimeout(r, 1000))]);
    for (const f of this.forwarders.values()) f.dispose();
    await this.data.stop().catch(() => {});
    for (const rec of this.records.list()) {
      try {
        this.records.save(rec);
      } catch {
        /* best effort: the forwarded byte count only */
      }
    }
  }
}
