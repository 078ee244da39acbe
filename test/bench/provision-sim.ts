// One simulated device's first boot, as the agent's provisioning does it: a provisioning session (client id
// prov-{nonce}) that reads the hub's card and calls provision.register with the fleet key. Shared by the
// benches' simulated fleets (sim-devices.ts, sim-fleet.ts).
import { randomBytes } from 'node:crypto';
import { connectOnce, provisionService, PROVISION_CLIENT_PREFIX, RpcPeer, subscribeAsync, topics, usernames } from '@sosna/protocol';
import type { Codec } from '@sosna/protocol';

/** `key` is the fleet key as `sosna hub keys create` prints it (keyId.secret). */
export async function provisionSim(o: { url: string; key: string; name: string; codec: Codec }) {
  const [keyId, secret] = o.key.split('.') as [string, string];
  const nonce = randomBytes(16).toString('base64url');
  const clientId = `${PROVISION_CLIENT_PREFIX}${nonce}`;
  const c = await connectOnce({ url: o.url, clientId, username: usernames.provision(keyId), password: secret, keepaliveSec: 120, connectTimeoutMs: 120_000 });
  try {
    const card = new Promise<{ hubId: string }>((ok) => c.on('message', (t, p) => t.endsWith('/announce') && ok(o.codec.decode(p) as { hubId: string })));
    await subscribeAsync(c, topics.announceAll());
    const { hubId } = await card;
    const peer = new RpcPeer({ role: 'caller', codec: o.codec, send: (b) => c.publish(topics.provision(hubId, clientId, 'in'), Buffer.from(b), { qos: 1 }) });
    c.on('message', (t, p) => t.endsWith('/rpc/out') && peer.receive(p));
    await subscribeAsync(c, topics.provision(hubId, clientId, 'out'));
    return await peer.call(provisionService, 'register', { key: o.key, nonce, name: o.name }, { timeoutMs: 120_000 });
  } finally {
    c.end(true);
  }
}
