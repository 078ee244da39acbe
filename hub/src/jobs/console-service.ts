// The operator's `jobs` and `earnings` services on the console endpoint.
import { isFinal, SosnaError } from '@sosna/protocol';
import type { earningsService, Handlers, JobDetail, jobsService, JobSummary, RunSummary } from '@sosna/protocol';
import type { DeviceStore } from '../fleet/store.js';
import { maySeeJob, requireRole } from '../auth/roles.js';
import type { OperatorMeta } from '../auth/roles.js';
import type { JobQueueStore, JobRow, LedgerStore, LogRow, RunRow, StandingStore } from './store.js';
import type { Scheduler } from './scheduler.js';
import { declaredOwner, DEFAULT_REPUTATION, ownerOf } from './device-view.js';
import type { InputSeeds } from './input-seeds.js';

export function runSummary(r: RunRow): RunSummary {
  return {
    id: r.id, deviceId: r.deviceId, owner: r.owner, replica: r.replica, attempt: r.attempt, state: r.state, reason: r.reason,
    exitCode: r.exitCode, oom: r.oom, digest: r.digest, startedAt: r.startedAt, finishedAt: r.finishedAt, runtimeMs: r.runtimeMs,
    endpoints: r.endpoints, restarts: r.restarts, verdict: r.verdict, billedSec: r.billedSec, amount: r.amount,
  };
}

export function jobSummary(j: JobRow, runs: RunRow[]): JobSummary {
  const current = runs.filter((r) => r.state !== 'lost' && r.state !== 'cancelled');
  return {
    id: j.id, state: j.state, kind: j.spec.kind, image: j.spec.image, replicas: j.replicas, bid: j.spec.bid, reason: j.reason, digest: j.digest,
    exitCode: j.exitCode, retries: j.retries, devices: [...new Set(current.map((r) => r.deviceId))],
    endpoints: runs.filter((r) => r.state === 'running').flatMap((r) => r.endpoints),
    submittedBy: j.submittedBy, createdAt: j.createdAt, updatedAt: j.updatedAt,
  };
}

export function jobsHandlers(s: Scheduler, store: { readonly jobs: Pick<JobQueueStore, 'listJobs' | 'eventsOf' | 'logsOf'> }, seeds?: InputSeeds): Handlers<typeof jobsService, OperatorMeta> {
  // A buyer's view: another buyer's job is answered exactly as a job that does not exist.
  const mustGet = (jobId: string, meta: OperatorMeta) => {
    const job = s.getJob(jobId);
    if (!job || !maySeeJob(meta, job.submittedBy)) throw new SosnaError('E_NOT_FOUND', `no job ${jobId}`);
    return job;
  };
  return {
    submit: ({ spec, key }, ctx) => {
      requireRole(ctx.meta, 'operator', 'submitting a job', true);
      // the hub as a fallback seed: refused before the job is queued when the hub does not seed or has no room
      const hubSeed = spec.input?.hubSeed ? spec.input : null;
      if (hubSeed) {
        if (!seeds) throw new SosnaError('E_INVALID', 'input.hubSeed: this hub does not seed job inputs: leave out --hub-seed');
        seeds.check(hubSeed);
      }
      const r = s.submit(spec, ctx.meta.operator, key);
      if (hubSeed && !r.duplicate) seeds!.start(r.jobId, hubSeed);
      return r;
    },
    ls: ({ state, limit }, ctx) => {
      const submittedBy = ctx.meta.role === 'buyer' ? ctx.meta.operator : undefined;
      return { jobs: store.jobs.listJobs({ state, limit, submittedBy }).map((j) => jobSummary(s.getJob(j.id) ?? j, s.runsOf(j.id))) };
    },
    show: ({ jobId }, ctx): JobDetail => {
      const job = mustGet(jobId, ctx.meta);
      const runs = s.runsOf(jobId);
      return {
        ...jobSummary(job, runs), spec: job.spec, runs: runs.map(runSummary),
        events: store.jobs.eventsOf(jobId).map((e) => ({ at: e.at, runId: e.runId, from: e.from, to: e.to, reason: e.reason })),
        ...(seeds?.status(jobId) ? { inputSeed: seeds.status(jobId)! } : {}),
      };
    },
    logs: async ({ jobId, follow }, ctx) => {
      mustGet(jobId, ctx.meta);
      let last = 0;
      let ended = false;
      let wake: (() => void) | null = null;
      const pending: LogRow[] = [];
      const onLog = (row: LogRow) => {
        if (row.jobId !== jobId) return;
        pending.push(row);
        wake?.();
      };
      const onJob = (job: JobRow) => {
        if (job.id === jobId && isFinal(job.state)) {
          ended = true;
          wake?.();
        }
      };
      const send = (row: LogRow) => {
        if (row.seq <= last) return;
        last = row.seq;
        ctx.emit({ runId: row.runId, stream: row.stream, data: row.data, at: row.at });
      };
      if (follow) {
        s.feed.on('log', onLog);
        s.feed.on('job', onJob);
      }
      try {
        for (const row of store.jobs.logsOf(jobId, 0)) send(row);
        if (!follow) return;
        const onAbort = () => wake?.();
        ctx.signal.addEventListener('abort', onAbort);
        while (!ctx.signal.aborted) {
          for (const row of pending.splice(0)) send(row);
          if (ended || isFinal(mustGet(jobId, ctx.meta).state)) break;
          await new Promise<void>((r) => (wake = r));
          wake = null;
        }
        ctx.signal.removeEventListener('abort', onAbort);
        for (const row of pending.splice(0)) send(row);
      } finally {
        s.feed.off('log', onLog);
        s.feed.off('job', onJob);
      }
    },
    cancel: ({ jobId, reason }, ctx) => {
      requireRole(ctx.meta, 'operator', 'cancelling a job', true);
      mustGet(jobId, ctx.meta);
      const job = s.cancel(jobId, reason ?? `cancelled by ${ctx.meta.operator}`);
      return { jobId: job.id, state: job.state };
    },
  };
}

export function earningsHandlers(store: Pick<DeviceStore, 'listDevices'> & { readonly jobs: Pick<LedgerStore, 'credits'> & Pick<StandingStore, 'listMarket'> }): Handlers<typeof earningsService, OperatorMeta> {
  return {
    list: ({ owner }) => {
      const byOwner = new Map<string, { owner: string; amount: bigint; runs: number; seconds: number }>();
      let total = 0n;
      for (const c of store.jobs.credits(owner !== undefined ? { owner } : {})) {
        const e = byOwner.get(c.owner) ?? { owner: c.owner, amount: 0n, runs: 0, seconds: 0 };
        e.amount += c.amount;
        e.runs++;
        e.seconds += c.seconds;
        byOwner.set(c.owner, e);
        total += c.amount;
      }
      return { owners: [...byOwner.values()].sort((a, b) => (a.owner < b.owner ? -1 : 1)), total };
    },
    devices: () => {
      const amounts = new Map<string, bigint>();
      for (const c of store.jobs.credits()) amounts.set(c.deviceId, (amounts.get(c.deviceId) ?? 0n) + c.amount);
      const market = new Map(store.jobs.listMarket().map((m) => [m.deviceId, m]));
      return {
        devices: store.listDevices().map((d) => {
          const m = market.get(d.id);
          return {
            deviceId: d.id, owner: ownerOf(d.id, d.fleet, m, declaredOwner(d.inventory)), reputation: m?.reputation ?? DEFAULT_REPUTATION, agreed: m?.agreed ?? 0,
            dissented: m?.dissented ?? 0, healthy: m?.healthy ?? true, amount: amounts.get(d.id) ?? 0n,
          };
        }),
      };
    },
  };
}
