// Security and bad input against a real hub (embedded aedes on loopback) and real MQTT clients/agents.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { addOperator, createProvisioningKey, revokeProvisioningKey, startHub } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import { provision, startAgent, StateStore } from '@sosna/agent';
import {
  connectOnce, createCodec, DeviceConfig, publishAsync, silentLogger, Slot, subscribeAsync, topics, usernames, verifyHubCard,
} from '@sosna/protocol';
import type { MqttClient } from '@sosna/protocol';
import { captureLogger, nextEvent, tempDir, waitFor } from './helpers.js';

const codec = createCodec();
let hub: Hub;
let url: string;
const tmp = tempDir();
const clients: MqttClient[] = [];

async function provisionDevice(name: string, key: string) {
  const config = DeviceConfig.parse({ hub: { url }, provisioningKey: key, stateDir: join(tmp.dir, name) });
  return provision({ config, state: new StateStore(config.stateDir), name, log: silentLogger });
}

async function connectDevice(creds: { deviceId: string; username: string; password: string }) {
  const c = await connectOnce({ url, clientId: creds.deviceId, username: creds.username, password: creds.password });
  clients.push(c);
  return c;
}

function closed(c: MqttClient): Promise<void> {
  return new Promise((r) => (c.connected ? c.once('close', () => r()) : r()));
}

beforeAll(async () => {
  hub = await startHub({ dataDir: join(tmp.dir, 'hub'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, scryptN: 1024, chain: { mode: 'off' } }, { log: silentLogger });
  url = `mqtt://127.0.0.1:${hub.mqttPort}`;
});
afterAll(async () => {
  for (const c of clients) c.end(true);
  await hub.stop();
  tmp.cleanup();
});

describe('authentication', () => {
  it('refuses clients without or with wrong credentials', async () => {
    await addOperator(hub.store, 'alice', 'admin', { N: 1024, r: 8, p: 1 });
    await expect(connectOnce({ url, clientId: 'x', username: '', password: '' })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    await expect(connectOnce({ url, clientId: 'x', username: usernames.operator('alice'), password: 'wrong' })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    await expect(connectOnce({ url, clientId: 'x', username: 'root', password: 'root' })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    await expect(connectOnce({ url, clientId: 'x', username: usernames.device('ghost'), password: 'x' })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
  });

  it('a device may not connect under another client id', async () => {
    const { key } = await createProvisioningKey(hub.store, { fleet: 'f' });
    const creds = await provisionDevice('solo', key);
    await expect(connectOnce({ url, clientId: 'someone-else', username: creds.username, password: creds.password })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
  });
});

describe('authorization between devices', () => {
  let a: MqttClient;
  let credsA: { deviceId: string; username: string; password: string };
  let credsB: { deviceId: string; username: string; password: string };

  beforeAll(async () => {
    const { key } = await createProvisioningKey(hub.store, { fleet: 'acl', maxUses: 2 });
    credsA = await provisionDevice('dev-a', key);
    credsB = await provisionDevice('dev-b', key);
  });

  it('device A cannot publish on device B\'s topics', async () => {
    a = await connectDevice(credsA);
    const seen: string[] = [];
    const unsub = await hub.bus.subscribe(topics.device(hub.hubId, credsB.deviceId, 'state'), (t) => seen.push(t));
    const gone = closed(a);
    a.publish(topics.device(hub.hubId, credsB.deviceId, 'state'), Buffer.from(codec.encode({ v: 1, status: 'offline', at: Date.now(), reason: 'will' })), { qos: 1 });
    await gone; // MQTT 3.1.1 has no negative PUBACK: the broker drops the connection
    expect(seen).toEqual([]);
    expect(hub.store.getDevice(credsB.deviceId)?.lastSeen).toBeNull();
    await unsub();
  });

  it('device A cannot subscribe to device B\'s topics, nor with wildcards', async () => {
    a = await connectDevice(credsA);
    await expect(subscribeAsync(a, topics.device(hub.hubId, credsB.deviceId, 'rpc/in'))).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    await expect(subscribeAsync(a, topics.deviceAll(hub.hubId, 'rpc/in'))).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    await expect(subscribeAsync(a, '#')).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    await expect(subscribeAsync(a, topics.device(hub.hubId, credsA.deviceId, 'rpc/in'))).resolves.toBeUndefined();
  });

  it('a device cannot publish an announcement; the hub card stays genuine', async () => {
    a = await connectDevice(credsA);
    const gone = closed(a);
    const forged = { v: 1, hubId: hub.hubId, name: 'evil', endpoints: [], owner: hub.owner, issuedAt: Date.now(), signature: '0x' + '1'.repeat(130) };
    a.publish(topics.announce(hub.hubId), Buffer.from(codec.encode(forged)), { qos: 1, retain: true });
    await gone;
    const reader = await connectDevice(credsB);
    const card = new Promise<unknown>((r) => reader.once('message', (_t, p) => r(codec.decode(p))));
    await subscribeAsync(reader, topics.announce(hub.hubId));
    const check = verifyHubCard(await card);
    expect(check).toMatchObject({ ok: true, card: { name: 'sosna hub', owner: hub.owner } });
  });
});

describe('provisioning keys', () => {
  const fast = { N: 1024, r: 8, p: 1 };

  it('a revoked key is refused', async () => {
    const { key, row } = await createProvisioningKey(hub.store, { fleet: 'rev' });
    revokeProvisioningKey(hub.store, row.id);
    await expect(provisionDevice('revoked', key)).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', message: expect.stringContaining('not authorized') });
  });

  it('an exhausted key is refused for a new device but re-issues to the device that used it', async () => {
    const { key } = await createProvisioningKey(hub.store, { fleet: 'one', maxUses: 1 });
    const first = await provisionDevice('only', key);
    await expect(provisionDevice('second', key)).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    // same state dir = same nonce: a device that lost its credentials gets the same identity back
    const again = await provisionDevice('only', key);
    expect(again.deviceId).toBe(first.deviceId);
    expect(again.password).not.toBe(first.password);
    await expect(connectOnce({ url, clientId: first.deviceId, username: first.username, password: first.password })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    const c = await connectDevice(again);
    expect(c.connected).toBe(true);
  });

  it('an expired key is refused', async () => {
    const { key, row } = await createProvisioningKey(hub.store, { fleet: 'exp', expiresAt: Date.now() + 60_000 });
    // expiry is checked against the clock: store a copy of the key that expired a moment ago
    const expired = { ...row, id: `${row.id}x`, expiresAt: Date.now() - 1 };
    hub.store.createKey({ id: expired.id, fleet: expired.fleet, secretHash: row.secretHash, maxUses: null, expiresAt: expired.expiresAt, createdAt: row.createdAt });
    const secret = key.split('.')[1]!;
    await expect(provisionDevice('late', `${expired.id}.${secret}`)).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
  });
});

describe('bad input on a device rpc/in', () => {
  it('gets error frames where a channel is known, is logged once, and the agent keeps serving', async () => {
    const { key } = await createProvisioningKey(hub.store, { fleet: 'fuzz' });
    const { log, lines } = captureLogger();
    const config = DeviceConfig.parse({ hub: { url }, provisioningKey: key, stateDir: join(tmp.dir, 'agent-fuzz'), rpc: { maxPayloadBytes: 64 * 1024 } });
    const online = nextEvent<[string]>(hub.events, 'online');
    const agent = await startAgent(config, log);
    const [deviceId] = await online;
    expect(deviceId).toBe(agent.deviceId);
    try {
      const replies: unknown[] = [];
      const unsub = await hub.bus.subscribe(topics.device(hub.hubId, deviceId, 'rpc/out'), (_t, p) => replies.push(codec.decode(p)));
      const send = (bytes: Uint8Array) => hub.bus.publish(topics.device(hub.hubId, deviceId, 'rpc/in'), bytes);

      for (let i = 0; i < 5; i++) await send(Uint8Array.from([0x93, 0x0a, 0xc1, 0xc1])); // channel 10, then garbage
      await send(codec.encode([12, 3, [{ echo: 5 }]])); // system.ping with a wrong-schema argument (slot 3)
      await send(new Uint8Array(70 * 1024).fill(0x90, 0).map((v, i) => (i === 0 ? 0x93 : i === 1 ? 14 : 0xc0))); // oversized, channel 14
      await send(codec.encode('not a frame'));
      await send(new Uint8Array([0xc1]));

      // The agent's own calls to the hub (job leases, update reports) share rpc/out on random channels;
      // only the replies on the channels this test opened are its business.
      const ours = () => (replies as [number, number, [string, string]][]).filter((f) => Array.isArray(f) && [10, 12, 14].includes(f[0]));
      await waitFor('error frames', () => ours().length >= 7);
      const errors = ours();
      expect(errors).toHaveLength(7);
      expect(errors.filter(([ch]) => ch === 10)).toHaveLength(5);
      expect(errors.every(([, slot]) => slot === Slot.error)).toBe(true);
      expect(errors.find(([ch]) => ch === 10)?.[2][0]).toBe('E_DECODE');
      expect(errors.find(([ch]) => ch === 12)?.[2]).toEqual(['E_INVALID', expect.stringContaining('echo')]);
      expect(errors.find(([ch]) => ch === 14)?.[2][0]).toBe('E_TOO_LARGE');

      const decodeLogs = lines.filter((l) => l.includes('rejected frame') && l.includes('E_DECODE'));
      expect(decodeLogs).toHaveLength(1);

      const [pong] = await hub.links.call(deviceId, 'system', 'ping', { echo: 'still here' });
      expect(pong).toMatchObject({ echo: 'still here' });
      await unsub();
    } finally {
      await agent.stop();
    }
  });
});
