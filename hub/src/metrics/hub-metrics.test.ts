// The hub's figures from its real SQLite store: jobs by state, payout batches and their failures, the paid
// total, scheduling latency from the scheduler's job feed, device classes. The HTTP side and promtool are
// in test/metrics.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobSpec } from '@sosna/protocol';
import type { JobState } from '@sosna/protocol';
import { HubEventBus } from '../events.js';
import type { JobRow } from '../jobs/store.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { HubStore } from '../store/types.js';
import type { BrokerStats } from '../broker/embedded.js';
import { createHubMetrics, deviceClasses } from './hub-metrics.js';

let dir: string;
let store: HubStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sosna-hub-metrics-'));
  store = openSqliteStore(join(dir, 'hub.db'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const stats: BrokerStats = { connections: { device: 0, operator: 0, provision: 0 }, pending: 0, received: 0, receivedBytes: 0, published: 0, refusedPublishes: {}, refusedConnections: {} };
const spec = JobSpec.parse({ image: 'busybox', bid: '5' });
const job = (id: string, state: JobState, updatedAt = 0): JobRow => ({
  id, spec, state, reason: null, replicas: 1, retries: 0, digest: null, exitCode: null, submittedBy: 'alice', key: null, createdAt: 0, updatedAt, finishedAt: null,
});
const value = (text: string, line: string) => {
  const m = new RegExp(`^${line.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

describe('hub metrics from the store', () => {
  it('jobs by state (every state named), payout batches, failures and the paid total', async () => {
    for (const [i, s] of (['queued', 'queued', 'running', 'succeeded', 'failed'] as const).entries()) store.jobs.insertJob(job(`j-${i}`, s));
    store.jobs.credit({ jobId: 'j-3', deviceId: 'd-1', runId: 'j-3.0.0', owner: `0x${'ab'.repeat(20)}`, seconds: 10, price: 7n, amount: 70n, at: 1 });
    store.jobs.credit({ jobId: 'j-4', deviceId: 'd-2', runId: 'j-4.0.0', owner: `0x${'cd'.repeat(20)}`, seconds: 1, price: 5n, amount: 5n, at: 1 });
    const paid = store.payouts.plan('p-1', 1, 1)!;
    store.payouts.signed('p-1', 0, '0x01', '0x', 2);
    store.payouts.paid('p-1', 9, 3);
    store.payouts.plan('p-2', 4, 1);
    store.payouts.failed('p-2', 'reverted', 5);
    const m = createHubMetrics({ version: '1.0.0', store, events: new HubEventBus(), broker: { stats: () => stats }, payouts: true });
    const text = await m.scrape();
    expect(value(text, 'sosna_hub_jobs{state="queued"}')).toBe(2);
    expect(value(text, 'sosna_hub_jobs{state="running"}')).toBe(1);
    expect(value(text, 'sosna_hub_jobs{state="lost"}')).toBe(0);
    expect(value(text, 'sosna_hub_payout_batches{status="paid"}')).toBe(1);
    expect(value(text, 'sosna_hub_payout_batches{status="failed"}')).toBe(1);
    expect(value(text, 'sosna_hub_payout_batches{status="signed"}')).toBe(0);
    expect(value(text, 'sosna_hub_payout_failures_total')).toBe(1);
    expect(value(text, 'sosna_hub_paid_wei_total')).toBe(Number(paid.total));
    // a second scrape reads fresh figures, not the first one's
    store.jobs.insertJob(job('j-9', 'queued'));
    expect(value(await m.scrape(), 'sosna_hub_jobs{state="queued"}')).toBe(3);
    m.stop();
  });

  it('scheduling latency: from entering the queue (submitted or requeued) to the first run placed', async () => {
    const m = createHubMetrics({ version: '1.0.0', store, events: new HubEventBus(), broker: { stats: () => stats }, payouts: false });
    m.observeJob(job('j-a', 'queued', 1_000));
    m.observeJob(job('j-a', 'assigned', 3_500)); // 2.5 s
    m.observeJob(job('j-a', 'running', 4_000)); // not a second observation
    m.observeJob(job('j-b', 'queued', 10_000));
    m.observeJob(job('j-b', 'cancelled', 11_000)); // never placed: not a scheduling latency
    m.observeJob(job('j-a', 'queued', 20_000)); // requeued after a loss
    m.observeJob(job('j-a', 'running', 20_100)); // 0.1 s
    const text = await m.scrape();
    expect(value(text, 'sosna_hub_job_scheduling_latency_seconds_count')).toBe(2);
    expect(value(text, 'sosna_hub_job_scheduling_latency_seconds_sum')).toBeCloseTo(2.6, 6);
    expect(value(text, 'sosna_hub_job_scheduling_latency_seconds_bucket{le="0.1"}')).toBe(1);
    m.stop();
  });

  it('devices online by class follow the events and the stored inventory', async () => {
    const events = new HubEventBus();
    store.createDevice({ id: 'gpu-rig', name: 'gpu-rig', fleet: null, tags: [], secretHash: 'x', createdAt: 0 });
    store.recordBirth('gpu-rig', { at: 1, name: 'gpu-rig', agentVersion: 't', inventory: { arch: 'x64', hardware: { gpus: [{ vendor: 'nvidia' }], board: { kind: 'raspberry-pi' } } } });
    const m = createHubMetrics({ version: '1.0.0', store, events, broker: { stats: () => stats }, payouts: false });
    events.emit('online', 'gpu-rig');
    let text = await m.scrape();
    expect(['cpu', 'gpu', 'asic', 'board'].map((c) => value(text, `sosna_hub_devices_online{class="${c}"}`))).toEqual([1, 1, 0, 1]);
    events.emit('offline', 'gpu-rig');
    text = await m.scrape();
    expect(value(text, 'sosna_hub_devices_online{class="gpu"}')).toBe(0);
    expect(deviceClasses(null)).toEqual(['cpu']);
    m.stop();
  });
});
