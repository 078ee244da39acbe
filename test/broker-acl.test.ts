// Logins and topic ACLs on both brokers the hub runs on (issue 13): the embedded aedes (hooks in
// hub/src/auth/) and an external Mosquitto 2.0 with its dynamic-security plugin, to which the hub pushes
// device logins and ACLs (hub/src/broker/mosquitto.ts). The same cases run against both; Mosquitto's own
// mosquitto_pub is the third-party client. Then what only an external broker has: a restart mid-run, and
// refusals at start for a broker the hub cannot fully use.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { addOperator, ConsoleClient, startHub } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import { startAgent } from '@sosna/agent';
import type { Agent } from '@sosna/agent';
import { connectOnce, createLogger, credentialsService, DeviceConfig, devicesService, silentLogger, subscribeAsync, topics } from '@sosna/protocol';
import { nextEvent, tempDir, waitFor } from './helpers.js';
import { freePort } from './procs.js';
import { mosquittoUnavailable, startPrivateMosquitto } from './mosquitto.js';
import type { PrivateMosquitto } from './mosquitto.js';

const run = promisify(execFile);
const tmp = tempDir();
const noMosquitto = mosquittoUnavailable();
const hubConfig = (dir: string, extra: Record<string, unknown> = {}) => ({ dataDir: join(tmp.dir, dir), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, scryptN: 1024, chain: { mode: 'off' as const }, ...extra });

/** mosquitto_pub once; resolves with its exit code and output (never rejects). */
async function mosquittoPub(port: number, o: { clientId: string; user: string; password: string; topic: string; message: string }): Promise<{ code: number; output: string }> {
  try {
    const r = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-i', o.clientId, '-u', o.user, '-P', o.password, '-q', '1', '-t', o.topic, '-m', o.message], { timeout: 20_000 });
    return { code: 0, output: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

interface Target { hub: Hub; port: number; mosquitto: PrivateMosquitto | null }

const brokers: { name: string; skip: string | null; start(): Promise<Target> }[] = [
  { name: 'embedded', skip: null, start: async () => {
    const hub = await startHub(hubConfig('embedded'), { log: silentLogger });
    return { hub, port: hub.mqttPort!, mosquitto: null };
  } },
  { name: 'mosquitto', skip: noMosquitto, start: async () => {
    const mosquitto = await startPrivateMosquitto({ dir: join(tmp.dir, 'mosquitto') });
    const hub = await startHub(hubConfig('on-mosquitto', { broker: { url: mosquitto.url, ...mosquitto.admin } }), { log: silentLogger });
    return { hub, port: mosquitto.port, mosquitto };
  } },
];

afterAll(() => tmp.cleanup());

describe.each(brokers)('logins and ACLs on the $name broker', ({ skip, start }) => {
  let t: Target;
  let a: { deviceId: string; username: string; password: string };
  let b: { deviceId: string; username: string; password: string };
  beforeAll(async () => {
    if (skip) return;
    t = await start();
    a = await t.hub.credentials.issue({ name: 'dev-a', fleet: 'acl' });
    b = await t.hub.credentials.issue({ name: 'dev-b', fleet: 'acl' });
  }, 60_000);
  afterAll(async () => {
    await t?.hub.stop();
    await t?.mosquitto?.stop();
  });

  it.skipIf(Boolean(skip))("a device cannot publish to another device's topics (mosquitto_pub) nor subscribe to them", async () => {
    const seen: string[] = [];
    const off = await t.hub.bus.subscribe(topics.deviceAll(t.hub.hubId, 'telemetry'), (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
    const intrude = await mosquittoPub(t.port, { clientId: a.deviceId, user: a.username, password: a.password, topic: topics.device(t.hub.hubId, b.deviceId, 'telemetry'), message: 'intrusion' });
    const own = await mosquittoPub(t.port, { clientId: a.deviceId, user: a.username, password: a.password, topic: topics.device(t.hub.hubId, a.deviceId, 'telemetry'), message: 'marker' });
    expect(own.code, own.output).toBe(0);
    await waitFor('the own message at the hub', () => seen.some((s) => s.endsWith('marker')), 20_000);
    await off();
    expect(intrude.output).not.toMatch(/refused|not author/i); // the login itself is fine; the broker drops the message
    expect(seen.filter((s) => s.includes('intrusion'))).toEqual([]);

    const client = await connectOnce({ url: `mqtt://127.0.0.1:${t.port}`, clientId: a.deviceId, username: a.username, password: a.password });
    try {
      await expect(subscribeAsync(client, topics.device(t.hub.hubId, b.deviceId, 'rpc/in'))).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
      await subscribeAsync(client, topics.device(t.hub.hubId, a.deviceId, 'rpc/in')); // its own: granted
    } finally {
      client.end(true);
    }
  }, 60_000);

  it.skipIf(Boolean(skip))("a wrong password and another device's client id are refused", async () => {
    const wrong = await mosquittoPub(t.port, { clientId: a.deviceId, user: a.username, password: `${a.password}x`, topic: topics.device(t.hub.hubId, a.deviceId, 'telemetry'), message: 'x' });
    expect(wrong.code).not.toBe(0);
    expect(wrong.output).toMatch(/not authori[sz]ed|bad user name or password/i);
    await expect(connectOnce({ url: `mqtt://127.0.0.1:${t.port}`, clientId: a.deviceId, username: a.username, password: b.password })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    await expect(connectOnce({ url: `mqtt://127.0.0.1:${t.port}`, clientId: b.deviceId, username: a.username, password: a.password })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
  }, 60_000);

  it.skipIf(Boolean(skip))('a revoked device is disconnected and refused within 5 s', async () => {
    const c = await t.hub.credentials.issue({ name: 'dev-c', fleet: 'acl' });
    const url = `mqtt://127.0.0.1:${t.port}`;
    const connected = await connectOnce({ url, clientId: c.deviceId, username: c.username, password: c.password });
    const closed = new Promise<void>((resolve) => connected.once('close', () => resolve()));
    await t.hub.credentials.revoke(c.deviceId);
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the revoked device is still connected 5 s later')), 5_000))]);
    connected.end(true);
    // refused within 5 s of the revocation: the first try after revoke() resolved must already be refused
    await waitFor('the revoked login refused', async () => {
      try {
        (await connectOnce({ url, clientId: c.deviceId, username: c.username, password: c.password, connectTimeoutMs: 2_000 })).end(true);
        return false;
      } catch (err) {
        return (err as { code?: string }).code === 'E_UNAUTHORIZED';
      }
    }, 5_000, 200);
  }, 60_000);
});

describe.skipIf(Boolean(noMosquitto))('the hub on Mosquitto', () => {
  it('a broker restart mid-run: the device and the hub reconnect, and the sosna roles are pushed again', async () => {
    // a time-out names the step it was in (a fresh-clone run once timed out here with no clue where)
    let step = 'starting';
    onTestFailed(() => console.error(`broker restart test failed in step: ${step}`));
    const mosquitto = await startPrivateMosquitto({ dir: join(tmp.dir, 'restart-mosquitto') });
    const hub = await startHub(hubConfig('restart-hub', { broker: { url: mosquitto.url, ...mosquitto.admin } }), { log: process.env.DBG ? createLogger({ level: 'debug', scope: 'hub' }) : silentLogger });
    let agent: Agent | undefined;
    try {
      const creds = await hub.credentials.issue({ name: 'survivor', fleet: 'restart' });
      const stateDir = join(tmp.dir, 'restart-agent');
      mkdirSync(stateDir, { recursive: true });
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(stateDir, 'credentials.json'), JSON.stringify({ hubId: hub.hubId, ...creds, url: mosquitto.url, provisionedAt: Date.now() }));
      const online = nextEvent<[string]>(hub.events, 'online', (id) => id === creds.deviceId, 60_000);
      agent = await startAgent(DeviceConfig.parse({ hub: { url: mosquitto.url }, stateDir, mqtt: { reconnectMinMs: 200, reconnectMaxMs: 2000 }, jobs: { dockerHost: 'unix:///nonexistent/docker.sock' } }), process.env.DBG ? createLogger({ level: 'info', scope: 'agent' }) : silentLogger);
      await online;
      step = 'broker stopped';
      // (whether the hub hears the device's will while the broker shuts down is a race between the broker's
      // will and its closing the hub's own connection: a loaded CI lost it once, so it is not waited for)
      await mosquitto.stop();
      const back = nextEvent<[string]>(hub.events, 'online', (id) => id === creds.deviceId, 90_000);
      step = 'broker restarted: waiting for the device back online';
      await mosquitto.restart();
      await back; // the device logged in again and the hub, subscribed again, saw its new birth

      // a broker that lost its dynsec data (a fresh file with only the admin login): the hub pushes its own
      // role and the shared ones again, so a device issued afterwards logs in and hears the hub
      step = 'broker restarted fresh: issuing a device';
      await mosquitto.restart({ fresh: true });
      const fresh = await waitFor('a device issued after the broker lost its data', async () => {
        try {
          return await hub.credentials.issue({ name: 'after-restart', fleet: 'restart' });
        } catch {
          return null;
        }
      }, 60_000, 500);
      step = 'the fresh device connecting and hearing the hub';
      const device = await connectOnce({ url: mosquitto.url, clientId: fresh.deviceId, username: fresh.username, password: fresh.password });
      try {
        const rpcIn = topics.device(hub.hubId, fresh.deviceId, 'rpc/in');
        await subscribeAsync(device, rpcIn);
        const heard = new Promise<string>((resolve) => device.on('message', (_t, p) => resolve(p.toString())));
        await waitFor('the hub publishing again', async () => {
          // bounded: a QoS 1 publish waits for the hub's reconnection
          await Promise.race([hub.bus.publish(rpcIn, Buffer.from('hello'), { qos: 1 }), new Promise((r) => setTimeout(r, 2_000))]);
          return Promise.race([heard, new Promise<null>((r) => setTimeout(() => r(null), 500))]);
        }, 60_000, 100);
        expect(await heard).toBe('hello');
      } finally {
        device.end(true);
      }
    } finally {
      step = 'stopping the agent, hub and broker';
      await agent?.stop();
      await hub.stop();
      await mosquitto.stop();
    }
  }, 180_000);

  it('a hub stops while the broker answers nothing and a message waits for its acknowledgement', async () => {
    const mosquitto = await startPrivateMosquitto({ dir: join(tmp.dir, 'frozen-mosquitto') });
    const hub = await startHub(hubConfig('frozen-hub', { broker: { url: mosquitto.url, ...mosquitto.admin } }), { log: silentLogger });
    try {
      mosquitto.freeze();
      // never acknowledged: mqtt.js's end(false) used to wait for it with no bound, so the stop hung for good
      void hub.bus.publish(topics.announce(hub.hubId), Buffer.from('x'), { qos: 1 }).catch(() => {});
      const stopped = hub.stop().then(() => 'stopped');
      expect(await Promise.race([stopped, new Promise((r) => setTimeout(() => r('still stopping after 60 s'), 60_000))])).toBe('stopped');
    } finally {
      await mosquitto.stop();
    }
  }, 120_000);

  it("consoles log in at the hub's own listener (operators only): issue, list and revoke a device on Mosquitto; a device's login there is refused", async () => {
    const mosquitto = await startPrivateMosquitto({ dir: join(tmp.dir, 'console-mosquitto') });
    const hub = await startHub(hubConfig('console-hub', { broker: { url: mosquitto.url, ...mosquitto.admin } }), { log: silentLogger });
    try {
      expect(hub.mqttPort).not.toBeNull();
      const { password } = await addOperator(hub.store, 'root', 'admin', { N: 1024, r: 8, p: 1 });
      const admin = await ConsoleClient.connect({ url: `mqtt://127.0.0.1:${hub.mqttPort}`, hubId: hub.hubId, user: 'root', password });
      try {
        const issued = await admin.call(credentialsService, 'issue', { name: 'via-console', fleet: 'c' });
        expect(issued).toMatchObject({ hubId: hub.hubId, brokerUrl: mosquitto.url, username: `dev:${issued.deviceId}` });
        (await connectOnce({ url: mosquitto.url, clientId: issued.deviceId, username: issued.username, password: issued.password })).end(true);
        expect((await admin.call(devicesService, 'list', {})).devices.map((d) => d.id)).toContain(issued.deviceId);
        // the console listener takes operators only: the device's own login is refused there (a third-party client)
        const there = await mosquittoPub(hub.mqttPort!, { clientId: issued.deviceId, user: issued.username, password: issued.password, topic: topics.device(hub.hubId, issued.deviceId, 'telemetry'), message: 'x' });
        expect(there.code).not.toBe(0);
        expect(there.output).toMatch(/not authori[sz]ed/i);
        expect(await admin.call(credentialsService, 'revoke', { deviceId: issued.deviceId })).toEqual({ deviceId: issued.deviceId, pending: false });
        await expect(connectOnce({ url: mosquitto.url, clientId: issued.deviceId, username: issued.username, password: issued.password })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
      } finally {
        await admin.close();
      }
    } finally {
      await hub.stop();
      await mosquitto.stop();
    }
  }, 120_000);

  it('a revoke while the broker is down is kept: deleted when the broker is back, and by the next hub start', async () => {
    const mosquitto = await startPrivateMosquitto({ dir: join(tmp.dir, 'pending-mosquitto') });
    const config = hubConfig('pending-hub', { broker: { url: mosquitto.url, ...mosquitto.admin } });
    let hub = await startHub(config, { log: silentLogger });
    const refused = async (c: { deviceId: string; username: string; password: string }) => {
      try {
        (await connectOnce({ url: mosquitto.url, clientId: c.deviceId, username: c.username, password: c.password, connectTimeoutMs: 2_000 })).end(true);
        return false;
      } catch (err) {
        return (err as { code?: string }).code === 'E_UNAUTHORIZED';
      }
    };
    try {
      const c = await hub.credentials.issue({ name: 'kept-1', fleet: 'pending' });
      const d = await hub.credentials.issue({ name: 'kept-2', fleet: 'pending' });
      await mosquitto.stop();
      // the broker comes back while the hub runs
      expect(await hub.credentials.revoke(c.deviceId)).toEqual({ pending: true });
      expect(hub.credentials.pending()).toEqual([c.deviceId]);
      await mosquitto.restart();
      await waitFor('the first revoked login refused', () => refused(c), 60_000, 300);
      await waitFor('nothing left to send', () => hub.credentials.pending().length === 0, 30_000);
      // the hub stops before the broker is back: the revocation survives in its database
      await mosquitto.stop();
      expect(await hub.credentials.revoke(d.deviceId)).toEqual({ pending: true });
      await hub.stop();
      await mosquitto.restart();
      expect(await refused(d)).toBe(false); // the broker still holds the login: only the hub knows
      hub = await startHub(config, { log: silentLogger });
      await waitFor('the second revoked login refused', () => refused(d), 60_000, 300);
      expect(hub.credentials.pending()).toEqual([]);
    } finally {
      await hub.stop();
      await mosquitto.stop();
    }
  }, 240_000);

  it('refuses to start on an unreachable broker, one without the plugin, or a login without admin rights: the flag, the cause, the fix', async () => {
    const port = await freePort();
    await expect(startHub(hubConfig('bad-1', { broker: { url: `mqtt://127.0.0.1:${port}`, username: 'hub', password: 'x' } }), { log: silentLogger }))
      .rejects.toThrow(new RegExp(`--broker mqtt://127.0.0.1:${port}: cannot reach .*Fix: start the broker`));

    const plain = await startPrivateMosquitto({ dir: join(tmp.dir, 'no-plugin'), plugin: false });
    try {
      await expect(startHub(hubConfig('bad-2', { broker: { url: plain.url, username: 'hub', password: 'x' } }), { log: silentLogger }))
        .rejects.toThrow(/--broker .*dynamic-security plugin.*Fix: load the dynamic-security plugin/);
    } finally {
      await plain.stop();
    }

    const m = await startPrivateMosquitto({ dir: join(tmp.dir, 'no-admin') });
    try {
      await run('mosquitto_ctrl', ['-h', '127.0.0.1', '-p', String(m.port), '-u', m.admin.username, '-P', m.admin.password, 'dynsec', 'createClient', 'plain-user', '-p', 'plain-pass']);
      await expect(startHub(hubConfig('bad-3', { broker: { url: m.url, username: 'plain-user', password: 'plain-pass' } }), { log: silentLogger }))
        .rejects.toThrow(/--broker .*plain-user.*Fix: .*admin role/);
      await expect(startHub(hubConfig('bad-4', { broker: { url: m.url, username: m.admin.username, password: 'wrong' } }), { log: silentLogger }))
        .rejects.toThrow(/--broker .*refused the connection of the login sosna-hub.*Fix: give the hub's admin login/);
    } finally {
      await m.stop();
    }
  }, 120_000);
});
