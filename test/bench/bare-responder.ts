// A device-like responder on the bare broker: answers system.ping over the same RPC framing. argv: url.
import mqtt from 'mqtt';
import { createCodec, noDelay, RpcEndpoint, RpcPeer, systemService } from '@sosna/protocol';

const url = process.argv[2]!;
const codec = createCodec();
const client = mqtt.connect(url, { clientId: 'bare-responder', protocolVersion: 4, clean: true });
const endpoint = new RpcEndpoint().add(systemService, {
  info: () => {
    throw new Error('not in the bench');
  },
  ping: ({ echo }) => ({ echo, at: Date.now() }),
});
const peer = new RpcPeer({ role: 'owner', codec, endpoint, send: (b) => client.publish('bare/rpc/out', Buffer.from(b), { qos: 1 }) });
client.on('message', (_t, p) => peer.receive(p));
client.on('connect', () => {
  noDelay(client);
  client.subscribe('bare/rpc/in', { qos: 1 }, () => process.send?.({ type: 'ready' }));
});
process.on('message', (m: { type?: string }) => m?.type === 'stop' && process.exit(0));
