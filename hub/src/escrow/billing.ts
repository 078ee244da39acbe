// What a finished buyer job costs, by the rules in contracts/README.md ("Rules the hub applies"). Pure.
import type { JobRow, RunRow } from '../jobs/store.js';

export interface SettlementPlan {
  kind: 'settle' | 'refund';
  billed: bigint;
}

/** Whole seconds a run ran (rounded up), from the engine's runtime or else its start and end. */
export function runSeconds(r: Pick<RunRow, 'runtimeMs' | 'startedAt' | 'finishedAt' | 'billedSec'>): number {
  if (r.billedSec !== null) return r.billedSec;
  if (r.runtimeMs !== null) return Math.ceil(r.runtimeMs / 1000);
  if (r.startedAt !== null && r.finishedAt !== null) return Math.ceil(Math.max(0, r.finishedAt - r.startedAt) / 1000);
  return 0;
}

/**
 * succeeded: the sum of what its verified runs were credited (a dissenting run is not paid by the buyer, nor a
 * replica the hub added for verification);
 * failed or cancelled: the seconds its runs actually ran x bid; no run ever started: a refund. Never more
 * than `deposited`.
 */
export function planSettlement(job: Pick<JobRow, 'state' | 'spec'>, runs: readonly RunRow[], deposited: bigint): SettlementPlan {
  const started = runs.some((r) => r.startedAt !== null || (r.runtimeMs ?? 0) > 0);
  if (!started) return { kind: 'refund', billed: 0n };
  let billed = 0n;
  // the buyer pays for the replicas it asked for; a replica the hub added to check a result (adaptive
  // verification, replica >= spec.replicas) is the hub's cost
  const asked = runs.filter((r) => r.replica < job.spec.replicas);
  if (job.state === 'succeeded') for (const r of asked) billed += r.amount ?? 0n;
  else for (const r of asked) billed += r.amount ?? BigInt(runSeconds(r)) * job.spec.bid;
  return { kind: 'settle', billed: billed > deposited ? deposited : billed };
}
