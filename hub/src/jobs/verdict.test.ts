import { describe, expect, it } from 'vitest';
import { JobSpec } from '@sosna/protocol';
import type { JobState } from '@sosna/protocol';
import type { RunRow } from './store.js';
import { amountFor, billedSeconds, decide, liveState, nextReputation } from './verdict.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;
let n = 0;
function run(replica: number, state: JobState, o: Partial<RunRow> = {}): RunRow {
  return {
    id: `j.${replica}.${n++}`, jobId: 'j', replica, attempt: o.attempt ?? 0, deviceId: `d${replica}`, owner: `o${replica}`, state, reason: null, exitCode: null,
    oom: false, digest: null, assignedAt: 0, startedAt: null, finishedAt: null, runtimeMs: null, leaseUntil: 0, endpoints: [], restarts: 0, gpus: [],
    verdict: null, billedSec: null, amount: null, ...o,
  };
}
const job = (replicas: number, specReplicas = replicas) => ({ replicas, state: 'running' as JobState, spec: JobSpec.parse({ image: 'x', replicas: specReplicas }) });

describe('verdict', () => {
  it('places missing replicas and waits for live ones', () => {
    expect(decide(job(3), [])).toEqual({ kind: 'place', replicas: [0, 1, 2] });
    expect(decide(job(3), [run(0, 'running'), run(1, 'lost'), run(1, 'assigned', { attempt: 1 })])).toEqual({ kind: 'place', replicas: [2] });
    expect(decide(job(1), [run(0, 'running')])).toEqual({ kind: 'wait' });
    expect(decide(job(1), [run(0, 'lost')])).toEqual({ kind: 'place', replicas: [0] });
  });

  it('one replica: its result is the result', () => {
    expect(decide(job(1), [run(0, 'succeeded', { digest: D('a'), exitCode: 0 })])).toMatchObject({ kind: 'succeed', digest: D('a'), dissent: [] });
    expect(decide(job(1), [run(0, 'failed', { reason: 'OOM', exitCode: 137 })])).toMatchObject({ kind: 'fail', reason: 'OOM', exitCode: 137 });
  });

  it('the majority digest wins; dissenters are named', () => {
    const runs = [run(0, 'succeeded', { digest: D('a') }), run(1, 'succeeded', { digest: D('b') }), run(2, 'succeeded', { digest: D('a') })];
    const d = decide(job(3), runs);
    expect(d).toMatchObject({ kind: 'succeed', digest: D('a'), agree: [runs[0]!.id, runs[2]!.id], dissent: [runs[1]!.id] });
  });

  it('a split vote adds a replica, then fails once the extra replicas are spent', () => {
    const split = [run(0, 'succeeded', { digest: D('a') }), run(1, 'succeeded', { digest: D('b') }), run(2, 'succeeded', { digest: D('c') })];
    expect(decide(job(3), split)).toMatchObject({ kind: 'add-replica' });
    expect(decide(job(4, 3), split)).toEqual({ kind: 'place', replicas: [3] });
    const tie = [...split, run(3, 'succeeded', { digest: D('a') })];
    expect(decide(job(4, 3), tie)).toMatchObject({ kind: 'add-replica' });
    const last = [...tie, run(4, 'succeeded', { digest: D('b') })];
    expect(decide(job(5, 3), last)).toMatchObject({ kind: 'fail', reason: 'no majority among 5 results' });
  });

  it('a majority of failures fails the job', () => {
    const runs = [run(0, 'failed', { reason: 'exit code 1', exitCode: 1 }), run(1, 'failed', { reason: 'exit code 1', exitCode: 1 }), run(2, 'succeeded', { digest: D('a') })];
    expect(decide(job(3), runs)).toMatchObject({ kind: 'fail', reason: 'exit code 1', dissent: [runs[2]!.id] });
  });

  it('live state is the furthest any current run got', () => {
    expect(liveState([run(0, 'assigned'), run(1, 'running')])).toBe('running');
    expect(liveState([run(0, 'lost')])).toBe('queued');
    expect(liveState([])).toBe('queued');
  });

  it('bills whole seconds, rounded up, capped by the limit; amounts are exact bigints', () => {
    expect(billedSeconds(2001, 60)).toBe(3);
    expect(billedSeconds(0, 60)).toBe(0);
    expect(billedSeconds(null, 60)).toBe(0);
    expect(billedSeconds(120_000, 60)).toBe(60);
    expect(amountFor(3, 10n ** 18n + 1n)).toBe(3n * 10n ** 18n + 3n);
  });

  it('reputation: dissent costs more than agreement earns, within 0..1', () => {
    expect(nextReputation(0.5, 'dissent')).toBe(0.3);
    expect(nextReputation(0.5, 'agree')).toBe(0.52);
    expect(nextReputation(0.99, 'agree')).toBe(1);
    expect(nextReputation(0.1, 'dissent')).toBe(0);
  });
});
