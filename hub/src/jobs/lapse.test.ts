import { describe, expect, it } from 'vitest';
import { planExpiries, runLapse } from './lapse.js';
import type { JobState } from '@sosna/protocol';

const clock = (readyAt: number | null) => ({ readyAt, leaseSec: 30, offlineGraceSec: 20 });
const run = (leaseUntil: number) => ({ deviceId: 'dev-1', leaseUntil });

describe('runLapse: is an active run lost at time t', () => {
  // A restart: the scheduler is built at t=0 (every device offline since then, leases renewed to 0 + 30 s),
  // then the embedded chain, payout reconciliation and the announcement take 45 s; 'hub ready' at 45 s.
  const built = 0;
  const readyAt = 45_000;

  it('loses nothing before the hub is ready, whatever the clocks say', () => {
    expect(runLapse(run(built + 30_000), built, 10 * 60_000, clock(null))).toBeNull();
  });

  it('a healthy device is not lost 6 ms after hub ready (the clocks start at ready, not when the scheduler was built)', () => {
    expect(runLapse(run(built + 30_000), built, readyAt + 6, clock(readyAt))).toBeNull();
    // still inside the grace period after ready
    expect(runLapse(run(built + 30_000), built, readyAt + 19_999, clock(readyAt))).toBeNull();
  });

  it('a device that does not come back within the grace period after ready is lost', () => {
    expect(runLapse(run(built + 30_000), built, readyAt + 20_001, clock(readyAt))).toBe('device dev-1 offline for more than 20 s');
  });

  it('a device online but not renewing loses its run one lease after ready, or after its last renewal if later', () => {
    expect(runLapse(run(built + 30_000), undefined, readyAt + 29_999, clock(readyAt))).toBeNull();
    expect(runLapse(run(built + 30_000), undefined, readyAt + 30_001, clock(readyAt))).toBe('lease expired (device dev-1 stopped renewing)');
    // renewed after ready: its own lease counts
    expect(runLapse(run(readyAt + 50_000), undefined, readyAt + 49_000, clock(readyAt))).toBeNull();
    expect(runLapse(run(readyAt + 50_000), undefined, readyAt + 50_001, clock(readyAt))).toMatch(/lease expired/);
  });

  it('offline after ready: the grace period counts from when it went offline', () => {
    const off = readyAt + 100_000;
    expect(runLapse(run(off + 30_000), off, off + 19_000, clock(readyAt))).toBeNull();
    expect(runLapse(run(off + 30_000), off, off + 20_001, clock(readyAt))).toMatch(/offline for more than 20 s/);
  });
});

describe('planExpiries: the lease-expiry plan of one tick (pure)', () => {
  const readyAt = 45_000;
  const r = (id: string, deviceId: string, leaseUntil: number, state: JobState = 'running') => ({ id, deviceId, leaseUntil, state });

  it('lists the lost active runs with why, in order, and skips finished, queued and healthy ones', () => {
    const now = readyAt + 100_000;
    const runs = new Map([
      ['j-1', [r('j-1.0.0', 'dev-1', now - 1), r('j-1.1.0', 'dev-2', now + 10_000), r('j-1.0.1', 'dev-3', now - 1, 'succeeded')]],
      ['j-2', [r('j-2.0.0', 'dev-4', now + 10_000), r('j-2.1.0', 'dev-5', now - 1, 'lost')]],
    ] as const);
    const offline = new Map([['dev-4', now - 20_001], ['dev-3', 0]]);
    const plan = planExpiries(runs, offline, now, clock(readyAt));
    expect(plan.map((e) => [e.jobId, e.run.id, e.reason])).toEqual([
      ['j-1', 'j-1.0.0', 'lease expired (device dev-1 stopped renewing)'],
      ['j-2', 'j-2.0.0', 'device dev-4 offline for more than 20 s'],
    ]);
  });

  it('plans nothing before the hub is ready', () => {
    const runs = new Map([['j-1', [r('j-1.0.0', 'dev-1', 0)]]]);
    expect(planExpiries(runs, new Map([['dev-1', 0]]), 10 * 60_000, clock(null))).toEqual([]);
  });
});
