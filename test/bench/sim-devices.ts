// A child process that simulates many devices with the protocol package: each provisions with the fleet
// key, connects with its own credentials and a Will, publishes its birth and answers system.ping.
// argv: url keyString count namePrefix concurrency. Reports progress to the parent over IPC.
import { hostname } from 'node:os';
import {
  connectOnce, createCodec, publishAsync, RpcEndpoint, RpcPeer, subscribeAsync, systemService, topics,
} from '@sosna/protocol';
import { provisionSim } from './provision-sim.js';
import type { MqttClient } from '@sosna/protocol';

const [url, key, countText, prefix, concText] = process.argv.slice(2) as [string, string, string, string, string];
const count = Number(countText);
const concurrency = Number(concText ?? 25);
const codec = createCodec();
const inventory = {
  hostname: hostname(), platform: 'linux', arch: 'x64', os: { distro: 'sim', release: '1', kernel: 'sim' },
  cpu: { manufacturer: 'sim', brand: 'sim', cores: 4, physicalCores: 2, speedGHz: 2 }, memory: { totalBytes: 8 * 2 ** 30 },
};
const clients: MqttClient[] = [];
const ids: string[] = [];
let provisioned = 0;
let online = 0;

function send(msg: unknown) {
  process.send?.(msg);
}

async function provisionOne(name: string) {
  return provisionSim({ url, key, name, codec });
}

async function deviceOne(i: number) {
  const name = `${prefix}-${i}`;
  let creds;
  for (let attempt = 0; ; attempt++) {
    try {
      creds = await provisionOne(name);
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
  provisioned++;
  const at = Date.now();
  const will = { topic: topics.device(creds.hubId, creds.deviceId, 'state'), payload: codec.encode({ v: 1, status: 'offline', at, reason: 'will' }), retain: true, qos: 1 as const };
  const c = await connectOnce({ url, clientId: creds.deviceId, username: creds.username, password: creds.password, keepaliveSec: 120, will, connectTimeoutMs: 120_000 });
  const endpoint = new RpcEndpoint().add(systemService, {
    info: () => ({ deviceId: creds.deviceId, name, agentVersion: 'sim', uptimeSec: 1, node: process.version, inventory }),
    ping: ({ echo }) => ({ echo, at: Date.now() }),
  });
  const out = topics.device(creds.hubId, creds.deviceId, 'rpc/out');
  const peer = new RpcPeer({ role: 'owner', codec, endpoint, send: (b) => c.publish(out, Buffer.from(b), { qos: 1 }) });
  c.on('message', (_t, p) => peer.receive(p));
  await subscribeAsync(c, topics.device(creds.hubId, creds.deviceId, 'rpc/in'));
  await publishAsync(c, will.topic, codec.encode({ v: 1, status: 'online', at, agentVersion: 'sim', name, inventory }), { retain: true, qos: 1 });
  clients.push(c);
  ids.push(creds.deviceId);
  online++;
}

async function main() {
  let next = 0;
  const progress = setInterval(() => send({ type: 'progress', provisioned, online }), 1000);
  const worker = async () => {
    while (next < count) await deviceOne(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  clearInterval(progress);
  send({ type: 'ready', provisioned, online, ids });
}

process.on('message', (m: { type?: string }) => {
  if (m?.type === 'stop') {
    for (const c of clients) c.end(true);
    process.exit(0);
  }
});
main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
