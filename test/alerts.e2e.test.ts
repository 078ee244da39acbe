// Alerts end to end: a hub (in-process, real broker) with offline rules, lightweight simulated devices on
// the protocol package (killed = their MQTT connection dropped, so the hub sees their Will), and a local
// HTTP receiver. One device killed and brought back: exactly one "firing" and one "resolved" message, and
// a hub restart in between neither forgets the firing alert nor sends it again. A receiver that answers
// 500 three times gets the message retried with growing waits until it takes it. 50 devices killed at once:
// one message listing them all. The real `sosna console alerts ls|ack|test` (cli/dist) and `sosna hub`
// refusing a bad rule at start with the file, the field and the reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addOperator, preIssueDevice, startHub } from '@sosna/hub';
import type { Hub, HubConfigInput } from '@sosna/hub';
import { connectOnce, createCodec, createLogger, publishAsync, topics } from '@sosna/protocol';
import type { MqttClient } from '@sosna/protocol';
import { cli, requireBuild } from './procs.js';
import { tempDir, waitFor } from './helpers.js';

const tmp = tempDir('sosna-alerts-');
const hubDir = join(tmp.dir, 'hub');
const silent = createLogger({ level: 'error', write: () => {} });
const fast = { N: 1024, r: 8, p: 1 };
const codec = createCodec();

interface Received { path: string; body: Record<string, unknown>; at: number; answered: number }
const received: Received[] = [];
/** Paths that answer 500 this many more times. */
const failures = new Map<string, number>();
let receiver: Server;
let hook: string;
let hub: Hub;
let hubConfig: HubConfigInput;

interface Sim { deviceId: string; username: string; password: string; name: string; client: MqttClient | null }
const sims = new Map<string, Sim[]>();

async function connectSim(sim: Sim): Promise<void> {
  const at = Date.now();
  const state = topics.device(hub.hubId, sim.deviceId, 'state');
  const inventory = { hostname: sim.name, platform: 'linux', arch: 'x64', os: { distro: 'sim', release: '1', kernel: 'sim' }, cpu: { manufacturer: 'sim', brand: 'sim', cores: 2, physicalCores: 1, speedGHz: 1 }, memory: { totalBytes: 2 ** 30 } };
  const c = await connectOnce({
    url: `mqtt://127.0.0.1:${hub.mqttPort}`, clientId: sim.deviceId, username: sim.username, password: sim.password, keepaliveSec: 30,
    will: { topic: state, payload: codec.encode({ v: 1, status: 'offline', at, reason: 'will' }), retain: true, qos: 1 },
  });
  await publishAsync(c, state, codec.encode({ v: 1, status: 'online', at, agentVersion: 'sim', name: sim.name, inventory }), { retain: true, qos: 1 });
  sim.client = c;
}

/** Kills the device as a crash or a pulled cable would: the socket drops, no DISCONNECT, the broker publishes its Will. */
function killSim(sim: Sim): void {
  (sim.client as unknown as { stream: { destroy(): void } }).stream.destroy();
  sim.client?.end(true);
  sim.client = null;
}

async function addSims(fleet: string, count: number): Promise<Sim[]> {
  const list: Sim[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${fleet}-${String(i).padStart(2, '0')}`;
    const { deviceId, username, password } = await preIssueDevice(hub.store, { name, fleet });
    list.push({ deviceId, username, password, name, client: null });
  }
  sims.set(fleet, list);
  return list;
}

const online = (list: Sim[], yes: boolean) => list.every((s) => hub.store.getDevice(s.deviceId)?.online === yes);
const at = (path: string) => received.filter((r) => r.path === path);
const accepted = (path: string) => at(path).filter((r) => r.answered === 200);
/** Lets `ms` pass (for checking that nothing more arrives; never a bound on how long something takes). */
const quiet = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let data = '';
    req.on('data', (d: Buffer) => (data += d));
    req.on('end', () => {
      const path = req.url ?? '/';
      const left = failures.get(path) ?? 0;
      const answered = left > 0 ? 500 : 200;
      if (left > 0) failures.set(path, left - 1);
      received.push({ path, body: JSON.parse(data || '{}') as Record<string, unknown>, at: Date.now(), answered });
      res.writeHead(answered, { 'content-type': 'application/json' }).end(answered === 200 ? '{"ok":true}' : '{"ok":false}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  hubConfig = {
    dataDir: hubDir, mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, scryptN: 1024, chain: { mode: 'off' },
    alerts: {
      evalInterval: '100ms',
      groupWindow: '2s',
      webhooks: [
        { name: 'ops', kind: 'json', url: `${hook}/ops` },
        { name: 'farm', kind: 'json', url: `${hook}/farm` },
        { name: 'flaky', kind: 'json', url: `${hook}/flaky`, backoff: '300ms', maxAttempts: 6 },
        { name: 'slack', kind: 'slack', url: `${hook}/services/T000/B000/SLACKSECRET` },
        { name: 'tg', kind: 'telegram', url: `${hook}/bot123:TGSECRET`, chatId: 4242 },
        { name: 'hot', kind: 'json', url: `${hook}/hot` },
      ],
      rules: [
        { name: 'solo-offline', metric: 'device.offline', for: '1s', fleet: 'solo', webhooks: ['ops'] },
        { name: 'farm-offline', metric: 'device.offline', for: '1s', fleet: 'farm', webhooks: ['farm'] },
        { name: 'flaky-offline', metric: 'device.offline', for: '1s', fleet: 'flaky', webhooks: ['flaky'] },
        { name: 'cpu-hot', metric: 'cpu.tempC', above: 80, fleet: 'hot', webhooks: ['hot'] },
        { name: 'gpu-hot', metric: 'gpu.tempC', above: 85, for: '500ms', fleet: 'hot', webhooks: ['hot'] },
      ],
    },
  };
  hub = await startHub(hubConfig, { log: silent });
  for (const [user, role] of [['olga', 'operator'], ['vic', 'viewer']] as const) {
    const { password } = await addOperator(hub.store, user, role, fast);
    writeFileSync(join(tmp.dir, `${user}.json`), JSON.stringify({ url: `mqtt://127.0.0.1:${hub.mqttPort}`, hubId: hub.hubId, user, password }));
  }
}, 120_000);

afterAll(async () => {
  for (const list of sims.values()) for (const s of list) s.client?.end(true);
  await hub?.stop();
  await new Promise((r) => receiver?.close(r));
  tmp.cleanup();
});

describe('alerts', () => {
  it('a failing receiver (500 three times) gets the message retried with growing waits until it takes it', async () => {
    const [dev] = await addSims('flaky', 1);
    await connectSim(dev!);
    await waitFor('the flaky device online', () => online([dev!], true), 15_000);
    failures.set('/flaky', 3);
    killSim(dev!);
    await waitFor('the message taken on the 4th try', () => accepted('/flaky').length === 1, 30_000);
    const tries = at('/flaky');
    expect(tries.map((t) => t.answered)).toEqual([500, 500, 500, 200]);
    // the same message each time
    expect(new Set(tries.map((t) => JSON.stringify(t.body))).size).toBe(1);
    expect(tries[0]!.body).toMatchObject({ status: 'firing', rule: 'flaky-offline', devices: [{ id: dev!.deviceId, name: 'flaky-00' }] });
    // backoff 300 ms doubling: at least 300, 600, 1200 ms between the tries (lower bounds only)
    const gaps = tries.slice(1).map((t, i) => t.at - tries[i]!.at);
    gaps.forEach((g, i) => expect(g).toBeGreaterThanOrEqual(300 * 2 ** i - 50));
    // the hub records it sent once the answer reached it (just after the receiver logged the request)
    const delivery = await waitFor('the delivery recorded sent', () => hub.store.alerts.listDeliveries(100).find((d) => d.webhook === 'flaky' && d.status !== 'pending'), 15_000);
    expect(delivery).toMatchObject({ status: 'sent', attempts: 4 });
  });

  it('temperatures from telemetry: CPU and GPU rules fire on a hot device and resolve when it cools', async () => {
    const [dev] = await addSims('hot', 1);
    await connectSim(dev!);
    await waitFor('the hot device online', () => online([dev!], true), 15_000);
    let seq = 0;
    const report = (metrics: Record<string, number>) =>
      publishAsync(dev!.client!, topics.device(hub.hubId, dev!.deviceId, 'telemetry'), codec.encode({ v: 1, at: Date.now(), seq: seq++, full: true, metrics }), { qos: 1 });
    await report({ 'cpu.tempC': 92, 'gpu.count': 2, 'gpu.0.tempC': 70, 'gpu.1.tempC': 91 });
    await waitFor('two firing messages', () => at('/hot').length >= 2, 30_000);
    const firing = at('/hot').map((r) => r.body as { status: string; rule: string; devices: { value: string }[] });
    expect(firing.map((b) => [b.status, b.rule, b.devices[0]!.value]).sort()).toEqual([['firing', 'cpu-hot', '92'], ['firing', 'gpu-hot', '91']]);
    await report({ 'cpu.tempC': 60, 'gpu.count': 2, 'gpu.0.tempC': 60, 'gpu.1.tempC': 61 });
    await waitFor('two resolved messages', () => at('/hot').length >= 4, 30_000);
    expect(at('/hot').slice(2).map((r) => [r.body.status, r.body.rule]).sort()).toEqual([['resolved', 'cpu-hot'], ['resolved', 'gpu-hot']]);
  });

  it('50 devices killed at once: one grouped message listing all 50, not 50; back at once: one resolved message', async () => {
    const farm = await addSims('farm', 50);
    await Promise.all(farm.map(connectSim));
    await waitFor('50 devices online', () => online(farm, true), 30_000);
    for (const s of farm) killSim(s);
    await waitFor('a firing message for the farm', () => at('/farm').length >= 1, 30_000);
    await waitFor('all 50 offline', () => online(farm, false), 30_000);
    await quiet(3000); // longer than the group window and many evaluations: nothing more comes
    expect(at('/farm')).toHaveLength(1);
    const body = at('/farm')[0]!.body as { status: string; devices: { id: string }[] };
    expect(body.status).toBe('firing');
    expect(body.devices.map((d) => d.id).sort()).toEqual(farm.map((s) => s.deviceId).sort());

    await Promise.all(farm.map(connectSim));
    await waitFor('a resolved message for the farm', () => at('/farm').length >= 2, 30_000);
    await quiet(3000);
    expect(at('/farm')).toHaveLength(2);
    expect(at('/farm')[1]!.body).toMatchObject({ status: 'resolved' });
    expect((at('/farm')[1]!.body as { devices: unknown[] }).devices).toHaveLength(50);
  }, 120_000);

  it('a device killed and restarted: one firing, one resolved; a hub restart between them neither forgets nor repeats; alerts ls|ack|test', async () => {
    requireBuild();
    const [dev] = await addSims('solo', 1);
    await connectSim(dev!);
    await waitFor('the device online', () => online([dev!], true), 15_000);
    killSim(dev!);
    await waitFor('the firing message', () => at('/ops').length === 1, 30_000);
    expect(at('/ops')[0]!.body).toMatchObject({ status: 'firing', rule: 'solo-offline', hub: hub.hubId, endsAt: null, devices: [{ id: dev!.deviceId, name: 'solo-00', endsAt: null }] });
    expect(typeof at('/ops')[0]!.body.startsAt).toBe('string');

    const olga = { SOSNA_PROFILE: join(tmp.dir, 'olga.json') };
    const vic = { SOSNA_PROFILE: join(tmp.dir, 'vic.json') };
    let ls = await cli(['console', 'alerts', 'ls'], { env: vic, timeoutMs: 30_000 });
    expect(ls.code, ls.output).toBe(0);
    const line = ls.stdout.split('\n').find((l) => l.includes(dev!.deviceId) && l.includes('firing'));
    expect(line, ls.stdout).toBeDefined();
    const id = Number(line!.trim().split(/\s+/)[0]);

    // a viewer may read but not acknowledge
    const refused = await cli(['console', 'alerts', 'ack', String(id)], { env: vic, timeoutMs: 30_000 });
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain('alerts.ack needs the operator role; vic is a viewer');
    const ack = await cli(['console', 'alerts', 'ack', String(id)], { env: olga, timeoutMs: 30_000 });
    expect(ack.code, ack.output).toBe(0);
    expect(ack.stdout).toContain(`acknowledged alert ${id} (solo-offline on ${dev!.deviceId}) as olga`);
    const acked = hub.store.alerts.get(id)!;
    expect(acked.ackedBy).toBe('olga');
    expect(acked.ackedAt).toBeGreaterThan(0);

    // the hub restarts while the alert fires: it still fires after, and nothing is sent again
    await hub.stop();
    hub = await startHub(hubConfig, { log: silent });
    for (const user of ['olga', 'vic']) {
      const file = join(tmp.dir, `${user}.json`);
      const p = JSON.parse((await import('node:fs')).readFileSync(file, 'utf8')) as Record<string, unknown>;
      writeFileSync(file, JSON.stringify({ ...p, url: `mqtt://127.0.0.1:${hub.mqttPort}` }));
    }
    ls = await cli(['console', 'alerts', 'ls', '--json'], { env: olga, timeoutMs: 30_000 });
    expect(ls.code, ls.output).toBe(0);
    expect((JSON.parse(ls.stdout) as { id: number; status: string; ackedBy: string }[]).find((a) => a.id === id)).toMatchObject({ status: 'firing', ackedBy: 'olga' });
    await quiet(3000); // past the group window, many evaluations
    expect(at('/ops')).toHaveLength(1);

    await connectSim(dev!);
    await waitFor('the resolved message', () => at('/ops').length === 2, 30_000);
    expect(at('/ops')[1]!.body).toMatchObject({ status: 'resolved', rule: 'solo-offline', devices: [{ id: dev!.deviceId }] });
    expect(typeof at('/ops')[1]!.body.endsAt).toBe('string');
    await quiet(3000);
    expect(at('/ops')).toHaveLength(2);
    ls = await cli(['console', 'alerts', 'ls'], { env: vic, timeoutMs: 30_000 });
    expect(ls.stdout).toMatch(new RegExp(`^${id}\\s+resolved\\s+solo-offline\\s+${dev!.deviceId}`, 'm'));

    // a test message through each webhook, one line per webhook; the failing one says why
    failures.set('/flaky', 1);
    const test = await cli(['console', 'alerts', 'test'], { env: olga, timeoutMs: 60_000 });
    expect(test.code).toBe(1); // one webhook failed
    for (const w of ['ops (json): ok, HTTP 200', 'farm (json): ok, HTTP 200', 'slack (slack): ok, HTTP 200', 'tg (telegram): ok, HTTP 200', 'flaky (json): FAILED: HTTP 500']) {
      expect(test.stdout).toContain(w);
    }
    expect(at('/services/T000/B000/SLACKSECRET').at(-1)!.body).toEqual({ text: expect.stringContaining('[TEST]') });
    expect(at('/bot123:TGSECRET/sendMessage').at(-1)!.body).toEqual({ chat_id: 4242, text: expect.stringContaining('[TEST]') });
    expect(test.output).not.toContain('SLACKSECRET');
  }, 180_000);

  it('sosna hub refuses an unknown metric or a malformed webhook URL at start, naming the file, the field and the reason', async () => {
    requireBuild();
    const file = join(tmp.dir, 'bad-hub.json');
    writeFileSync(file, JSON.stringify({ alerts: { rules: [{ name: 'x', metric: 'gpu.temp', above: 80 }], webhooks: [{ name: 'w', url: 'hooks.example/T/SECRET' }] } }));
    const r = await cli(['hub', '--config', file, '--data-dir', join(tmp.dir, 'bad-hub'), '--port', '0', '--ws-port', 'off', '--no-chain'], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.output).toContain(`hub config ${file}: `);
    expect(r.output).toContain('alerts.rules.0.metric: unknown metric "gpu.temp": use one of device.offline, cpu.tempC');
    expect(r.output).toContain('alerts.webhooks.0.url: must be an http:// or https:// URL');
    expect(r.output).not.toContain('SECRET');
  });
});
