// The hub's scheduler against a real hub (in-process, embedded broker) and simulated devices that speak
// the jobs protocol over MQTT: dispatch, leases, the offline grace period, requeue, cancel, replicas,
// the verdict, reputation and the ledger. No container engine here (test/jobs.e2e.test.ts has one).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { addOperator, ConsoleClient, preIssueDevice, startHub } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import {
  connectOnce, createCodec, deviceJobsService, earningsService, hubJobsService, jobsService, publishAsync, RpcEndpoint, RpcPeer, silentLogger, subscribeAsync, topics,
} from '@sosna/protocol';
import type { DeviceJob, JobSpecInput, MqttClient, RunReport } from '@sosna/protocol';
import { tempDir, waitFor } from './helpers.js';

const codec = createCodec();
const tmp = tempDir('sosna-sched-');
const fast = { N: 1024, r: 8, p: 1 };
let hub: Hub;
let url: string;
let operator: ConsoleClient;

/** A device that takes runs and reports whatever the test tells it to. */
class SimDevice {
  readonly runs = new Map<string, DeviceJob>();
  readonly cancelled: string[] = [];
  client!: MqttClient;
  peer!: RpcPeer;
  refuse = false;
  constructor(readonly id: string, private readonly creds: { username: string; password: string }, private readonly opts: { ask?: string; jobs?: number } = {}) {}

  async connect(): Promise<this> {
    const at = Date.now();
    const state = topics.device(hub.hubId, this.id, 'state');
    this.client = await connectOnce({ url, clientId: this.id, username: this.creds.username, password: this.creds.password, keepaliveSec: 60, will: { topic: state, payload: codec.encode({ v: 1, status: 'offline', at, reason: 'will' }), retain: true, qos: 1 } });
    const endpoint = new RpcEndpoint().add(deviceJobsService, {
      start: ({ job }) => {
        if (this.refuse) throw Object.assign(new Error('no capacity'), { code: 'E_CONFLICT' });
        const duplicate = this.runs.has(job.id);
        this.runs.set(job.id, job);
        return { id: job.id, state: 'assigned' as const, duplicate };
      },
      cancel: ({ id }) => {
        this.cancelled.push(id);
        return { id, state: 'cancelled' as const };
      },
      list: () => ({ jobs: [] }),
      logs: () => {},
    });
    const out = topics.device(hub.hubId, this.id, 'rpc/out');
    this.peer = new RpcPeer({ role: 'owner', codec, endpoint, send: (b) => this.client.publish(out, Buffer.from(b), { qos: 1 }) });
    this.client.on('message', (_t, p) => this.peer.receive(p));
    await subscribeAsync(this.client, topics.device(hub.hubId, this.id, 'rpc/in'));
    const inventory = { hostname: this.id, platform: 'linux', arch: 'x64', os: { distro: 'sim', release: '1', kernel: 'sim' }, cpu: { manufacturer: 'sim', brand: 'sim', cores: 4, physicalCores: 4, speedGHz: 2 }, memory: { totalBytes: 8 * 2 ** 30 } };
    const jobs = { engine: { name: 'sim', version: '1', apiVersion: '1.41' }, askPerSec: this.opts.ask ?? '0', capacity: { cpus: 4, memoryBytes: 4 * 2 ** 30, jobs: this.opts.jobs ?? 4 } };
    await publishAsync(this.client, state, codec.encode({ v: 1, status: 'online', at, agentVersion: 'sim', name: this.id, inventory, jobs }), { retain: true, qos: 1 });
    return this;
  }

  report(r: Omit<RunReport, 'at'>) {
    return this.peer.call(hubJobsService, 'update', { ...r, at: Date.now() });
  }
  lease(ids: string[]) {
    return this.peer.call(hubJobsService, 'lease', { ids });
  }
  /** Runs a job to the end: running, some output, then the final report. */
  async finish(id: string, digest: string, runtimeMs = 2500) {
    await this.report({ id, state: 'running', startedAt: Date.now() });
    await this.peer.call(hubJobsService, 'log', { id, pieces: [{ stream: 'stdout', data: `out of ${id}\n`, at: Date.now() }] });
    return this.report({ id, state: 'succeeded', exitCode: 0, digest, runtimeMs });
  }
  /** Dies without a word: the broker publishes the Will. */
  crash() {
    this.client.stream.destroy();
  }
}

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const devices: SimDevice[] = [];
async function addDevice(name: string, fleet: string, opts: { ask?: string; jobs?: number } = {}) {
  const creds = await preIssueDevice(hub.store, { name, fleet });
  const online = waitFor(`${name} online`, () => hub.store.getDevice(creds.deviceId)?.online);
  const d = await new SimDevice(creds.deviceId, creds, opts).connect();
  await online;
  devices.push(d);
  return d;
}
const submit = (spec: JobSpecInput) => operator.call(jobsService, 'submit', { spec: spec as never });
const show = (jobId: string) => operator.call(jobsService, 'show', { jobId });
const runOn = (d: SimDevice, jobId: string) => waitFor(`a run of ${jobId} on ${d.id}`, () => [...d.runs.values()].find((r) => r.jobId === jobId));

// replication exactly as each job asks (adaptive verification, on by default, is test/trust.e2e.test.ts's)
// leaseSec 30: the simulated devices never renew their leases, and no test here is about lease expiry (a
// 3 s lease lapsed on a loaded machine while a test still drove its run)
beforeAll(async () => {
  hub = await startHub(
    { dataDir: join(tmp.dir, 'hub'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, scryptN: 1024, jobs: { leaseSec: 30, offlineGraceSec: 1, tickMs: 100, maxRetries: 2, trust: { enabled: false } } },
    { log: silentLogger },
  );
  url = `mqtt://127.0.0.1:${hub.mqttPort}`;
  const { password } = await addOperator(hub.store, 'alice', 'operator', fast);
  operator = await ConsoleClient.connect({ url, hubId: hub.hubId, user: 'alice', password });
});
afterAll(async () => {
  await operator?.close();
  for (const d of devices) d.client.end(true);
  await hub?.stop();
  tmp.cleanup();
});

describe('scheduler', () => {
  it('refuses at submit time what no device can run, with the reason', async () => {
    await expect(submit({ image: 'busybox' })).rejects.toMatchObject({ code: 'E_INVALID', message: expect.stringContaining('no device is registered') });
    await addDevice('alpha', 'owner-a', { ask: '5' });
    await expect(submit({ image: 'busybox', bid: '4' })).rejects.toMatchObject({ message: expect.stringContaining('ask more than the bid') });
    await expect(submit({ image: 'busybox', bid: '5', resources: { memoryBytes: 2 ** 40 } })).rejects.toMatchObject({ message: expect.stringContaining('offer less than') });
    await expect(submit({ image: 'busybox', bid: '5', replicas: 2 })).rejects.toMatchObject({ message: expect.stringContaining('distinct owners') });
    await expect(submit({ image: 'busybox', bogus: 1 } as JobSpecInput)).rejects.toMatchObject({ code: 'E_INVALID', message: expect.stringContaining('bogus') });
  });

  it('dispatches to a matching device, follows its reports, and credits the ledger exactly once', async () => {
    const alpha = devices[0]!;
    const { jobId } = await submit({ image: 'busybox', bid: '7', command: ['true'] });
    const run = await runOn(alpha, jobId);
    expect(run.spec.bid).toBe(7n);
    await alpha.finish(run.id, digest('a'), 2500);
    const job = await waitFor('job succeeded', async () => ((await show(jobId)).state === 'succeeded' ? show(jobId) : null));
    expect(job).toMatchObject({ digest: digest('a'), exitCode: 0, devices: [alpha.id] });
    expect(job.events.filter((e) => e.runId === null).map((e) => e.to)).toEqual(['queued', 'assigned', 'running', 'succeeded']);
    expect(job.runs[0]).toMatchObject({ billedSec: 3, amount: 21n });
    // a redelivered final report changes nothing and pays nothing twice
    await expect(alpha.report({ id: run.id, state: 'succeeded', exitCode: 0, digest: digest('a'), runtimeMs: 2500 })).resolves.toMatchObject({ state: 'succeeded' });
    const e = await operator.call(earningsService, 'list', {});
    expect(e).toEqual({ owners: [{ owner: 'owner-a', amount: 21n, runs: 1, seconds: 3 }], total: 21n });
    const logs: string[] = [];
    await operator.call(jobsService, 'logs', { jobId, follow: false }, { onChunk: (c) => logs.push((c as { data: string }).data) });
    expect(logs.join('')).toBe(`out of ${run.id}\n`);
    // the lease of a finished run is not renewed
    expect((await alpha.lease([run.id])).jobs).toEqual([{ id: run.id, keep: false, reason: 'job succeeded' }]);
  });

  it('a device that dies loses its run after the grace period; the job is requeued and succeeds elsewhere', async () => {
    const beta = await addDevice('beta', 'owner-b', { ask: '1' });
    const gamma = await addDevice('gamma', 'owner-c', { ask: '2' });
    devices[0]!.refuse = true; // alpha takes nothing more
    const { jobId } = await submit({ image: 'busybox', bid: '5' });
    const first = await waitFor('a run placed', async () => (await show(jobId)).runs.find((r) => r.deviceId !== devices[0]!.id && r.state === 'assigned'));
    const victim = first.deviceId === beta.id ? beta : gamma;
    const other = victim === beta ? gamma : beta;
    await victim.report({ id: first.id, state: 'running', startedAt: Date.now() });
    victim.crash();
    const second = await runOn(other, jobId);
    await other.finish(second.id, digest('b'));
    const job = await waitFor('job succeeded', async () => ((await show(jobId)).state === 'succeeded' ? show(jobId) : null), 10_000);
    expect(job.retries).toBe(1);
    expect(job.runs.map((r) => r.state)).toEqual(['lost', 'succeeded']);
    expect(job.runs[0]!.reason).toMatch(/offline for more than 1 s/);
    expect(job.events.filter((e) => e.runId === null).map((e) => e.to)).toEqual(['queued', 'assigned', 'running', 'lost', 'queued', 'assigned', 'running', 'succeeded']);
    // the job's reason says how it ended (it succeeded), the loss stays in its history
    expect(job.reason).toBeNull();
    expect(job.events.find((e) => e.runId === null && e.to === 'lost')!.reason).toMatch(/offline for more than 1 s/);
    expect((await operator.call(jobsService, 'ls', {})).jobs.find((j) => j.id === jobId)!.reason).toBeNull();
    // a late report from the dead run is answered with its state and changes nothing
    devices.splice(devices.indexOf(victim), 1);
  });

  it('cancel works while queued and while assigned; the device hears it', async () => {
    const live = devices.filter((d) => !d.refuse);
    for (const d of devices) d.refuse = true;
    const queued = await submit({ image: 'busybox', bid: '5' });
    await expect(operator.call(jobsService, 'cancel', { jobId: queued.jobId })).resolves.toEqual({ jobId: queued.jobId, state: 'cancelled' });
    for (const d of live) d.refuse = false;
    const { jobId } = await submit({ image: 'busybox', bid: '5' });
    const d = await waitFor('placed', () => live.find((x) => [...x.runs.values()].some((r) => r.jobId === jobId)));
    const run = [...d.runs.values()].find((r) => r.jobId === jobId)!;
    await operator.call(jobsService, 'cancel', { jobId });
    await waitFor('device told to cancel', () => d.cancelled.includes(run.id));
    expect((await d.lease([run.id])).jobs[0]).toMatchObject({ keep: false });
    await expect(d.report({ id: run.id, state: 'running' })).resolves.toMatchObject({ state: 'cancelled' });
    await expect(operator.call(jobsService, 'cancel', { jobId: 'j-nope' })).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });

  it('replicas run on distinct owners; the majority digest wins and the dissenter loses reputation', async () => {
    for (const d of devices) d.refuse = false;
    const delta = await addDevice('delta', 'owner-d');
    const pool = devices.filter((d) => d.client.connected);
    const { jobId } = await submit({ image: 'busybox', replicas: 3, bid: '10' });
    const placed = await waitFor('three replicas placed', async () => {
      const j = await show(jobId);
      return j.runs.length === 3 ? j.runs : null;
    });
    expect(new Set(placed.map((r) => r.owner)).size).toBe(3);
    const liar = placed[1]!;
    for (const r of placed) await pool.find((d) => d.id === r.deviceId)!.finish(r.id, r === liar ? digest('f') : digest('c'), 1000);
    const job = await waitFor('verdict', async () => ((await show(jobId)).state === 'succeeded' ? show(jobId) : null));
    expect(job.digest).toBe(digest('c'));
    expect(job.runs.find((r) => r.id === liar.id)).toMatchObject({ verdict: 'dissent', amount: 0n });
    expect(job.runs.filter((r) => r.verdict === 'agree')).toHaveLength(2);
    const standing = (await operator.call(earningsService, 'devices', {})).devices;
    const liarStanding = standing.find((s) => s.deviceId === liar.deviceId)!;
    const honest = standing.find((s) => s.deviceId === placed[0]!.deviceId)!;
    expect(liarStanding.reputation).toBeLessThan(honest.reputation);
    expect(liarStanding.dissented).toBe(1);
    // the ledger holds exactly what the runs say, per owner
    const credits = (await operator.call(earningsService, 'list', {}));
    expect(credits.total).toBe(21n + 5n * 3n + 2n * 10n); // first job, the requeued one (2.5 s -> 3 s at 5), two agreeing replicas
    void delta;
  });

  it('a device that reports itself unhealthy gets no more jobs until it is healthy again', async () => {
    const pool = devices.filter((d) => d.client.connected);
    for (const d of pool) d.refuse = false;
    const sick = pool[0]!;
    await sick.peer.call(hubJobsService, 'lease', { ids: [], health: 'unhealthy', reason: 'stalled jobs' });
    let standing = (await operator.call(earningsService, 'devices', {})).devices.find((x) => x.deviceId === sick.id)!;
    expect(standing.healthy).toBe(false);
    const jobs = await Promise.all([1, 2, 3, 4].map(() => submit({ image: 'busybox', bid: '10' })));
    for (const { jobId } of jobs) await waitFor('placed', async () => (await show(jobId)).runs.length > 0);
    for (const { jobId } of jobs) expect((await show(jobId)).devices).not.toContain(sick.id);
    await sick.peer.call(hubJobsService, 'lease', { ids: [], health: 'ok' });
    standing = (await operator.call(earningsService, 'devices', {})).devices.find((x) => x.deviceId === sick.id)!;
    expect(standing.healthy).toBe(true);
    for (const { jobId } of jobs) await operator.call(jobsService, 'cancel', { jobId });
  });

  it('a hub restart keeps the queue and the runs; the device finishes its run and is paid once', async () => {
    const pool = devices.filter((d) => d.client.connected);
    const { jobId } = await submit({ image: 'busybox', bid: '100' });
    const placed = await waitFor('placed', async () => (await show(jobId)).runs[0]);
    const device = pool.find((d) => d.id === placed.deviceId)!;
    await device.report({ id: placed.id, state: 'running', startedAt: Date.now() });
    const before = (await operator.call(earningsService, 'list', {})).total;
    await operator.close();
    for (const d of devices) d.client.end(true);
    const dataDir = hub.dataDir;
    await hub.stop();
    hub = await startHub(
      { dataDir, mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, scryptN: 1024, jobs: { leaseSec: 30, offlineGraceSec: 5, tickMs: 100, maxRetries: 2, trust: { enabled: false } } },
      { log: silentLogger },
    );
    url = `mqtt://127.0.0.1:${hub.mqttPort}`;
    const { password } = await addOperator(hub.store, 'alice', 'operator', fast);
    operator = await ConsoleClient.connect({ url, hubId: hub.hubId, user: 'alice', password });
    expect((await show(jobId)).state).toBe('running');
    await device.connect();
    await device.report({ id: placed.id, state: 'succeeded', exitCode: 0, digest: digest('e'), runtimeMs: 1500 });
    await device.report({ id: placed.id, state: 'succeeded', exitCode: 0, digest: digest('e'), runtimeMs: 1500 });
    const job = await waitFor('succeeded', async () => ((await show(jobId)).state === 'succeeded' ? show(jobId) : null));
    expect(job.runs).toHaveLength(1);
    expect((await operator.call(earningsService, 'list', {})).total).toBe(before + 200n);
  });
});
