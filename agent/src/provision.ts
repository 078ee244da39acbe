// First boot with a fleet key: connect as prov-{nonce}, wait for the hub's signed card, call
// provision.register, persist the credentials atomically. The nonce is saved before the first attempt,
// so a crash at any point retries as the same device.
import { randomBytes } from 'node:crypto';
import {
  connectOnce, createCodec, provisionService, PROVISION_CLIENT_PREFIX, RpcPeer, SosnaError, subscribeAsync, topics, usernames,
} from '@sosna/protocol';
import type { DeviceConfig, Logger } from '@sosna/protocol';
import { Credentials, CREDENTIALS_FILE, PROVISION_FILE, ProvisionState } from './credentials.js';
import { checkHub } from './trust/check.js';
import { awaitVerifiedCard, configForHub, recordedChoice } from './trust/choose.js';
import { jsonRpcReader } from './trust/rpc.js';
import type { StateStore } from './state.js';
import { tlsFor } from './tls.js';

export async function provision(opts: { config: DeviceConfig; state: StateStore; name: string; log: Logger; publicKey?: string }): Promise<Credentials> {
  const { state, log } = opts;
  // With several hubs configured, join the one the agent chose (trust/choose.ts records it in the state dir).
  const chosen = opts.config.hubs.length ? recordedChoice(opts.config, state) : null;
  const config = chosen ? configForHub(opts.config, chosen.option) : opts.config;
  const key = config.provisioningKey;
  if (!key) throw new SosnaError('E_UNAUTHORIZED', 'no credentials and no provisioningKey in the config: this device cannot join a hub');
  const [keyId, secret] = key.split('.') as [string, string];
  let nonce = state.read(PROVISION_FILE, ProvisionState)?.nonce;
  if (!nonce) {
    nonce = randomBytes(16).toString('base64url');
    state.write(PROVISION_FILE, { nonce });
  }
  const clientId = `${PROVISION_CLIENT_PREFIX}${nonce}`;
  const codec = createCodec({ maxPayload: config.rpc.maxPayloadBytes });
  log.info('provisioning with the fleet key', { keyId, url: config.hub.url });
  const client = await connectOnce({ url: config.hub.url, clientId, username: usernames.provision(keyId), password: secret, keepaliveSec: config.mqtt.keepaliveSec, tls: tlsFor(config, config.hub.url) });
  try {
    const card = await awaitVerifiedCard(client, codec, config.hub, 15_000, (reason) => log.warn('refusing hub', { reason }));
    log.info('hub card verified', { hubId: card.hubId, name: card.name, owner: card.owner });
    if (config.chain.rpcUrl && config.chain.whitelist) {
      const verdict = await checkHub(card, jsonRpcReader(config.chain.rpcUrl), config.chain.whitelist, config.owner ?? null, {
        requireTrusted: config.chain.requireTrusted,
        minAvailable: BigInt(config.chain.minAvailableWei),
      });
      if (!verdict.ok) throw new SosnaError('E_UNAUTHORIZED', `refusing hub ${card.hubId}: ${verdict.reasons.join('; ')}`);
      log.info('hub checked on chain', { hubId: card.hubId, wallet: card.wallet, claimable: verdict.claimable.toString() });
    }
    const inTopic = topics.provision(card.hubId, clientId, 'in');
    const peer = new RpcPeer({ role: 'caller', codec, peer: `hub ${card.hubId}`, send: (b) => client.publish(inTopic, Buffer.from(b), { qos: 1 }) });
    client.on('message', (topic, payload) => {
      if (!topic.endsWith('/announce')) peer.receive(payload);
    });
    await subscribeAsync(client, topics.provision(card.hubId, clientId, 'out'));
    const r = await peer.call(provisionService, 'register', { key, nonce, name: opts.name, ...(config.tags?.length ? { tags: config.tags } : {}), ...(opts.publicKey ? { publicKey: opts.publicKey } : {}) }, { timeoutMs: 30_000 });
    const creds: Credentials = { hubId: r.hubId, deviceId: r.deviceId, username: r.username, password: r.password, url: config.hub.url, provisionedAt: Date.now() };
    state.write(CREDENTIALS_FILE, creds);
    log.info('provisioned', { deviceId: creds.deviceId, hubId: creds.hubId });
    return Credentials.parse(creds);
  } finally {
    client.end(true);
  }
}
