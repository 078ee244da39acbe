// Provisioning: a device that boots with a fleet key calls provision.register and receives its own
// credentials. The nonce the device chose makes the call idempotent: a retry returns the same device
// (with a fresh password) instead of creating and counting a second one. The nonce must be the one of the
// MQTT session that calls (client id prov-{nonce}, bound by the ACL to its topic), so a holder of the fleet
// key who learned another device's nonce cannot take that device over by resetting its password.
import { randomBytes } from 'node:crypto';
import { clientIds, provisionService, RpcEndpoint, SosnaError, topics, usernames } from '@sosna/protocol';
import type { Codec, Logger } from '@sosna/protocol';
import type { Bus } from '../broker/bus.js';
import type { Authenticator } from '../auth/authenticator.js';
import { hashMachineSecret, randomSecret } from '../auth/password.js';
import type { HubEventBus } from '../events.js';
import type { DeviceStore } from '../fleet/store.js';
import { PeerTable, topicId } from '../broker/peers.js';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
export function randomId(length: number): string {
  const bytes = randomBytes(length);
  let s = '';
  for (const b of bytes) s += BASE32[b & 31];
  return s;
}

/** A readable device id: the device's name as a slug plus a random suffix. */
export function deviceIdFor(name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 24) || 'device';
  return `${slug}-${randomId(6)}`;
}

export function splitKey(key: string): { keyId: string; secret: string } | null {
  const dot = key.indexOf('.');
  if (dot <= 0 || dot === key.length - 1) return null;
  return { keyId: key.slice(0, dot), secret: key.slice(dot + 1) };
}

/** Who calls: the MQTT client id of the provisioning session, read from the topic the call came on. */
interface ProvisionMeta {
  session: string;
}

export async function startProvisioning(deps: {
  bus: Bus; codec: Codec; hubId: string; log: Logger; store: Pick<DeviceStore, 'createProvisionedDevice' | 'findDeviceByNonce' | 'setDeviceSecret'>; auth: Authenticator; events: HubEventBus;
  /** Called with each password issued, before the device gets it (an external broker learns the login). */
  issued?: (deviceId: string, password: string) => Promise<void>;
  /** Records the device key the device sent (hub/src/receipts/keys.ts); a different key than the registered one is refused. */
  registerKey?: (deviceId: string, publicKey: string) => Promise<unknown>;
}): Promise<{ stop(): Promise<void>; drop(session: string): void }> {
  const { store, auth, log } = deps;
  const endpoint = new RpcEndpoint<ProvisionMeta>().add(provisionService, {
    register: async ({ key, nonce, name, tags, publicKey }, { meta }) => {
      if (meta.session !== clientIds.provision(nonce)) {
        log.warn('register refused: the nonce is not this session\'s', { session: meta.session });
        throw new SosnaError('E_UNAUTHORIZED', `nonce ${nonce} does not belong to this session: connect as ${clientIds.provision(nonce)} to register with it`);
      }
      const parts = splitKey(key);
      if (!parts) throw new SosnaError('E_UNAUTHORIZED', 'provisioning key must look like keyId.secret');
      const existing = store.findDeviceByNonce(parts.keyId, nonce);
      const { problem, key: row } = await auth.keyProblem(parts.keyId, parts.secret, !existing);
      if (problem || !row) throw new SosnaError('E_UNAUTHORIZED', `provisioning key ${parts.keyId} is ${problem}`);
      const password = randomSecret(24);
      const hash = hashMachineSecret(password);
      let deviceId: string;
      if (existing) {
        deviceId = existing.id;
        store.setDeviceSecret(deviceId, hash);
        log.info('device re-provisioned (retry with the same nonce)', { deviceId, keyId: row.id });
      } else {
        deviceId = deviceIdFor(name);
        // the tags the device's owner gave it (its config, e.g. from the fleet CSV) are recorded with it
        const r = store.createProvisionedDevice({ id: deviceId, name, fleet: row.fleet, tags: [...new Set(tags ?? [])], secretHash: hash, keyId: row.id, nonce, createdAt: Date.now() });
        if (r === 'exhausted') throw new SosnaError('E_UNAUTHORIZED', `provisioning key ${row.id} is exhausted`);
        log.info('device provisioned', { deviceId, fleet: row.fleet, keyId: row.id });
      }
      // the key before the password: a device whose key is refused gets no credentials and says why
      if (publicKey && deps.registerKey) await deps.registerKey(deviceId, publicKey);
      await deps.issued?.(deviceId, password);
      deps.events.emit('provisioned', deviceId, row.id);
      return { hubId: deps.hubId, deviceId, username: usernames.device(deviceId), password };
    },
  });
  const table = new PeerTable<ProvisionMeta>({
    bus: deps.bus, codec: deps.codec, log, role: 'owner', endpoint,
    inbound: topics.provisionAll(deps.hubId, 'in'),
    outbound: (session) => topics.provision(deps.hubId, session, 'out'),
    idOf: topicId('provision', deps.hubId),
    meta: (session) => ({ session }), // the topic's session level is the caller's client id (policy.ts)
    limit: 10_000,
  });
  await table.start();
  return { stop: () => table.stop(), drop: (session) => table.drop(session, 'disconnected') };
}
