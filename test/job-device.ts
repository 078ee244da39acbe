// A simulated device for jobs tests: it speaks the jobs protocol over MQTT (the device side of
// test/jobs-scheduler.test.ts's SimDevice), takes runs and reports whatever the test tells it to. It can
// declare an owner wallet in its birth (the owner a hub keys earnings, reputation and stakes on).
import { preIssueDevice } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import {
  connectOnce, createCodec, deviceJobsService, hubJobsService, publishAsync, RpcEndpoint, RpcPeer, subscribeAsync, topics,
} from '@sosna/protocol';
import type { DeviceJob, MqttClient, RunReport } from '@sosna/protocol';

const codec = createCodec();

export class JobDevice {
  readonly runs = new Map<string, DeviceJob>();
  client!: MqttClient;
  peer!: RpcPeer;
  /** Refuse new runs (E_CONFLICT), as a full device does. */
  refuse = false;

  private constructor(
    private readonly hub: Hub,
    readonly id: string,
    private readonly creds: { username: string; password: string },
    private readonly opts: { owner?: string; jobs?: number; ask?: string },
  ) {}

  static async preIssue(hub: Hub, name: string, opts: { owner?: string; fleet?: string; jobs?: number; ask?: string } = {}): Promise<JobDevice> {
    const creds = await preIssueDevice(hub.store, { name, fleet: opts.fleet ?? null });
    return new JobDevice(hub, creds.deviceId, creds, opts);
  }

  async connect(url: string): Promise<this> {
    const at = Date.now();
    const state = topics.device(this.hub.hubId, this.id, 'state');
    this.client = await connectOnce({ url, clientId: this.id, username: this.creds.username, password: this.creds.password, keepaliveSec: 60, will: { topic: state, payload: codec.encode({ v: 1, status: 'offline', at, reason: 'will' }), retain: true, qos: 1 } });
    const endpoint = new RpcEndpoint().add(deviceJobsService, {
      start: ({ job }) => {
        if (this.refuse) throw Object.assign(new Error('no capacity'), { code: 'E_CONFLICT' });
        const duplicate = this.runs.has(job.id);
        this.runs.set(job.id, job);
        return { id: job.id, state: 'assigned' as const, duplicate };
      },
      cancel: ({ id }) => ({ id, state: 'cancelled' as const }),
      list: () => ({ jobs: [] }),
      logs: () => {},
    });
    const out = topics.device(this.hub.hubId, this.id, 'rpc/out');
    this.peer = new RpcPeer({ role: 'owner', codec, endpoint, send: (b) => this.client.publish(out, Buffer.from(b), { qos: 1 }) });
    this.client.on('message', (_t, p) => this.peer.receive(p));
    await subscribeAsync(this.client, topics.device(this.hub.hubId, this.id, 'rpc/in'));
    const inventory = {
      hostname: this.id, platform: 'linux', arch: 'x64', os: { distro: 'sim', release: '1', kernel: 'sim' },
      cpu: { manufacturer: 'sim', brand: 'sim', cores: 4, physicalCores: 4, speedGHz: 2 }, memory: { totalBytes: 8 * 2 ** 30 },
    };
    const jobs = { engine: { name: 'sim', version: '1', apiVersion: '1.41' }, askPerSec: this.opts.ask ?? '0', capacity: { cpus: 4, memoryBytes: 4 * 2 ** 30, jobs: this.opts.jobs ?? 4 } };
    await publishAsync(this.client, state, codec.encode({ v: 1, status: 'online', at, agentVersion: 'sim', name: this.id, inventory, jobs, ...(this.opts.owner ? { owner: this.opts.owner } : {}) }), { retain: true, qos: 1 });
    return this;
  }

  report(r: Omit<RunReport, 'at'>) {
    return this.peer.call(hubJobsService, 'update', { ...r, at: Date.now() });
  }

  /** Runs a job to the end: running, then succeeded with this output digest. */
  async finish(id: string, digest: string, runtimeMs = 1500) {
    await this.report({ id, state: 'running', startedAt: Date.now() });
    return this.report({ id, state: 'succeeded', exitCode: 0, digest, runtimeMs });
  }

  close() {
    this.client?.end(true);
  }
}
