// The hub's `jobs` service for devices (dev/{id}/rpc/out, calls the device opens): lease renewals, run
// reports and output. The broker's ACL binds the topic to the device, so `meta.deviceId` is who calls.
import { isActive, isFinal, SosnaError } from '@sosna/protocol';
import type { deviceEarningsService, Handlers, hubJobsService } from '@sosna/protocol';
import type { PayoutStore } from '../payouts/types.js';
import type { Scheduler } from './scheduler.js';
import type { InputSeeds } from './input-seeds.js';
import type { JobRow, LedgerStore, RunRow, StandingStore } from './store.js';

export interface DeviceMeta {
  deviceId: string;
}

/** Takes the receipt a device sent with a final report (hub/src/receipts): checked, then stored or refused and logged. */
export type ReceiptSink = (run: RunRow, job: JobRow, receipt: unknown) => void;

export function deviceJobsHandlers(s: Scheduler, onReceipt?: ReceiptSink, seeds?: Pick<InputSeeds, 'endpoint'>): Handlers<typeof hubJobsService, DeviceMeta> {
  return {
    lease: ({ ids, health, reason }, ctx) => {
      const deviceId = ctx.meta.deviceId;
      if (health) s.setHealth(deviceId, health === 'ok', health === 'ok' ? null : reason ?? 'reported by the device');
      const jobs = ids.map((id) => {
        const found = s.findRun(id, deviceId);
        if (!found) return { id, keep: false, reason: 'unknown run' };
        const { job, run } = found;
        if (!job || isFinal(job.state)) return { id, keep: false, reason: `job ${job?.state ?? 'finished'}` };
        if (!isActive(run.state)) return { id, keep: false, reason: `run ${run.state}` };
        s.renewLease(run);
        if (!job.spec.input) return { id, keep: true };
        // peer exchange for the job's input: the hub's own seed of it (input.hubSeed) and the other runs'
        // data endpoints (they report bt-in://host:port)
        const hub = seeds?.endpoint(job.id);
        const peers = [...(hub ? [hub] : []), ...s
          .runsOf(job.id)
          .filter((r) => r.id !== run.id && isActive(r.state))
          .flatMap((r) => r.endpoints.filter((e) => e.startsWith('bt-in://')).map((e) => e.slice('bt-in://'.length)))
          ].slice(0, 64);
        return { id, keep: true, ...(peers.length ? { peers } : {}) };
      });
      return { leaseSec: s.config.leaseSec, jobs };
    },

    update: (report, ctx) => {
      const found = s.findRun(report.id, ctx.meta.deviceId);
      if (!found) throw new SosnaError('E_NOT_FOUND', `no run ${report.id} on device ${ctx.meta.deviceId}`);
      const { run } = found;
      const patch = {
        ...(report.exitCode !== undefined ? { exitCode: report.exitCode } : {}),
        ...(report.oom !== undefined ? { oom: report.oom } : {}),
        ...(report.digest !== undefined ? { digest: report.digest } : {}),
        ...(report.startedAt !== undefined ? { startedAt: report.startedAt } : {}),
        ...(report.finishedAt !== undefined ? { finishedAt: report.finishedAt } : {}),
        ...(report.runtimeMs !== undefined ? { runtimeMs: report.runtimeMs } : {}),
        ...(report.endpoints !== undefined ? { endpoints: report.endpoints } : {}),
        ...(report.restarts !== undefined ? { restarts: report.restarts } : {}),
      };
      // A run the hub already gave up on (lost, cancelled) answers its state: the device then stops it.
      if (isActive(run.state)) {
        const changed = s.applyReport(run, report.state, patch, report.reason ?? null);
        if (!changed && report.state === run.state) s.renewLease(run);
      }
      // the receipt is checked against what the hub recorded for the run (also when a resent final report finds it final)
      if (report.receipt !== undefined && isFinal(report.state) && isFinal(run.state) && found.job) onReceipt?.(run, found.job, report.receipt);
      return { id: run.id, state: run.state };
    },

    badPiece: ({ id, peer, piece }, ctx) => {
      const found = s.findRun(id, ctx.meta.deviceId);
      if (!found) throw new SosnaError('E_NOT_FOUND', `no run ${id} on device ${ctx.meta.deviceId}`);
      return s.reportBadPiece(found.run, found.job, peer, piece);
    },

    log: ({ id, pieces, dropped }, ctx) => {
      const found = s.findRun(id, ctx.meta.deviceId);
      if (!found) throw new SosnaError('E_NOT_FOUND', `no run ${id} on device ${ctx.meta.deviceId}`);
      return { accepted: s.appendLogs(found.run, pieces, dropped ?? 0) };
    },
  };
}

/**
 * `earnings.mine`: the calling device's share of the ledger (for its dashboard). `paid` counts entries in
 * payouts mined on chain; the wallet is where the owner claims (null while the hub has no chain).
 */
export function deviceEarningsHandlers(store: { readonly jobs: Pick<LedgerStore, 'credits'> & Pick<StandingStore, 'getMarket'>; readonly payouts: Pick<PayoutStore, 'paidOf'> }, wallet: () => string | null): Handlers<typeof deviceEarningsService, DeviceMeta> {
  return {
    mine: (_params, ctx) => {
      const deviceId = ctx.meta.deviceId;
      const credits = store.jobs.credits({ deviceId });
      let accrued = 0n;
      let seconds = 0;
      for (const c of credits) {
        accrued += c.amount;
        seconds += c.seconds;
      }
      let paid = 0n;
      for (const p of store.payouts.paidOf(deviceId)) paid += p.amount;
      const owner = credits.at(-1)?.owner ?? store.jobs.getMarket(deviceId)?.owner ?? null;
      return { owner, accrued, paid, runs: credits.length, seconds, wallet: wallet() };
    },
  };
}
