// When an active run is lost: its device offline for longer than the grace period, or its lease not renewed.
// Both clocks count only while devices can reach the hub: after a restart that is from `readyAt` (the hub
// ready, its broker accepting devices and its card announced), not from when the scheduler was built. A
// device cannot renew or reconnect while the hub still starts its chain or reconciles payouts.
import { isActive } from '@sosna/protocol';
import type { JobState } from '@sosna/protocol';

export interface LapseClock {
  /** When devices could reconnect and renew; null: not yet (no run is lost before). */
  readyAt: number | null;
  leaseSec: number;
  offlineGraceSec: number;
}

/** Why the run is lost at `now`, or null while it is not. */
export function runLapse(run: { deviceId: string; leaseUntil: number }, offlineSince: number | undefined, now: number, c: LapseClock): string | null {
  if (c.readyAt === null) return null;
  if (offlineSince !== undefined && now - Math.max(offlineSince, c.readyAt) > c.offlineGraceSec * 1000) {
    return `device ${run.deviceId} offline for more than ${c.offlineGraceSec} s`;
  }
  // the lease counts from the last renewal (leaseUntil - leaseSec) or from readyAt, whichever is later
  if (Math.max(run.leaseUntil, c.readyAt + c.leaseSec * 1000) < now) return `lease expired (device ${run.deviceId} stopped renewing)`;
  return null;
}

/** An active run found lost by the lease or the offline clock, and why. */
export interface Expiry<R> {
  jobId: string;
  run: R;
  reason: string;
}

/**
 * The lease-expiry decision of one scheduler tick: which active runs are lost at `now`, in the order the
 * runs are given (per job, per run). Pure: the scheduler executes the plan (Scheduler.tick), skipping a run
 * an earlier loss of the plan made final (a job past its retries cancels its other runs).
 */
export function planExpiries<R extends { deviceId: string; leaseUntil: number; state: JobState }>(
  runsByJob: Iterable<readonly [string, readonly R[]]>,
  offlineSince: ReadonlyMap<string, number>,
  now: number,
  c: LapseClock,
): Expiry<R>[] {
  const plan: Expiry<R>[] = [];
  if (c.readyAt === null) return plan;
  for (const [jobId, runs] of runsByJob) {
    for (const run of runs) {
      if (!isActive(run.state)) continue;
      const reason = runLapse(run, offlineSince.get(run.deviceId), now, c);
      if (reason !== null) plan.push({ jobId, run, reason });
    }
  }
  return plan;
}
