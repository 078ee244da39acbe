// The hub's side of remote access against a real hub (in-process, embedded broker) and a simulated device
// that speaks the jobs and remote protocols over MQTT: `remote.exec` reaches the running job's device for
// the job's submitter or an admin only, and every input to a shell session is checked against the operator
// who opened it. (The device's docker exec itself needs a container engine; agent/src/remote/service.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { addOperator, ConsoleClient, preIssueDevice, startHub } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import {
  connectOnce, createCodec, deviceJobsService, deviceRemoteService, hubJobsService, jobsService, publishAsync, remoteService, RpcEndpoint, RpcPeer, silentLogger, subscribeAsync, topics,
} from '@sosna/protocol';
import type { DeviceJob, MqttClient, RemoteChunk } from '@sosna/protocol';
import { tempDir, waitFor } from './helpers.js';

const codec = createCodec();
const tmp = tempDir('sosna-rexec-');
const fast = { N: 1024, r: 8, p: 1 };
let hub: Hub;
let url: string;
const consoles: Record<string, ConsoleClient> = {};
let device: { id: string; client: MqttClient; peer: RpcPeer; runs: Map<string, DeviceJob>; inputs: string[]; execs: { runId: string; cmd: string[] }[] };

beforeAll(async () => {
  hub = await startHub({ dataDir: join(tmp.dir, 'hub'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, scryptN: 1024, chain: { mode: 'off' }, jobs: { leaseSec: 60, tickMs: 100 } }, { log: silentLogger });
  url = `mqtt://127.0.0.1:${hub.mqttPort}`;
  for (const [name, role] of [['alice', 'operator'], ['bob', 'operator'], ['root', 'admin'], ['rooty', 'admin'], ['vic', 'viewer']] as const) {
    const { password } = await addOperator(hub.store, name, role, fast);
    consoles[name] = await ConsoleClient.connect({ url, hubId: hub.hubId, user: name, password });
  }
  const creds = await preIssueDevice(hub.store, { name: 'rig', fleet: 'f' });
  const id = creds.deviceId;
  const at = Date.now();
  const state = topics.device(hub.hubId, id, 'state');
  const client = await connectOnce({ url, clientId: id, username: creds.username, password: creds.password, keepaliveSec: 60, will: { topic: state, payload: codec.encode({ v: 1, status: 'offline', at, reason: 'will' }), retain: true, qos: 1 } });
  const runs = new Map<string, DeviceJob>();
  const inputs: string[] = [];
  const execs: { runId: string; cmd: string[] }[] = [];
  let endShell: (() => void) | null = null;
  const endpoint = new RpcEndpoint()
    .add(deviceJobsService, {
      start: ({ job }) => (runs.set(job.id, job), { id: job.id, state: 'assigned' as const, duplicate: false }),
      cancel: ({ id }) => ({ id, state: 'cancelled' as const }),
      list: () => ({ jobs: [] }),
      logs: () => {},
    })
    .add(deviceRemoteService, {
      open: async ({ sessionId }, ctx) => {
        ctx.emit({ kind: 'started', sessionId, deviceId: id } satisfies RemoteChunk);
        ctx.emit({ kind: 'out', data: '$ ' } satisfies RemoteChunk);
        await new Promise<void>((r) => (endShell = r));
        ctx.emit({ kind: 'exit', code: 0 } satisfies RemoteChunk);
      },
      input: ({ data }) => {
        inputs.push(data);
        if (data.includes('exit')) endShell?.();
        return { ok: true as const };
      },
      resize: () => ({ ok: true as const }),
      exec: ({ sessionId, runId, cmd }, ctx) => {
        execs.push({ runId, cmd });
        ctx.emit({ kind: 'started', sessionId, deviceId: id } satisfies RemoteChunk);
        ctx.emit({ kind: 'out', data: `ran ${cmd.join(' ')} in ${runId}\n`, stream: 'stdout' } satisfies RemoteChunk);
        ctx.emit({ kind: 'exit', code: 7 } satisfies RemoteChunk);
      },
      logs: () => {},
    });
  const peer = new RpcPeer({ role: 'owner', codec, endpoint, send: (b) => client.publish(topics.device(hub.hubId, id, 'rpc/out'), Buffer.from(b), { qos: 1 }) });
  client.on('message', (_t, p) => peer.receive(p));
  await subscribeAsync(client, topics.device(hub.hubId, id, 'rpc/in'));
  const inventory = { hostname: id, platform: 'linux', arch: 'x64', os: { distro: 'sim', release: '1', kernel: 'sim' }, cpu: { manufacturer: 'sim', brand: 'sim', cores: 4, physicalCores: 4, speedGHz: 2 }, memory: { totalBytes: 8 * 2 ** 30 } };
  const jobs = { engine: { name: 'sim', version: '1', apiVersion: '1.41' }, askPerSec: '0', capacity: { cpus: 4, memoryBytes: 4 * 2 ** 30, jobs: 4 } };
  await publishAsync(client, state, codec.encode({ v: 1, status: 'online', at, agentVersion: 'sim', name: 'rig', inventory, jobs }), { retain: true, qos: 1 });
  await waitFor('rig online', () => hub.store.getDevice(id)?.online);
  device = { id, client, peer, runs, inputs, execs };
}, 60_000);

afterAll(async () => {
  for (const c of Object.values(consoles)) await c.close();
  device?.client.end(true);
  await hub?.stop();
  tmp.cleanup();
});

const exec = async (who: string, jobId: string, cmd: string[]) => {
  const chunks: RemoteChunk[] = [];
  await consoles[who]!.call(remoteService, 'exec', { jobId, cmd }, { onChunk: (c) => chunks.push(c as RemoteChunk) });
  return chunks;
};

describe('jobs exec', () => {
  it("reaches the running job's container for its submitter and an admin, nobody else; each exec is recorded", async () => {
    const { jobId } = await consoles.alice!.call(jobsService, 'submit', { spec: { image: 'busybox', command: ['sleep', '600'] } as never });
    const run = await waitFor('the run on the device', () => [...device.runs.values()].find((r) => r.jobId === jobId));
    // not running yet: nothing to exec into
    await expect(exec('alice', jobId, ['ls'])).rejects.toMatchObject({ code: 'E_CONFLICT', message: expect.stringContaining('no replica running') });
    await device.peer.call(hubJobsService, 'update', { id: run.id, state: 'running', startedAt: Date.now(), at: Date.now() });
    await waitFor('the run is running', () => hub.store.jobs.getRun(run.id)?.state === 'running');

    const mine = await exec('alice', jobId, ['ls', '-la', '/data']);
    expect(mine.map((c) => c.kind)).toEqual(['started', 'out', 'exit']);
    expect(mine[1]).toMatchObject({ data: `ran ls -la /data in ${run.id}\n` });
    expect(mine[2]).toEqual({ kind: 'exit', code: 7 });
    expect(device.execs.at(-1)).toEqual({ runId: run.id, cmd: ['ls', '-la', '/data'] });

    await expect(exec('bob', jobId, ['cat', '/etc/shadow'])).rejects.toMatchObject({
      code: 'E_UNAUTHORIZED', message: `jobs exec on ${jobId} is for the operator who submitted it or an admin; bob is a operator`,
    });
    await expect(exec('vic', jobId, ['ls'])).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', message: expect.stringContaining('remote.exec needs the operator role; vic is a viewer') });
    expect(device.execs.map((e) => e.cmd[0])).toEqual(['ls']); // neither reached the device
    await expect(exec('root', jobId, ['id'])).resolves.toHaveLength(3);
    await expect(exec('alice', 'j-nosuchjob', ['ls'])).rejects.toMatchObject({ code: 'E_NOT_FOUND', message: 'no job j-nosuchjob' });

    const { sessions } = await consoles.root!.call(remoteService, 'sessions', { deviceId: device.id });
    const execs = sessions.filter((s) => s.kind === 'exec');
    expect(execs.map((s) => [s.operator, s.jobId, s.command, s.exitCode])).toEqual([
      ['root', jobId, 'id', 7],
      ['alice', jobId, 'ls -la /data', 7],
    ]);
  }, 30_000);
});

describe('shell sessions on the hub', () => {
  it("takes input only from the operator who opened the session", async () => {
    const chunks: RemoteChunk[] = [];
    const session = consoles.root!.call(remoteService, 'shell', { deviceId: device.id, cols: 80, rows: 24 }, { timeoutMs: 60_000, onChunk: (c) => chunks.push(c as RemoteChunk) });
    const started = await waitFor('started', () => chunks.find((c) => c.kind === 'started'));
    const sessionId = (started as { sessionId: string }).sessionId;
    // another admin cannot type into it, nor resize it; it never reaches the device
    await expect(consoles.rooty!.call(remoteService, 'input', { sessionId, data: 'rm -rf /\n' })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', message: `session ${sessionId} belongs to root, not rooty` });
    await expect(consoles.rooty!.call(remoteService, 'resize', { sessionId, cols: 10, rows: 10 })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    await expect(consoles.alice!.call(remoteService, 'input', { sessionId, data: 'x' })).rejects.toMatchObject({ message: expect.stringContaining('remote.input needs the admin role') });
    expect(device.inputs).toEqual([]);

    // the console's way (one call at a time) is slowed down past 200 calls a second, never refused: a paste arrives whole
    for (let i = 0; i < 400; i++) await consoles.root!.call(remoteService, 'input', { sessionId, data: `k${i} ` });
    expect(device.inputs).toHaveLength(400);
    expect(device.inputs.join('')).toBe(Array.from({ length: 400 }, (_, i) => `k${i} `).join(''));
    // a client that floods calls at once gets the burst through, a few waiting, the rest refused
    const flood = await Promise.allSettled(Array.from({ length: 1000 }, () => consoles.root!.call(remoteService, 'input', { sessionId, data: 'f' })));
    const refused = flood.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    expect(String((refused[0] as PromiseRejectedResult).reason.message)).toMatch(/calls are waiting on session s-[0-9a-f]{16} \(at most 200 a second\); send one at a time/);
    expect(device.inputs.length).toBe(400 + flood.filter((r) => r.status === 'fulfilled').length);
    device.inputs.length = 0;

    await consoles.root!.call(remoteService, 'input', { sessionId, data: 'exit\n' });
    await session;
    expect(chunks.at(-1)).toEqual({ kind: 'exit', code: 0 });
    const rec = hub.store.sessions.get(sessionId)!;
    expect(rec).toMatchObject({ kind: 'shell', operator: 'root', deviceId: device.id, exitCode: 0 });
    expect(rec.bytesIn).toBeGreaterThan(400 * 3);
    expect(rec.endedAt).not.toBeNull();
    // a session that ended takes no more input
    await expect(consoles.root!.call(remoteService, 'input', { sessionId, data: 'x' })).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  }, 30_000);
});
