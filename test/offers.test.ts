// `sosna console offers` through a real hub: simulated devices of four hardware classes (their births
// over MQTT, as an agent sends them), the real CLI, the same requirement flags as `jobs submit`, and a
// device that stops being free once a job holds it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { addOperator, preIssueDevice, startHub } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import { connectOnce, createCodec, deviceJobsService, publishAsync, RpcEndpoint, RpcPeer, silentLogger, subscribeAsync, topics } from '@sosna/protocol';
import type { MqttClient } from '@sosna/protocol';
import { cli, requireBuild } from './procs.js';
import { tempDir, waitFor } from './helpers.js';

const GiB = 2 ** 30;
const codec = createCodec();
const tmp = tempDir('sosna-offers-');
let hub: Hub;
let conn: string[];
const clients: MqttClient[] = [];
const taken: string[] = [];

interface Sim { name: string; ask: string; region: string; gpu?: { name: string; vram: number }; cpu: string; cores: number; mem: number; bench: number; jobs: number }
const SIMS: Sim[] = [
  { name: 'gpu-a', ask: '5', region: 'eu', gpu: { name: 'NVIDIA GeForce RTX 4090', vram: 24 * GiB }, cpu: 'AMD Ryzen 9 7950X', cores: 16, mem: 32 * GiB, bench: 900, jobs: 2 },
  { name: 'gpu-b', ask: '7', region: 'eu', gpu: { name: 'NVIDIA GeForce RTX 4090', vram: 24 * GiB }, cpu: 'AMD Ryzen 9 7950X', cores: 16, mem: 32 * GiB, bench: 800, jobs: 2 },
  { name: 'cpu-c', ask: '1', region: 'us', cpu: 'Intel Xeon E5-2680', cores: 8, mem: 16 * GiB, bench: 300, jobs: 1 },
  { name: 'cpu-d', ask: '3', region: 'us', cpu: 'Intel Xeon E5-2680', cores: 8, mem: 16 * GiB, bench: 400, jobs: 1 },
  { name: 'pi-e', ask: '0', region: 'eu', cpu: 'Cortex-A76', cores: 4, mem: 4 * GiB, bench: 50, jobs: 1 },
];

async function simulate(s: Sim): Promise<void> {
  const creds = await preIssueDevice(hub.store, { name: s.name, fleet: s.name, tags: [`region=${s.region}`] });
  const id = creds.deviceId;
  const state = topics.device(hub.hubId, id, 'state');
  const client = await connectOnce({ url: `mqtt://127.0.0.1:${hub.mqttPort}`, clientId: id, username: creds.username, password: creds.password, keepaliveSec: 60 });
  clients.push(client);
  const endpoint = new RpcEndpoint().add(deviceJobsService, {
    start: ({ job }) => (taken.push(id), { id: job.id, state: 'assigned' as const, duplicate: false }),
    cancel: ({ id: runId }) => ({ id: runId, state: 'cancelled' as const }),
    list: () => ({ jobs: [] }),
    logs: () => {},
  });
  const out = topics.device(hub.hubId, id, 'rpc/out');
  const peer = new RpcPeer({ role: 'owner', codec, endpoint, send: (b) => client.publish(out, Buffer.from(b), { qos: 1 }) });
  client.on('message', (_t, p) => peer.receive(p));
  await subscribeAsync(client, topics.device(hub.hubId, id, 'rpc/in'));
  const arch = s.name.startsWith('pi') ? 'arm64' : 'x64';
  const inventory = {
    hostname: s.name, platform: 'linux', arch, os: { distro: 'sim', release: '1', kernel: 'sim' },
    cpu: { manufacturer: 'sim', brand: s.cpu, cores: s.cores, physicalCores: s.cores, speedGHz: 3 }, memory: { totalBytes: s.mem },
  };
  const hardware = { gpus: s.gpu ? [{ index: 0, vendor: 'nvidia', name: s.gpu.name, vramBytes: s.gpu.vram }] : [], disks: [{ freeBytes: 100 * GiB }] };
  const jobs = { engine: { name: 'sim', version: '1', apiVersion: '1.41' }, askPerSec: s.ask, capacity: { cpus: s.cores, memoryBytes: s.mem, jobs: s.jobs } };
  await publishAsync(client, state, codec.encode({ v: 1, status: 'online', at: Date.now(), agentVersion: 'sim', name: s.name, inventory, hardware, benchmarks: { 'cpu-sha256': s.bench }, jobs }), { retain: true, qos: 1 });
}

interface Offer { gpu: string | null; gpuCount: number; vramBytes: number | null; cpu: string | null; cores: number | null; memoryBytes: number; arch: string | null; region: string | null; benchmarks: Record<string, number>; devices: number; askMin: string; askMedian: string }
async function offers(args: string[] = []): Promise<{ classes: Offer[]; online: number; free: number }> {
  const r = await cli(['console', 'offers', ...conn, '--json', ...args], { timeoutMs: 30_000 });
  expect(r.code, r.output).toBe(0);
  return JSON.parse(r.stdout) as { classes: Offer[]; online: number; free: number };
}

beforeAll(async () => {
  requireBuild();
  hub = await startHub({ dataDir: join(tmp.dir, 'hub'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, scryptN: 1024, jobs: { leaseSec: 30, tickMs: 100, trust: { enabled: false } } }, { log: silentLogger });
  const { password } = await addOperator(hub.store, 'buyer', 'operator', { N: 1024, r: 8, p: 1 });
  conn = ['--url', `mqtt://127.0.0.1:${hub.mqttPort}`, '--hub-id', hub.hubId, '--user', 'buyer', '--password', password];
  for (const s of SIMS) await simulate(s);
  await waitFor('five devices online', () => hub.store.listDevices().filter((d) => d.online && d.inventory?.jobs).length === 5 || null, 30_000, 100);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  await hub?.stop();
  tmp.cleanup();
});

describe('console offers', { timeout: 60_000 }, () => {
  it('groups the free devices by hardware class with min and median asks', async () => {
    const r = await offers();
    expect(r).toMatchObject({ online: 5, free: 5 });
    const gpu = r.classes.find((c) => c.gpu)!;
    expect(gpu).toMatchObject({ gpu: 'NVIDIA GeForce RTX 4090', gpuCount: 1, vramBytes: 24 * GiB, cpu: 'AMD Ryzen 9 7950X', cores: 16, memoryBytes: 32 * GiB, arch: 'x64', region: 'eu', devices: 2, askMin: '5', askMedian: '6', benchmarks: { 'cpu-sha256': 800 } });
    expect(r.classes.find((c) => c.cpu === 'Intel Xeon E5-2680')).toMatchObject({ gpu: null, devices: 2, askMin: '1', askMedian: '2', region: 'us', memoryBytes: 16 * GiB });
    expect(r.classes.find((c) => c.arch === 'arm64')).toMatchObject({ devices: 1, askMin: '0', askMedian: '0', cores: 4 });
    expect(r.classes).toHaveLength(3);
    const text = await cli(['console', 'offers', ...conn], { timeoutMs: 30_000 });
    expect(text.stdout).toMatch(/FREE\s+GPU\s+VRAM\s+CPU/);
    expect(text.stdout).toMatch(/2\s+1x NVIDIA GeForce RTX 4090\s+24 GiB/);
    expect(text.stdout).toContain('5 device(s) free now of 5 online');
  });

  it('takes the requirement flags of jobs submit', async () => {
    expect((await offers(['--gpus', '1', '--gpu-vram-min', '16G'])).classes.map((c) => c.gpu)).toEqual(['NVIDIA GeForce RTX 4090']);
    expect((await offers(['--gpu-model', 'RTX 3090'])).classes).toEqual([]);
    expect((await offers(['--memory', '20G'])).classes.map((c) => c.devices)).toEqual([2]);
    const cheap = await offers(['--bid', '2']);
    expect(cheap.classes.map((c) => [c.arch, c.devices, c.askMin])).toEqual([['arm64', 1, '0'], ['x64', 1, '1']]);
    expect((await offers(['--arch', 'arm64'])).classes.map((c) => c.cpu)).toEqual(['Cortex-A76']);
    expect((await offers(['--cpus', '12'])).free).toBe(2);
    const bad = await cli(['console', 'offers', ...conn, '--memory', 'lots'], { timeoutMs: 30_000 });
    expect(bad.code).toBe(1);
    expect(bad.output).toContain('--memory "lots": use a size like 256M or 2G');
    const badBid = await cli(['console', 'offers', ...conn, '--bid', 'cheap'], { timeoutMs: 30_000 });
    expect(badBid.code).toBe(1);
    expect(badBid.output).toContain('--bid "cheap"');
  });

  it('a device a job holds is no longer on offer', async () => {
    const sub = await cli(['console', 'jobs', 'submit', ...conn, '--image', 'busybox', '--bid', '1', '--arch', 'x64', '--cpus', '1', '--', 'true'], { timeoutMs: 30_000 });
    expect(sub.code, sub.output).toBe(0);
    await waitFor('the job placed', () => taken.length > 0 || null, 30_000, 100);
    const xeon = (await offers()).classes.find((c) => c.cpu === 'Intel Xeon E5-2680')!;
    expect(xeon).toMatchObject({ devices: 1, askMin: '3', askMedian: '3' });
    expect((await offers(['--bid', '1', '--arch', 'x64'])).classes).toEqual([]);
  });
});
