import { describe, expect, it } from 'vitest';
import { JobSpec } from '@sosna/protocol';
import type { RunRow } from '../jobs/store.js';
import { planSettlement } from './billing.js';

const spec = JobSpec.parse({ image: 'busybox', bid: '5', timeoutSec: 60, replicas: 2 });
const run = (p: Partial<RunRow>): RunRow => ({
  id: 'r', jobId: 'j', replica: 0, attempt: 0, deviceId: 'd', owner: 'o', state: 'succeeded', reason: null, exitCode: 0, oom: false, digest: null,
  assignedAt: 0, startedAt: 1000, finishedAt: 3500, runtimeMs: 2500, leaseUntil: 0, endpoints: [], restarts: 0, gpus: [], verdict: 'agree', billedSec: 3, amount: 15n, ...p,
});

describe('planSettlement', () => {
  it('succeeded: what its runs were credited (a dissenter unpaid); never above the deposit', () => {
    expect(planSettlement({ state: 'succeeded', spec }, [run({}), run({ amount: 15n }), run({ verdict: 'dissent', amount: null })], 600n)).toEqual({ kind: 'settle', billed: 30n });
    expect(planSettlement({ state: 'succeeded', spec }, [run({ amount: 900n })], 600n)).toEqual({ kind: 'settle', billed: 600n });
  });
  it("a replica the hub added to verify a single-replica job is the hub's cost, not the buyer's", () => {
    const one = JobSpec.parse({ image: 'busybox', bid: '5', timeoutSec: 60 });
    expect(planSettlement({ state: 'succeeded', spec: one }, [run({ replica: 0 }), run({ replica: 1 })], 300n)).toEqual({ kind: 'settle', billed: 15n });
    expect(planSettlement({ state: 'failed', spec: one }, [run({ replica: 0, state: 'failed', amount: null, billedSec: 2 }), run({ replica: 1, state: 'failed', amount: null, billedSec: 4 })], 300n)).toEqual({ kind: 'settle', billed: 10n });
  });
  it('failed or cancelled after a start: the seconds run x bid; nothing started: a refund', () => {
    expect(planSettlement({ state: 'cancelled', spec }, [run({ state: 'cancelled', amount: null, billedSec: null, runtimeMs: null, startedAt: 0, finishedAt: 4001 })], 600n)).toEqual({ kind: 'settle', billed: 25n });
    expect(planSettlement({ state: 'failed', spec }, [run({ state: 'failed', amount: null, billedSec: 2 })], 600n)).toEqual({ kind: 'settle', billed: 10n });
    expect(planSettlement({ state: 'cancelled', spec }, [run({ state: 'cancelled', startedAt: null, runtimeMs: null, amount: null })], 600n)).toEqual({ kind: 'refund', billed: 0n });
    expect(planSettlement({ state: 'cancelled', spec }, [], 600n)).toEqual({ kind: 'refund', billed: 0n });
  });
});
