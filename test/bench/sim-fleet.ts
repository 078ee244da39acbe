// A child process of the TLS bench: many simulated devices that stay connected and come back after the hub
// restarts, as agents do (reconnect with exponential backoff and jitter, a Will, the birth, rpc/in), over
// plain MQTT or MQTT over TLS with the hub's CA. Credentials are provisioned once (over `provisionUrl`) and
// kept in `credsFile`, so a second run of the same devices skips provisioning.
// argv: connectUrl provisionUrl caFile|- key count namePrefix credsFile. Reports to the parent over IPC:
// progress {connected, provisioned, reconnects, resumed}, ready {ids}. Over TLS each device keeps its session
// between connections, as the agent's link does, so a reconnect resumes it (counted in `resumed`); the CA's
// context is made once for all devices of the process (a device makes one for its only connection).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createSecureContext } from 'node:tls';
import {
  backoffDelay, connectOnce, createCodec, publishAsync, RpcEndpoint, RpcPeer, subscribeAsync, systemService, tlsSessions, topics,
} from '@sosna/protocol';
import { provisionSim } from './provision-sim.js';
import type { MqttClient, TlsMaterial } from '@sosna/protocol';

const [url, provisionUrl, caFile, key, countText, prefix, credsFile] = process.argv.slice(2) as [string, string, string, string, string, string, string];
const count = Number(countText);
const ca = caFile !== '-' ? readFileSync(caFile, 'utf8') : null;
const tls: TlsMaterial | undefined = ca ? { ca, context: createSecureContext({ ca }) } : undefined;
const codec = createCodec();
const inventory = {
  hostname: hostname(), platform: 'linux', arch: 'x64', os: { distro: 'sim', release: '1', kernel: 'sim' },
  cpu: { manufacturer: 'sim', brand: 'sim', cores: 4, physicalCores: 2, speedGHz: 2 }, memory: { totalBytes: 8 * 2 ** 30 },
};
interface Creds { hubId: string; deviceId: string; username: string; password: string }
let connected = 0;
let provisioned = 0;
let reconnects = 0;
let resumed = 0;
let stopping = false;
const clients = new Set<MqttClient>();

function provisionOne(name: string): Promise<Creds> {
  return provisionSim({ url: provisionUrl, key, name, codec });
}

/** One device: connect, register, and on every loss come back with the agent's backoff (500 ms .. 30 s). */
function run(creds: Creds, name: string): Promise<void> {
  let attempt = 0;
  let first = true;
  const sessions = tlsSessions(1);
  return new Promise((ready) => {
    const connect = async () => {
      if (stopping) return;
      const at = Date.now();
      const will = { topic: topics.device(creds.hubId, creds.deviceId, 'state'), payload: codec.encode({ v: 1, status: 'offline', at, reason: 'will' }), retain: true, qos: 1 as const };
      let c: MqttClient;
      try {
        c = await connectOnce({ url, clientId: creds.deviceId, username: creds.username, password: creds.password, keepaliveSec: 120, will, connectTimeoutMs: 30_000, tls, tlsSessions: sessions });
        if ((c.stream as unknown as { isSessionReused?: () => boolean }).isSessionReused?.()) resumed++;
        const endpoint = new RpcEndpoint().add(systemService, {
          info: () => ({ deviceId: creds.deviceId, name, agentVersion: 'sim', uptimeSec: 1, node: process.version, inventory }),
          ping: ({ echo }) => ({ echo, at: Date.now() }),
        });
        const out = topics.device(creds.hubId, creds.deviceId, 'rpc/out');
        const peer = new RpcPeer({ role: 'owner', codec, endpoint, send: (b) => c.publish(out, Buffer.from(b), { qos: 1 }) });
        c.on('message', (_t, p) => peer.receive(p));
        await subscribeAsync(c, topics.device(creds.hubId, creds.deviceId, 'rpc/in'));
        await publishAsync(c, will.topic, codec.encode({ v: 1, status: 'online', at, agentVersion: 'sim', name, inventory }), { retain: true, qos: 1 });
      } catch {
        setTimeout(() => void connect(), backoffDelay(attempt++, 500, 30_000));
        return;
      }
      attempt = 0;
      connected++;
      clients.add(c);
      if (!first) reconnects++;
      first = false;
      ready();
      c.on('error', () => {});
      c.once('close', () => {
        connected--;
        clients.delete(c);
        c.end(true);
        setTimeout(() => void connect(), backoffDelay(attempt++, 500, 30_000));
      });
    };
    void connect();
  });
}

async function main() {
  const progress = setInterval(() => process.send?.({ type: 'progress', connected, provisioned, reconnects, resumed }), 250);
  let all: Creds[] = existsSync(credsFile) ? (JSON.parse(readFileSync(credsFile, 'utf8')) as Creds[]) : [];
  if (all.length < count) {
    let next = all.length;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        all[i] = await provisionOne(`${prefix}-${i}`);
        provisioned++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(25, count) }, worker));
    writeFileSync(credsFile, JSON.stringify(all));
  }
  all = all.slice(0, count);
  // connect in waves of 50, as a fleet that was already running would be spread in time
  for (let i = 0; i < all.length; i += 50) await Promise.all(all.slice(i, i + 50).map((c, j) => run(c, `${prefix}-${i + j}`)));
  process.send?.({ type: 'ready', ids: all.map((c) => c.deviceId) });
  void progress;
}

process.on('message', (m: { type?: string }) => {
  if (m?.type === 'stop') {
    stopping = true;
    for (const c of clients) c.end(true);
    process.exit(0);
  }
});
main().catch((err: unknown) => {
  process.send?.({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
