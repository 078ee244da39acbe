// The scheduler with adaptive verification on, over a real SQLite store and a stub link (devices answer
// by calls to applyReport): the replication draw, ringers placed only on their device and checked against
// the known answer, slashes written exactly, and a check that no other owner can run any more is dropped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, JobSpec } from '@sosna/protocol';
import type { DeviceJob } from '@sosna/protocol';
import { HubEventBus } from '../events.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { HubStore } from '../store/types.js';
import { RINGER_SUBMITTER, Scheduler } from './scheduler.js';
import { checkRingers, DEFAULT_TRUST_POLICY } from './trust.js';
import type { TrustPolicy } from './trust.js';
import { MemoryStakes } from './verifier.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const owners = ['0x' + '1'.repeat(40), '0x' + '2'.repeat(40), '0x' + '3'.repeat(40)];
let dir: string;
let store: HubStore;
let scheduler: Scheduler;
let starts: { deviceId: string; job: DeviceJob }[];
let online: Set<string>;
let stakes: MemoryStakes;
const events = new HubEventBus();

function hub(policy: Partial<TrustPolicy>, draws: number[] = []) {
  const p = { ...DEFAULT_TRUST_POLICY, ...policy };
  stakes = new MemoryStakes(p);
  scheduler = new Scheduler({
    store, links: { call: (deviceId: string, _s: string, method: string, params: unknown) => (method === 'start' && starts.push({ deviceId, job: (params as { job: DeviceJob }).job }), Promise.resolve({})) } as never,
    registry: { isOnline: (id: string) => online.has(id) }, events, log: createLogger({ level: 'error', scope: 'test' }),
    config: { leaseSec: 600, offlineGraceSec: 600, maxRetries: 3, maxLogBytesPerRun: 1024, tickMs: 60_000 },
    trust: { policy: p, ringers: checkRingers([{ spec: JobSpec.parse({ image: 'check', command: ['c'] }), digest: digest('c') }]), stakes, random: () => draws.shift() ?? 0.99 },
  });
}

function device(i: number) {
  const id = `dev-${i}`;
  store.createDevice({ id, name: id, fleet: null, tags: [], secretHash: 'x', createdAt: 0 });
  store.recordBirth(id, { at: 0, name: id, agentVersion: 't', inventory: { owner: owners[i], jobs: { engine: { name: 'sim' }, askPerSec: '0', capacity: { cpus: 4, memoryBytes: 2 ** 32, jobs: 4 } } } });
  online.add(id);
  return id;
}

function answer(deviceId: string, out: (job: DeviceJob) => string) {
  for (const s of starts.splice(0)) {
    if (s.deviceId !== deviceId) {
      starts.push(s);
      continue;
    }
    const { run } = scheduler.findRun(s.job.id, s.deviceId)!;
    scheduler.applyReport(run, 'succeeded', { exitCode: 0, digest: out(s.job), runtimeMs: 2000 }, null);
  }
}
const pass = async () => {
  scheduler.schedule();
  await Promise.resolve();
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sosna-verifier-'));
  store = openSqliteStore(join(dir, 'hub.db'));
  starts = [];
  online = new Set();
});
afterEach(() => {
  scheduler?.stop();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('adaptive verification in the scheduler', () => {
  it("replicates a newcomer's job on another owner, and a ringer goes only to its device; a wrong answer slashes exactly", async () => {
    const [a, b] = [device(0), device(1)];
    // draws: ringer due for the first run (0.0), which ringer (0.0); none for the replica's run
    hub({ ringerRate: 0.5 }, [0, 0, 0.9]);
    stakes.stake(owners[0]!, 250n * 10n ** 18n);
    scheduler.start();
    const { jobId } = scheduler.submit(JobSpec.parse({ image: 'work', command: ['w'] }), 'alice');
    await pass();
    const first = starts[0]!;
    expect(scheduler.getJob(jobId)!.replicas).toBe(2); // a newcomer: chance 1
    await pass();
    const placed = starts.map((s) => [s.deviceId, s.job.jobId] as const);
    const ringer = store.jobs.listJobs({ limit: 10 }).find((j) => j.submittedBy === RINGER_SUBMITTER)!;
    expect(placed).toContainEqual([first.deviceId, ringer.id]); // only on the device it was mixed in for
    expect(placed.filter(([, j]) => j === jobId).map(([d]) => d).sort()).toEqual([a, b]); // two owners
    expect(first.deviceId).toBe(a); // the staked owner ranks first
    const [cheat, honest] = [a, b];
    answer(honest, () => digest('1'));
    answer(cheat, (job) => (job.jobId === ringer.id ? digest('0') : digest('1')));
    await pass();
    expect(scheduler.getJob(jobId)!.state).toBe('succeeded');
    expect(store.jobs.getJob(ringer.id)).toMatchObject({ state: 'failed', reason: 'wrong answer' });
    // 10% of 250 SNM, exactly, in the ledger and off the stake
    expect(store.jobs.slashes()).toEqual([expect.objectContaining({ owner: owners[0], amount: 25n * 10n ** 18n, runId: `${ringer.id}.0.0` })]);
    expect(stakes.stakeOf(owners[0]!)).toBe(225n * 10n ** 18n);
    expect(store.jobs.getStanding(`owner:${owners[0]}`)!.failures).toBe(1);
    expect(scheduler.verifier!.replicationChance(cheat, owners[0]!)).toBe(1);
    expect(store.jobs.getStanding(`device:${honest}`)).toEqual({ streak: 1, verified: 1, failures: 0 });
    expect(store.jobs.getRun(`${ringer.id}.0.0`)).toMatchObject({ verdict: 'dissent', amount: 0n });
    expect(store.jobs.credits({ jobId: ringer.id })).toEqual([]);
  });

  it('a check that no other owner online can run any more is dropped once the first result is in', async () => {
    const [a, b] = [device(0), device(1)];
    hub({ ringerRate: 0 });
    scheduler.start();
    const { jobId } = scheduler.submit(JobSpec.parse({ image: 'work', command: ['w'] }), 'alice');
    // b is still online when the job is placed: the draw gives it a replica
    await pass();
    expect(scheduler.getJob(jobId)!.replicas).toBe(2);
    events.emit('offline', b);
    answer(a, () => digest('1'));
    for (let i = 0; i < 3; i++) await pass();
    expect(scheduler.getJob(jobId)).toMatchObject({ state: 'succeeded', replicas: 1 });
    expect(store.jobs.eventsOf(jobId).map((e) => e.reason)).toContain('verification dropped: no other owner online can run it');
  });
});

describe('ringers and offline devices', () => {
  it('a ringer whose device went offline is cancelled rather than kept in the queue', async () => {
    const [a] = [device(0), device(1)];
    hub({ ringerRate: 1 }); // every run brings a ringer for its device
    scheduler.start();
    scheduler.submit(JobSpec.parse({ image: 'work', command: ['w'] }), 'alice');
    await pass();
    const ringer = store.jobs.listJobs({ limit: 10 }).find((j) => j.submittedBy === RINGER_SUBMITTER && store.jobs.getRinger(j.id)?.deviceId === a);
    expect(ringer).toBeDefined();
    online.delete(a);
    events.emit('offline', a);
    await pass();
    expect(store.jobs.getJob(ringer!.id)).toMatchObject({ state: 'cancelled', reason: `check dropped: device ${a} is offline` });
  });
});

describe('stakes in memory', () => {
  it('refuse a stake below the minimum and a slash beyond the stake, leaving the book as it was', () => {
    const book = new MemoryStakes(DEFAULT_TRUST_POLICY);
    expect(() => book.stake(owners[0]!, 1n)).toThrow(/below the minimum of 100000000000000000000 wei/);
    expect(book.stakeOf(owners[0]!)).toBe(0n);
    book.stake(owners[0]!, DEFAULT_TRUST_POLICY.minStake);
    expect(() => book.slashed({ runId: 'r', owner: owners[1]!, amount: 1n, reason: 'x', at: 0, txHash: null })).toThrow(/exceeds its stake of 0 wei/);
    expect(book.stakeOf(owners[0]!)).toBe(DEFAULT_TRUST_POLICY.minStake);
  });
});
