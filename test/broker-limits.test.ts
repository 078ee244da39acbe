// Nobody fills the hub's memory without logging in: the embedded broker caps packet sizes (small before
// authentication, mqtt.maxPacketBytes after), closes connections that do not authenticate in time, and bounds the
// connections not yet authenticated per address. A real hub, raw sockets (node:net), the ws client, mosquitto.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { addOperator, startHub } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import { clientIds, connectOnce, subscribeAsync, topics, usernames } from '@sosna/protocol';
import type { MqttClient } from '@sosna/protocol';
import { captureLogger, tempDir, waitFor } from './helpers.js';
import { randomBytes } from 'node:crypto';
import { closedWithin, connectPacket, fixedHeader, openRaw, openRawWebSocket, publishStart, readBytes, stream, wsFrameHeader } from './mqtt-raw.js';

const MiB = 1024 * 1024;
const CLAIM = 64 * MiB;
// What the kernel may take into socket buffers before the hub's reset reaches the sender: well under the claim.
// A hub that buffers the packet takes all of it.
const FAR_BELOW_CLAIM = 16 * MiB;
const CLOSE_DEADLINE = 20_000; // sized for a busy machine

const tmp = tempDir();
const fast = { N: 1024, r: 8, p: 1 };
const captured = captureLogger();
let hub: Hub;
let alice: { user: string; password: string };
const opened: Socket[] = [];
const clients: MqttClient[] = [];

async function raw(port = hub.mqttPort!): Promise<Socket> {
  const s = await openRaw(port);
  opened.push(s);
  return s;
}

function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

// operators connect as op-{name}-{suffix} (the hub binds client ids to logins)
const aliceId = (suffix: string) => clientIds.operator('alice', suffix.replace(/-/g, '_'));
const mqttArgs = (clientId: string) => ['-h', '127.0.0.1', '-p', String(hub.mqttPort), '-i', aliceId(clientId), '-u', alice.user, '-P', alice.password, '-V', 'mqttv311'];

beforeAll(async () => {
  hub = await startHub({
    dataDir: join(tmp.dir, 'hub'),
    mqtt: { host: '127.0.0.1', port: 0, wsPort: 0, maxPayloadBytes: 8192, maxPacketBytes: 16_384, connectTimeoutMs: 60_000, maxPendingPerAddress: 4 },
    scryptN: 1024, chain: { mode: 'off' },
  }, { log: captured.log });
  const { password } = await addOperator(hub.store, 'alice', 'admin', fast);
  alice = { user: usernames.operator('alice'), password };
});
afterAll(async () => {
  for (const s of opened) s.destroy();
  for (const c of clients) c.end(true);
  await hub.stop();
  tmp.cleanup();
});

// first: no other connection of this file is pending yet
describe('connections not yet authenticated, per address', () => {
  it('beyond mqtt.maxPendingPerAddress they are refused; authenticated clients keep working; closing frees the slots', async () => {
    const op = await connectOnce({ url: `mqtt://127.0.0.1:${hub.mqttPort}`, clientId: aliceId('steady'), username: alice.user, password: alice.password });
    clients.push(op);
    const idle: Socket[] = [];
    for (let i = 0; i < 4; i++) idle.push(await raw());
    const extra: Socket[] = [];
    for (let i = 0; i < 3; i++) extra.push(await raw());
    await Promise.all(extra.map((s) => closedWithin(s, CLOSE_DEADLINE, 'the hub to refuse a connection over the limit')));
    expect(idle.map((s) => s.destroyed)).toEqual([false, false, false, false]);
    // the WebSocket listener counts the same address' connections
    const ws = new WebSocket(`ws://127.0.0.1:${hub.wsPort}`, 'mqtt');
    ws.on('error', () => {});
    await new Promise<void>((r, j) => {
      const t = setTimeout(() => j(new Error('the WebSocket connection over the limit was not refused')), CLOSE_DEADLINE);
      ws.once('close', () => (clearTimeout(t), r()));
    });
    // the authenticated client still gets the hub's card
    const card = new Promise<string>((r) => op.once('message', (t) => r(t)));
    await subscribeAsync(op, topics.announce(hub.hubId));
    expect(await card).toBe(topics.announce(hub.hubId));
    // the idle ones gone, a new client from the same address is admitted again
    for (const s of idle) s.destroy();
    await waitFor('a new client after the idle connections closed', async () => {
      const r = await run('mosquitto_sub', [...mqttArgs('sub-after'), '-t', topics.announce(hub.hubId), '-C', '1', '-W', '10']);
      return r.code === 0;
    }, 30_000, 200);
  });
});

describe('packet size before authentication', () => {
  it('a CONNECT claiming 64 MiB is refused from its header: the socket is closed before the body is taken in', async () => {
    const s = await raw();
    const closed = closedWithin(s, CLOSE_DEADLINE);
    const r = await stream(s, fixedHeader(1, CLAIM), CLAIM + 5);
    await closed;
    expect(r.closedEarly).toBe(true);
    expect(r.sent).toBeLessThan(FAR_BELOW_CLAIM);
    expect(captured.lines.join('\n')).toMatch(/packet too large/);
  });

  it('the same over WebSocket, as one MQTT packet spread over many messages or as one huge fragmented message', async () => {
    for (const mode of ['messages', 'fragments'] as const) {
      const ws = new WebSocket(`ws://127.0.0.1:${hub.wsPort}`, 'mqtt');
      await new Promise((r, j) => ws.once('open', r).once('error', j));
      ws.on('error', () => {});
      const closed = new Promise<void>((r, j) => {
        const t = setTimeout(() => j(new Error(`${mode}: no close within ${CLOSE_DEADLINE} ms`)), CLOSE_DEADLINE);
        ws.once('close', () => (clearTimeout(t), r()));
      });
      let sent = 0;
      const chunk = Buffer.alloc(64 * 1024);
      const fin = mode === 'messages';
      ws.send(fixedHeader(1, CLAIM), { fin });
      while (ws.readyState === WebSocket.OPEN && sent < CLAIM) {
        await new Promise<void>((r) => ws.send(chunk, { fin }, () => r()));
        sent += chunk.length;
        while (ws.bufferedAmount > 4 * MiB && ws.readyState === WebSocket.OPEN) await new Promise((r) => setTimeout(r, 5));
      }
      await closed;
      expect(sent, mode).toBeLessThan(FAR_BELOW_CLAIM);
    }
  });

  it('a legit client (mosquitto_pub) still connects and publishes', async () => {
    const seen: string[] = [];
    const topic = topics.console(hub.hubId, 'alice', 'in');
    const unsub = await hub.bus.subscribe(topic, (_t, p) => seen.push(Buffer.from(p).toString()));
    const r = await run('mosquitto_pub', [...mqttArgs('pub-ok'), '-t', topic, '-q', '1', '-m', 'hello from mosquitto']);
    expect(r.code, r.output).toBe(0);
    await waitFor('the message at the hub', () => seen.includes('hello from mosquitto'));
    await unsub();
  });
});

describe('packet size after authentication', () => {
  it('a PUBLISH claiming 64 MiB from an authenticated client is refused from its header', async () => {
    const s = await raw();
    s.write(connectPacket({ clientId: aliceId('big-pub'), username: alice.user, password: alice.password }));
    expect([...(await readBytes(s, 4))]).toEqual([0x20, 2, 0, 0]); // CONNACK, accepted
    const closed = closedWithin(s, CLOSE_DEADLINE);
    const r = await stream(s, publishStart(topics.console(hub.hubId, 'alice', 'in'), CLAIM), CLAIM);
    await closed;
    expect(r.sent).toBeLessThan(FAR_BELOW_CLAIM);
  });

  it('mosquitto_pub: a message over mqtt.maxPacketBytes is refused and never delivered; one within it is', async () => {
    const seen: number[] = [];
    const topic = topics.console(hub.hubId, 'alice', 'in');
    const unsub = await hub.bus.subscribe(topic, (_t, p) => seen.push(p.byteLength));
    const big = await run('mosquitto_pub', [...mqttArgs('pub-big'), '-t', topic, '-q', '1', '-m', 'x'.repeat(64 * 1024)]);
    expect(big.code, big.output).not.toBe(0);
    const ok = await run('mosquitto_pub', [...mqttArgs('pub-small'), '-t', topic, '-q', '1', '-m', 'y'.repeat(4000)]);
    expect(ok.code, ok.output).toBe(0);
    await waitFor('the small message at the hub', () => seen.includes(4000));
    expect(seen).toEqual([4000]);
    await unsub();
  });
});

describe('WebSocket messages before authentication', () => {
  // a hub that allows 64 MiB payloads (so ws' own maxPayload is over 64 MiB): only the guard's frame check is left
  let roomy: Hub;
  beforeAll(async () => {
    roomy = await startHub({
      dataDir: join(tmp.dir, 'roomy'), mqtt: { host: '127.0.0.1', port: 0, wsPort: 0, maxPayloadBytes: CLAIM, connectTimeoutMs: 60_000 }, scryptN: 1024, chain: { mode: 'off' },
    }, { log: captured.log });
  });
  afterAll(async () => {
    await roomy?.stop();
  });

  it('one frame announcing 64 MiB is refused from its header, also when it comes with the upgrade request', async () => {
    const s = await openRawWebSocket(roomy.wsPort!);
    opened.push(s);
    const closed = closedWithin(s, CLOSE_DEADLINE);
    const r = await stream(s, wsFrameHeader(CLAIM), CLAIM + 14);
    await closed;
    expect(r.sent).toBeLessThan(FAR_BELOW_CLAIM);

    const t = await raw(roomy.wsPort!);
    const upgrade = Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`);
    const closedToo = closedWithin(t, CLOSE_DEADLINE);
    const r2 = await stream(t, Buffer.concat([upgrade, wsFrameHeader(CLAIM)]), CLAIM + upgrade.length + 14);
    await closedToo;
    expect(r2.sent).toBeLessThan(FAR_BELOW_CLAIM);
  });

  it('a message in 64 KiB fragments adding up to 64 MiB is refused as its fragments arrive', async () => {
    const s = await openRawWebSocket(roomy.wsPort!);
    opened.push(s);
    const closed = closedWithin(s, CLOSE_DEADLINE);
    let open = true;
    s.once('close', () => (open = false));
    const payload = Buffer.alloc(64 * 1024);
    let sent = 0;
    for (let i = 0; open && sent < CLAIM; i++) {
      const frame = Buffer.concat([wsFrameHeader(payload.length, { fin: false, opcode: i === 0 ? 2 : 0 }), payload]);
      if (!s.write(frame, (err) => void (err || (sent += payload.length)))) await new Promise((r) => (open ? s.once('drain', r).once('close', r) : r(null)));
    }
    await closed;
    expect(sent).toBeLessThan(FAR_BELOW_CLAIM);
  });
});

describe('connections that never authenticate', () => {
  let quick: Hub;
  beforeAll(async () => {
    quick = await startHub({
      dataDir: join(tmp.dir, 'quick'), mqtt: { host: '127.0.0.1', port: 0, wsPort: 0, connectTimeoutMs: 500 }, scryptN: 1024, chain: { mode: 'off' },
    }, { log: captured.log });
  });
  afterAll(async () => {
    await quick?.stop();
  });

  it('a socket that never sends CONNECT is closed after mqtt.connectTimeoutMs, on the MQTT and the WebSocket port', async () => {
    const tcp = await raw(quick.mqttPort!);
    const httpIdle = await raw(quick.wsPort!); // never even upgrades
    const ws = new WebSocket(`ws://127.0.0.1:${quick.wsPort}`, 'mqtt'); // upgrades, then sends nothing
    ws.on('error', () => {});
    await new Promise((r) => ws.once('open', r));
    const wsClosed = new Promise<void>((r, j) => {
      const t = setTimeout(() => j(new Error('the idle WebSocket was not closed')), CLOSE_DEADLINE);
      ws.once('close', () => (clearTimeout(t), r()));
    });
    await Promise.all([closedWithin(tcp, CLOSE_DEADLINE), closedWithin(httpIdle, CLOSE_DEADLINE), wsClosed]);
  });
});
