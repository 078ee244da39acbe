// /metrics of the hub (a real hub, real broker, a device over MQTT) and of the agent's metrics module, judged
// by Prometheus' own `promtool check metrics`; the figures against what the hub knows. The fleet end-to-end
// run (fleet.e2e.test.ts) scrapes both from real processes beside the console.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { preIssueDevice, startHub } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import { connectOnce, createCodec, publishAsync, RpcEndpoint, RpcPeer, startMetricsServer, subscribeAsync, systemService, topics } from '@sosna/protocol';
import type { MqttClient } from '@sosna/protocol';
import { createAgentMetrics, telemetrySamples } from '../agent/src/metrics.js';
import { rpcLabels } from '../hub/src/metrics/hub-metrics.js';
import { captureLogger, tempDir, waitFor } from './helpers.js';
import { BUNDLE, requireBuild, start, writeJson } from './procs.js';
import { promtoolCheck, sampleValue, scrapeAndCheck } from './promtool.js';

const tmp = tempDir('sosna-metrics-');
const codec = createCodec();
let hub: Hub;
let device: MqttClient;
let deviceId: string;

beforeAll(async () => {
  hub = await startHub({ dataDir: join(tmp.dir, 'hub'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, metrics: { port: 0 }, scryptN: 1024, chain: { mode: 'off' } }, { log: captureLogger().log });
  const creds = await preIssueDevice(hub.store, { name: 'rig', fleet: null });
  deviceId = creds.deviceId;
  const at = Date.now(); // the session's start, in the Will and the birth (a Will older than the birth is stale)
  const will = { topic: topics.device(hub.hubId, deviceId, 'state'), payload: codec.encode({ v: 1, status: 'offline', at, reason: 'will' }), retain: true, qos: 1 as const };
  device = await connectOnce({ url: `mqtt://127.0.0.1:${hub.mqttPort}`, clientId: deviceId, username: creds.username, password: creds.password, will });
  const endpoint = new RpcEndpoint().add(systemService, {
    info: () => ({ deviceId, name: 'rig', agentVersion: 'test', uptimeSec: 1, node: process.version, inventory: {} as never }),
    ping: ({ echo }) => ({ echo, at: Date.now() }),
  });
  const peer = new RpcPeer({ role: 'owner', codec, endpoint, send: (b) => device.publish(topics.device(hub.hubId, deviceId, 'rpc/out'), Buffer.from(b), { qos: 1 }) });
  device.on('message', (_t, p) => peer.receive(p));
  await subscribeAsync(device, topics.device(hub.hubId, deviceId, 'rpc/in'));
  const inventory = { hostname: 'rig', platform: 'linux', arch: 'x64', os: { distro: 'test', release: '1', kernel: 'test' }, cpu: { manufacturer: 't', brand: 't', cores: 2, physicalCores: 1, speedGHz: 1 }, memory: { totalBytes: 2 ** 30 } };
  await publishAsync(device, topics.device(hub.hubId, deviceId, 'state'), codec.encode({ v: 1, status: 'online', at, agentVersion: 'test', name: 'rig', inventory }), { retain: true, qos: 1 });
  await waitFor('the device online', () => hub.store.getDevice(deviceId)?.online, 10_000);
});

afterAll(async () => {
  device?.end(true);
  await hub?.stop();
  tmp.cleanup();
});

describe('the hub serves /metrics', () => {
  it('promtool accepts it; devices, connections and the build are there; no device id in any label', async () => {
    expect(hub.metrics?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const r = await scrapeAndCheck(hub.metrics!.url);
    expect(r.code, r.output).toBe(0);
    expect(r.contentType).toContain('text/plain; version=0.0.4');
    expect(r.text).toMatch(/^sosna_build_info\{component="hub",version="[^"]+",node_version="[^"]+"\} 1$/m);
    expect(sampleValue(r.text, 'sosna_hub_devices', { state: 'online' })).toBe(1);
    expect(sampleValue(r.text, 'sosna_hub_devices', { state: 'offline' })).toBe(0);
    expect(sampleValue(r.text, 'sosna_hub_devices_online', { class: 'cpu' })).toBe(1);
    expect(sampleValue(r.text, 'sosna_hub_devices_online', { class: 'gpu' })).toBe(0);
    expect(sampleValue(r.text, 'sosna_hub_connections', { kind: 'device' })).toBe(1);
    expect(sampleValue(r.text, 'sosna_hub_connections', { kind: 'operator' })).toBe(0);
    for (const s of ['queued', 'running', 'succeeded', 'failed', 'lost']) expect(sampleValue(r.text, 'sosna_hub_jobs', { state: s })).toBe(0);
    expect(sampleValue(r.text, 'sosna_hub_broker_received_messages_total')).toBeGreaterThanOrEqual(1); // the birth
    expect(r.text).toMatch(/^sosna_hub_process_resident_memory_bytes \d+/m);
    expect(r.text).not.toContain(deviceId);
    expect(r.text).not.toMatch(/sosna_hub_payout/); // chain off: no payouts, no payout figures
  });

  it('device RPC round trips land in the latency histogram, with bounded labels', async () => {
    await hub.links.call(deviceId, 'system', 'ping', { echo: 'x' });
    await hub.links.call(deviceId, 'system', 'made-up-method', {}).catch(() => {});
    const r = await scrapeAndCheck(hub.metrics!.url);
    expect(r.code, r.output).toBe(0);
    expect(sampleValue(r.text, 'sosna_hub_device_rpc_duration_seconds_count', { service: 'system', method: 'ping', outcome: 'ok' })).toBe(1);
    expect(r.text).toMatch(/^sosna_hub_device_rpc_duration_seconds_count\{service="other",method="other",outcome="E_[A-Z_]+"\} 1$/m);
    expect(r.text).not.toContain('made-up-method');
    expect(rpcLabels('jobs', 'start')).toEqual({ service: 'jobs', method: 'start' });
    expect(rpcLabels('system', `x${'y'.repeat(100)}`)).toEqual({ service: 'other', method: 'other' });
  });

  it('a refused login is counted by its reason; the device going offline is seen', async () => {
    const bad = connectOnce({ url: `mqtt://127.0.0.1:${hub.mqttPort}`, clientId: 'intruder', username: `dev:${deviceId}x`, password: 'wrong', connectTimeoutMs: 5000 });
    await expect(bad).rejects.toThrow();
    const r = await scrapeAndCheck(hub.metrics!.url);
    expect(sampleValue(r.text, 'sosna_hub_connections_refused_total', { reason: 'not_authorized' })).toBe(1);
    device.stream.destroy(); // the connection drops: the broker publishes the Will, as for an agent that dies
    await waitFor('the device offline', () => !hub.store.getDevice(deviceId)?.online, 10_000);
    const after = await scrapeAndCheck(hub.metrics!.url);
    expect(after.code, after.output).toBe(0);
    expect(sampleValue(after.text, 'sosna_hub_devices_online', { class: 'cpu' })).toBe(0);
    expect(sampleValue(after.text, 'sosna_hub_devices', { state: 'offline' })).toBe(1);
  });

  it('answers only GET/HEAD /metrics', async () => {
    const base = hub.metrics!.url.replace(/\/metrics$/, '');
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(hub.metrics!.url, { method: 'POST' })).status).toBe(405);
    const head = await fetch(hub.metrics!.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });
});

describe('hub metrics config', () => {
  it('a malformed metrics field is refused with the field and the reason', async () => {
    const start = (metrics: unknown) => startHub({ dataDir: join(tmp.dir, 'bad'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, metrics: metrics as never, chain: { mode: 'off' } }, { log: captureLogger().log });
    await expect(start({ port: 'x' })).rejects.toThrow(/metrics\.port: must be a port number 0-65535/);
    await expect(start({ port: 70000 })).rejects.toThrow(/metrics\.port: must be a port number 0-65535/);
    await expect(start({ host: 'not a host' })).rejects.toThrow(/metrics\.host: must be a host name or an IP address/);
    await expect(start({ prot: 1 })).rejects.toThrow(/metrics.*prot/);
  });

  it('a port in use is refused naming the setting; null turns metrics off', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as { port: number }).port;
    try {
      await expect(startHub({ dataDir: join(tmp.dir, 'busy'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, metrics: { port }, chain: { mode: 'off' } }, { log: captureLogger().log }))
        .rejects.toThrow(`metrics.port (--metrics-port): port ${port} on 127.0.0.1 is already in use`);
    } finally {
      taken.close();
    }
    const off = await startHub({ dataDir: join(tmp.dir, 'off'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, metrics: { port: null }, chain: { mode: 'off' } }, { log: captureLogger().log });
    expect(off.metrics).toBeNull();
    await off.stop();
  });
});

describe("the agent's metrics", () => {
  const values = {
    'cpu.loadPct': 12.5, 'mem.usedBytes': 1e9, 'load.1m': 0.5, 'cpu.tempC': 50, 'gpu.count': 1, 'gpu.0.ok': 1, 'gpu.0.tempC': 61, 'gpu.0.powerW': 120, 'gpu.0.fanPct': 40,
    'gpu.0.coreMHz': 1500, 'gpu.0.utilPct': 90, 'asic.count': 2, 'asic.10.0.0.5.ok': 1, 'asic.10.0.0.5.hashrate5s': 1.3e13, 'asic.10.0.0.5.hashrateAvg': 1.2e13,
    'asic.10.0.0.5.hwErrors': 3, 'asic.10.0.0.5.chain.0.tempC': 70, 'asic.10.0.0.5.chain.0.hashrate': 4e12, 'asic.10.0.0.5.fan.0.rpm': 5000, 'asic.10.0.0.6:4029.ok': 0,
  };

  it('maps telemetry keys to base units (ratios, hertz, H/s) with bounded labels', () => {
    const s = telemetrySamples(values);
    const find = (name: string, labels: Record<string, string> = {}) => s.find((x) => x.name === name && JSON.stringify(x.labels) === JSON.stringify(labels))?.value;
    expect(find('sosna_agent_cpu_utilization_ratio')).toBe(0.125);
    expect(find('sosna_agent_gpu_fan_ratio', { gpu: '0' })).toBe(0.4);
    expect(find('sosna_agent_gpu_clock_hertz', { gpu: '0', clock: 'core' })).toBe(1.5e9);
    expect(find('sosna_agent_hashrate_hashes_per_second', { source: 'asic', id: '10.0.0.5', window: '5s' })).toBe(1.3e13);
    expect(find('sosna_agent_asic_chain_temperature_celsius', { asic: '10.0.0.5', chain: '0' })).toBe(70);
    expect(find('sosna_agent_asic_up', { asic: '10.0.0.6:4029' })).toBe(0);
    expect(s.some((x) => x.name.includes('count'))).toBe(false);
  });

  it('promtool accepts the scrape; link, runs and hardware are there', async () => {
    let connected = true;
    const m = createAgentMetrics({ version: '9.9.9', sample: () => ({ at: 1_700_000_000_000, values }), connected: () => connected, connects: () => 2, runs: () => [{ state: 'running' }, { state: 'pulling' }, { state: 'running' }], maxJobs: 8 });
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0, scrape: m.scrape, setting: 'metrics.port' });
    try {
      const r = await scrapeAndCheck(server.url);
      expect(r.code, r.output).toBe(0);
      expect(r.text).toMatch(/^sosna_build_info\{component="agent",version="9\.9\.9",node_version="[^"]+"\} 1$/m);
      expect(sampleValue(r.text, 'sosna_agent_hub_connected')).toBe(1);
      expect(sampleValue(r.text, 'sosna_agent_hub_connects_total')).toBe(2);
      expect(sampleValue(r.text, 'sosna_agent_jobs', { state: 'running' })).toBe(2);
      expect(sampleValue(r.text, 'sosna_agent_jobs', { state: 'pulling' })).toBe(1);
      expect(sampleValue(r.text, 'sosna_agent_job_slots')).toBe(8);
      expect(sampleValue(r.text, 'sosna_agent_gpu_temperature_celsius', { gpu: '0' })).toBe(61);
      expect(sampleValue(r.text, 'sosna_agent_gpu_power_watts', { gpu: '0' })).toBe(120);
      expect(sampleValue(r.text, 'sosna_agent_asic_hardware_errors_total', { asic: '10.0.0.5' })).toBe(3);
      expect(sampleValue(r.text, 'sosna_agent_telemetry_sample_timestamp_seconds')).toBe(1_700_000_000);
      connected = false;
      expect(sampleValue((await scrapeAndCheck(server.url)).text, 'sosna_agent_hub_connected')).toBe(0);
    } finally {
      await server.close();
      m.stop();
    }
  });

  it('the agent refuses a malformed metrics config with the file, the field and the reason (exit 78)', async () => {
    requireBuild();
    const file = writeJson(join(tmp.dir, 'bad-agent', 'config.json'), { hub: { url: 'mqtt://127.0.0.1:1' }, stateDir: join(tmp.dir, 'bad-agent', 'state'), metrics: { enabled: 'yes', port: 99999 } });
    const agent = start([BUNDLE, '--config', file]);
    expect(await agent.exited).toBe(78);
    expect(agent.output()).toContain(`${file}: metrics.enabled: must be true or false (true: serve Prometheus /metrics on metrics.host:metrics.port) (got "yes")`);
    expect(agent.output()).toContain(`${file}: metrics.port: must be a port number 0-65535 (got 99999)`);
  });

  it('promtool itself refuses a broken exposition (the check is real)', () => {
    expect(promtoolCheck('# TYPE x_bytes counter\nx_bytes 1\n').code).not.toBe(0);
  });
});
