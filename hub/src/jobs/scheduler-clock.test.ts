// The scheduler's lease and offline-grace clocks after a restart start at ready(), not at start(): the hub's
// slow start-up steps (embedded chain, payout reconciliation, the announcement) come in between.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, JobSpec } from '@sosna/protocol';
import { HubEventBus } from '../events.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { HubStore } from '../store/types.js';
import { Scheduler } from './scheduler.js';

let dir: string;
let store: HubStore;
let scheduler: Scheduler | null = null;
afterEach(() => {
  scheduler?.stop();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function restartedHubWithARun(holdClocksUntilReady: boolean, clock: { t: number }): Scheduler {
  dir = mkdtempSync(join(tmpdir(), 'sosna-sched-clock-'));
  store = openSqliteStore(join(dir, 'hub.db'));
  const spec = JobSpec.parse({ image: 'busybox', bid: '5' });
  store.jobs.insertJob({ id: 'j-1', spec, state: 'running', reason: null, replicas: 1, retries: 0, digest: null, exitCode: null, submittedBy: 'alice', key: null, createdAt: 0, updatedAt: 0, finishedAt: null });
  store.jobs.insertRun({
    id: 'j-1.0.0', jobId: 'j-1', replica: 0, attempt: 0, deviceId: 'dev-1', owner: 'owner-a', state: 'running', reason: null, exitCode: null, oom: false, digest: null,
    assignedAt: 0, startedAt: 0, finishedAt: null, runtimeMs: null, leaseUntil: 0, endpoints: [], restarts: 0, gpus: [], verdict: null, billedSec: null, amount: null,
  });
  return new Scheduler({
    store, links: { call: () => Promise.reject(new Error('no device in this test')) }, registry: { isOnline: () => false }, events: new HubEventBus(),
    log: createLogger({ level: 'error', scope: 'test' }), config: { leaseSec: 30, offlineGraceSec: 20, maxRetries: 2, maxLogBytesPerRun: 1024, tickMs: 60_000 },
    now: () => clock.t, holdClocksUntilReady,
  });
}

const runState = () => store.jobs.getRun('j-1.0.0')!.state;

describe('scheduler clocks after a restart', () => {
  it('a run is not lost while the hub still starts, nor right after ready; it is, one lease after ready without renewal', () => {
    const clock = { t: 1_000_000 };
    scheduler = restartedHubWithARun(true, clock);
    scheduler.start();
    clock.t += 100_000; // the embedded chain and payout reconciliation took 100 s: longer than the lease
    scheduler.tick();
    expect(runState()).toBe('running');
    scheduler.ready(); // 'hub ready': devices can reconnect and renew from here
    clock.t += 6;
    scheduler.tick();
    expect(runState()).toBe('running');
    clock.t += 30_000;
    scheduler.tick();
    expect(runState()).toBe('lost');
  });

  it('without holding (the scheduler alone), the clocks start with start()', () => {
    const clock = { t: 1_000_000 };
    scheduler = restartedHubWithARun(false, clock);
    scheduler.start();
    clock.t += 30_001;
    scheduler.tick();
    expect(runState()).toBe('lost');
  });
});
