// Issue 12, items 2, 4, 5, 6 and 9: MQTT logins against a real hub (embedded aedes on loopback), tried with
// Mosquitto's own clients where the item is about the wire, and with mqtt.js + the protocol's RpcPeer where a
// session has to speak sosna RPC. The hub's hash work is observed through startHub's `verify` option (the real
// verifier, wrapped to record which kind of stored hash each login was checked against).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { addOperator, createProvisioningKey, DEFAULT_THROTTLE, hashSecret, preIssueDevice, startHub, verifySecret } from '@sosna/hub';
import type { Hub, ThrottlePolicy } from '@sosna/hub';
import {
  clientIds, connectOnce, createCodec, provisionService, publishAsync, RpcPeer, silentLogger, subscribeAsync, topics, usernames,
} from '@sosna/protocol';
import type { MqttClient } from '@sosna/protocol';
import { tempDir } from './helpers.js';

const fast = { N: 1024, r: 8, p: 1 };
const codec = createCodec();
const tmp = tempDir();
const clients: MqttClient[] = [];
const hubs: Hub[] = [];

/** One login's hash work: the kind of the stored hash it was checked against (`scrypt$1024$8$1`, `sha256`). */
type Verified = string;

async function newHub(loginThrottle?: ThrottlePolicy, wsPort: number | null = null): Promise<{ hub: Hub; url: string; verified: Verified[] }> {
  const verified: Verified[] = [];
  const verify = (secret: string, stored: string) => {
    verified.push(stored.startsWith('scrypt$') ? stored.split('$').slice(0, 4).join('$') : stored.split('$')[0]!);
    return verifySecret(secret, stored);
  };
  const hub = await startHub(
    { dataDir: join(tmp.dir, `hub-${hubs.length}`), mqtt: { host: '127.0.0.1', port: 0, wsPort }, scryptN: 1024, chain: { mode: 'off' } },
    { log: silentLogger, verify, loginThrottle },
  );
  hubs.push(hub);
  return { hub, url: `mqtt://127.0.0.1:${hub.mqttPort}`, verified };
}

async function connect(url: string, o: { clientId: string; username: string; password: string }): Promise<MqttClient> {
  const c = await connectOnce({ url, ...o });
  clients.push(c);
  return c;
}

/** mosquitto_pub: connect, publish one QoS 1 message, disconnect. Resolves with its exit code and output. */
function mosquittoPub(hub: Hub, o: { clientId: string; username: string; password: string; topic: string }): Promise<{ code: number; output: string }> {
  const args = ['-h', '127.0.0.1', '-p', String(hub.mqttPort), '-V', 'mqttv311', '-i', o.clientId, '-u', o.username, '-P', o.password, '-t', o.topic, '-m', 'x', '-q', '1'];
  return new Promise((resolve) => {
    execFile('mosquitto_pub', args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

function closed(c: MqttClient): Promise<never> {
  return new Promise((_, reject) => c.once('close', () => reject(new Error('the device was disconnected'))));
}

/** A provisioning session as the agent opens it (client id prov-{session nonce}), able to call provision.register. */
async function provisionSession(hub: Hub, url: string, key: string, sessionNonce: string) {
  const [keyId, secret] = key.split('.') as [string, string];
  const clientId = clientIds.provision(sessionNonce);
  const c = await connect(url, { clientId, username: usernames.provision(keyId), password: secret });
  const peer = new RpcPeer({ role: 'caller', codec, peer: 'hub', send: (b) => c.publish(topics.provision(hub.hubId, clientId, 'in'), Buffer.from(b), { qos: 1 }) });
  c.on('message', (_t, payload) => peer.receive(payload));
  await subscribeAsync(c, topics.provision(hub.hubId, clientId, 'out'));
  return {
    register: (nonce: string, name: string) => peer.call(provisionService, 'register', { key, nonce, name }, { timeoutMs: 20_000 }),
  };
}

const nonce = () => randomBytes(16).toString('base64url');

afterEach(() => {
  for (const c of clients.splice(0)) c.end(true);
});
afterAll(async () => {
  for (const h of hubs) await h.stop();
  tmp.cleanup();
});

describe('item 2: client ids are bound to every kind of login', () => {
  it('a viewer connecting with a device\'s id as client id is refused and the device stays connected', async () => {
    const { hub, url } = await newHub();
    const { password: viewerPw } = await addOperator(hub.store, 'vic', 'viewer', fast);
    const creds = await preIssueDevice(hub.store, { name: 'rig', fleet: null });
    const device = await connect(url, { clientId: creds.deviceId, username: creds.username, password: creds.password });
    const kicked = closed(device);
    kicked.catch(() => {});

    const r = await mosquittoPub(hub, { clientId: creds.deviceId, username: usernames.operator('vic'), password: viewerPw, topic: 'sosna/v1/x' });
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/not authori[sz]ed/i);
    // the device's connection still carries a QoS 1 round trip
    const state = codec.encode({ v: 1, status: 'online', at: Date.now() });
    await Promise.race([publishAsync(device, topics.device(hub.hubId, creds.deviceId, 'state'), state, { retain: true }), kicked]);
    expect(device.connected).toBe(true);

    // a device whose id looks like an operator's client id (a device named "op vic") is not the operator's either
    const lookalike = await preIssueDevice(hub.store, { name: 'op vic', fleet: null });
    expect(lookalike.deviceId).toMatch(/^op-vic-/);
    const r2 = await mosquittoPub(hub, { clientId: lookalike.deviceId, username: usernames.operator('vic'), password: viewerPw, topic: 'sosna/v1/x' });
    expect(r2.output).toMatch(/not authori[sz]ed/i);
    // nor is another operator's client id; the viewer's own op-vic-{suffix} is
    const r3 = await mosquittoPub(hub, { clientId: 'op-alice-1', username: usernames.operator('vic'), password: viewerPw, topic: 'sosna/v1/x' });
    expect(r3.output).toMatch(/not authori[sz]ed/i);
    await expect(connect(url, { clientId: clientIds.operator('vic', 'a1b2'), username: usernames.operator('vic'), password: viewerPw })).resolves.toBeDefined();
  });
});

describe('item 4: failed logins are throttled before any hash', () => {
  it('after a few wrong passwords the hub refuses without hashing; a storm of good device logins is not throttled', async () => {
    // the default limits, but locks long enough that none ends while this test runs on a slow machine
    const { hub, url, verified } = await newHub({
      byAddress: { ...DEFAULT_THROTTLE.byAddress, baseMs: 3_600_000, maxMs: 3_600_000 },
      byUser: { ...DEFAULT_THROTTLE.byUser, baseMs: 3_600_000, maxMs: 3_600_000 },
      maxEntries: DEFAULT_THROTTLE.maxEntries,
    });
    const free = DEFAULT_THROTTLE.byUser.free;
    const { password } = await addOperator(hub.store, 'tess', 'admin', fast);
    const outputs: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await mosquittoPub(hub, { clientId: `op-tess-${i}`, username: usernames.operator('tess'), password: `wrong-${i}`, topic: 'sosna/v1/x' });
      expect(r.code).not.toBe(0);
      outputs.push(r.output);
    }
    const hashed = verified.length;
    // the free failures of a user name and the one that locks it were hashed; the other attempts cost nothing
    expect(hashed).toBe(free + 1);
    expect(outputs.slice(0, free + 1).every((o) => /not authori[sz]ed/i.test(o))).toBe(true);
    expect(outputs.slice(free + 1).every((o) => /unavailable/i.test(o))).toBe(true); // CONNACK 3: try later
    // while tess is locked even her right password is refused unhashed, from anywhere: the lock is on the name
    const locked = await mosquittoPub(hub, { clientId: 'op-tess-ok', username: usernames.operator('tess'), password, topic: 'sosna/v1/x' });
    expect(locked.output).toMatch(/unavailable/i);
    expect(verified.length).toBe(hashed);

    // 300 devices with good secrets reconnect at once from this same address: every one gets in
    const devices = [];
    for (let i = 0; i < 300; i++) devices.push(await preIssueDevice(hub.store, { name: `storm-${i}`, fleet: null }));
    const before = verified.length;
    const conns = await Promise.all(devices.map((d) => connect(url, { clientId: d.deviceId, username: d.username, password: d.password })));
    expect(conns.every((c) => c.connected)).toBe(true);
    expect(verified.slice(before)).toEqual(Array(300).fill('sha256'));
  });


  it('counts WebSocket clients by their real address: failures over ws:// lock that address over TCP too', async () => {
    const long = { leakMs: 3_600_000, baseMs: 3_600_000, maxMs: 3_600_000 };
    const { hub, url } = await newHub({ byAddress: { free: 3, ...long }, byUser: { free: 100, ...long }, maxEntries: 100 }, 0);
    const dev = await preIssueDevice(hub.store, { name: 'behind-ws', fleet: null });
    const ws = `ws://127.0.0.1:${hub.wsPort}`;
    for (let i = 0; i < 4; i++) {
      await expect(connectOnce({ url: ws, clientId: `nobody-${i}`, username: usernames.device(`nobody-${i}`), password: 'wrong' })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    }
    // the address 127.0.0.1 is locked now, whatever the transport: even good credentials wait
    await expect(connectOnce({ url, clientId: dev.deviceId, username: dev.username, password: dev.password })).rejects.toMatchObject({ code: 'E_UNAVAILABLE', message: expect.stringContaining('server unavailable') });
  });
});

describe('item 5: an unknown id costs the hash a wrong password costs', () => {
  it('checks unknown operators, devices and keys against a dummy hash of the same kind', async () => {
    const { hub, url, verified } = await newHub();
    await addOperator(hub.store, 'olga', 'viewer', fast);
    const dev = await preIssueDevice(hub.store, { name: 'known', fleet: null });
    const { row } = await createProvisioningKey(hub.store, { fleet: 'f' });
    const attempt = async (o: { clientId: string; username: string; password: string }) => {
      const before = verified.length;
      await expect(connectOnce({ url, ...o })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
      return verified.slice(before);
    };
    const wrongOperator = await attempt({ clientId: 'op-olga-1', username: usernames.operator('olga'), password: 'wrong' });
    const unknownOperator = await attempt({ clientId: 'op-nobody-1', username: usernames.operator('nobody'), password: 'wrong' });
    expect(wrongOperator).toEqual(['scrypt$1024$8$1']);
    expect(unknownOperator).toEqual(wrongOperator);

    const wrongDevice = await attempt({ clientId: dev.deviceId, username: dev.username, password: 'wrong' });
    const unknownDevice = await attempt({ clientId: 'ghost-abcdef', username: usernames.device('ghost-abcdef'), password: 'wrong' });
    expect(wrongDevice).toEqual(['sha256']);
    expect(unknownDevice).toEqual(wrongDevice);

    const wrongKey = await attempt({ clientId: clientIds.provision(nonce()), username: usernames.provision(row.id), password: 'wrong' });
    const unknownKey = await attempt({ clientId: clientIds.provision(nonce()), username: usernames.provision('knothere'), password: 'wrong' });
    expect(wrongKey).toEqual(['sha256']);
    expect(unknownKey).toEqual(wrongKey);
  });
});

describe('item 6: provision.register is bound to the session that calls it', () => {
  it('a fleet-key holder connected as prov-A cannot register (reset) the device of nonce B', async () => {
    const { hub, url } = await newHub();
    const { key } = await createProvisioningKey(hub.store, { fleet: 'f' });
    const nonceB = nonce();
    const victim = await (await provisionSession(hub, url, key, nonceB)).register(nonceB, 'victim');
    const hashBefore = hub.store.getDevice(victim.deviceId)!.secretHash;

    const attacker = await provisionSession(hub, url, key, nonce());
    await expect(attacker.register(nonceB, 'mine-now')).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', message: expect.stringContaining('session') });
    expect(hub.store.getDevice(victim.deviceId)!.secretHash).toBe(hashBefore);
    await expect(connect(url, { clientId: victim.deviceId, username: victim.username, password: victim.password })).resolves.toBeDefined();
  });
});

describe('item 9: machine secrets are verified with a fast hash', () => {
  it('a device stored with an old scrypt hash still logs in (mosquitto_pub), and its hash becomes a machine hash', async () => {
    const { hub, verified } = await newHub();
    const deviceId = 'legacy-abcdef';
    const password = randomBytes(24).toString('base64url');
    hub.store.createDevice({ id: deviceId, name: 'legacy', fleet: null, tags: [], secretHash: await hashSecret(password, fast), createdAt: Date.now() });
    const state = topics.device(hub.hubId, deviceId, 'state');

    const first = await mosquittoPub(hub, { clientId: deviceId, username: usernames.device(deviceId), password, topic: state });
    expect(first).toMatchObject({ code: 0 });
    expect(hub.store.getDevice(deviceId)!.secretHash).toMatch(/^sha256\$/);
    const second = await mosquittoPub(hub, { clientId: deviceId, username: usernames.device(deviceId), password, topic: state });
    expect(second).toMatchObject({ code: 0 });
    expect(verified).toEqual(['scrypt$1024$8$1', 'sha256']);
  });

  it('new device passwords and key secrets are stored as machine hashes, operator passwords as scrypt', async () => {
    const { hub, url } = await newHub();
    const { key, row } = await createProvisioningKey(hub.store, { fleet: 'f' });
    expect(row.secretHash).toMatch(/^sha256\$/);
    const n = nonce();
    const creds = await (await provisionSession(hub, url, key, n)).register(n, 'fresh');
    expect(hub.store.getDevice(creds.deviceId)!.secretHash).toMatch(/^sha256\$/);
    const pre = await preIssueDevice(hub.store, { name: 'pre', fleet: null });
    expect(hub.store.getDevice(pre.deviceId)!.secretHash).toMatch(/^sha256\$/);
    await addOperator(hub.store, 'human', 'viewer', fast);
    expect(hub.store.getOperator('human')!.secretHash).toMatch(/^scrypt\$/);
  });
});
