// What a job's runs add up to (pure): wait, place more runs, or decide. With replicas the results are
// compared: the outcome (a digest, or "failed") that a strict majority of the needed results share wins;
// a split vote adds one replica (up to two extra) and then fails the job.
import { isActive } from '@sosna/protocol';
import type { JobState } from '@sosna/protocol';
import type { JobRow, RunRow } from './store.js';

export const MAX_EXTRA_REPLICAS = 2;

export type Decision =
  | { kind: 'wait' }
  /** Replica slots without a live or finished run (never placed, or their run was lost). */
  | { kind: 'place'; replicas: number[] }
  | { kind: 'add-replica'; reason: string }
  | { kind: 'succeed'; digest: string | null; exitCode: number | null; agree: string[]; dissent: string[] }
  | { kind: 'fail'; reason: string; exitCode: number | null; agree: string[]; dissent: string[] };

const outcomeOf = (r: RunRow) => (r.state === 'succeeded' ? `ok:${r.digest ?? ''}` : 'failed');
const isResult = (r: RunRow) => r.state === 'succeeded' || r.state === 'failed';

/** The latest run of each replica slot. */
export function latestRuns(runs: readonly RunRow[]): Map<number, RunRow> {
  const latest = new Map<number, RunRow>();
  for (const r of runs) {
    const cur = latest.get(r.replica);
    if (!cur || r.attempt > cur.attempt) latest.set(r.replica, r);
  }
  return latest;
}

export function decide(job: Pick<JobRow, 'replicas' | 'state' | 'spec'>, runs: readonly RunRow[]): Decision {
  const latest = latestRuns(runs);
  const missing: number[] = [];
  for (let i = 0; i < job.replicas; i++) {
    const r = latest.get(i);
    if (!r || r.state === 'lost' || r.state === 'cancelled' || r.state === 'queued') missing.push(i);
  }
  const current = [...latest.values()].filter((r) => r.replica < job.replicas);
  if (current.some((r) => isActive(r.state))) return missing.length ? { kind: 'place', replicas: missing } : { kind: 'wait' };
  if (missing.length) return { kind: 'place', replicas: missing };

  const results = current.filter(isResult);
  const tally = new Map<string, RunRow[]>();
  for (const r of results) tally.set(outcomeOf(r), [...(tally.get(outcomeOf(r)) ?? []), r]);
  const [winner, agreeing] = [...tally.entries()].sort((a, b) => b[1].length - a[1].length)[0] ?? [null, []];
  const needed = Math.floor(job.spec.replicas / 2) + 1;
  if (winner === null || agreeing.length < needed || (results.length > 1 && agreeing.length * 2 <= results.length)) {
    if (job.replicas < job.spec.replicas + MAX_EXTRA_REPLICAS) return { kind: 'add-replica', reason: `no majority among ${results.length} results` };
    return { kind: 'fail', reason: `no majority among ${results.length} results`, exitCode: null, agree: [], dissent: results.map((r) => r.id) };
  }
  const agree = agreeing.map((r) => r.id);
  const dissent = results.filter((r) => outcomeOf(r) !== winner).map((r) => r.id);
  const first = agreeing[0]!;
  if (winner === 'failed') return { kind: 'fail', reason: first.reason ?? 'failed', exitCode: first.exitCode, agree, dissent };
  return { kind: 'succeed', digest: first.digest, exitCode: first.exitCode, agree, dissent };
}

/** The job's own state from its runs while it is live: the furthest any current run got. */
export function liveState(runs: readonly RunRow[]): JobState {
  const states = new Set([...latestRuns(runs).values()].map((r) => r.state));
  for (const s of ['running', 'pulling', 'assigned'] as const) if (states.has(s)) return s;
  return 'queued';
}

/** Whole seconds billed for a run: its engine-measured running time, rounded up, at most the time limit. */
export function billedSeconds(runtimeMs: number | null, timeoutSec: number): number {
  if (runtimeMs === null || runtimeMs <= 0) return 0;
  return Math.min(Math.ceil(runtimeMs / 1000), timeoutSec);
}

export const amountFor = (seconds: number, pricePerSec: bigint): bigint => BigInt(seconds) * pricePerSec;

/** Reputation after one verdict: agreement earns a little, dissent costs a lot, a lost run a little. */
/** `corrupt`: a replica of the same job reported a whole piece of the input from it that failed its hash. */
export function nextReputation(current: number, event: 'agree' | 'dissent' | 'lost' | 'corrupt'): number {
  const delta = event === 'agree' ? 0.02 : event === 'dissent' ? -0.2 : event === 'corrupt' ? -0.1 : -0.05;
  return Math.round(Math.min(1, Math.max(0, current + delta)) * 1000) / 1000;
}
