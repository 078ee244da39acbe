// Device credentials issued and revoked while the hub runs, with the broker kept in step: the hub's
// database is the source of truth; an external broker (mosquitto.ts) is a cache the hub pushes to. The
// hub keeps only hashes, so it can push a device's login only when it issues the password (here, or in
// provisioning); devices issued while no external broker was configured get a new password through
// issue again (re-keying) or by provisioning again.
//
// A revocation is recorded before it is sent (the device ids in the meta key below): a broker that is
// down, or a hub stopped before the broker answered, leaves it recorded, and it is sent when the broker is
// back (onSynced) or at the hub's next start. Deleting a login twice is harmless.
import { preIssueDevice } from '../admin.js';
import { hashMachineSecret, randomSecret } from '../auth/password.js';
import type { DeviceStore, MetaStore } from '../fleet/store.js';
import type { ExternalBroker } from '../broker/mosquitto.js';
import { SosnaError } from '@sosna/protocol';
import type { credentialsService, Handlers, Logger } from '@sosna/protocol';
import type { OperatorMeta } from '../auth/roles.js';

export const PENDING_DELETES = 'broker.pendingDeletes';

export interface DeviceCredentials {
  /** A new device with its own login (as `sosna provision --credentials` makes them), pushed to the broker. */
  issue(opts: { name: string; fleet: string | null; tags?: string[] }): Promise<{ deviceId: string; username: string; password: string }>;
  /**
   * Revokes a device's login: its stored hash is replaced by one of a secret nobody knows, and its connection
   * is closed: by the embedded broker, or by an external one, which deletes the login before this resolves.
   * `pending`: the external broker could not be told now; the deletion is kept and sent when it is back.
   */
  revoke(deviceId: string): Promise<{ pending: boolean }>;
  /** Revocations recorded and not yet confirmed by the external broker. */
  pending(): string[];
}


function readPending(store: MetaStore): string[] {
  const raw = store.getMeta(PENDING_DELETES);
  if (!raw) return [];
  const v = JSON.parse(raw) as unknown;
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function writePending(store: MetaStore, ids: string[]): void {
  store.setMeta(PENDING_DELETES, JSON.stringify([...new Set(ids)]));
}

export function deviceCredentials(deps: {
  store: Pick<DeviceStore, 'createDevice' | 'getDevice' | 'setDeviceSecret'> & MetaStore;
  external: Pick<ExternalBroker, 'putDevice' | 'deleteDevice' | 'onSynced'> | null;
  disconnect: (clientId: string) => boolean;
  log?: Logger;
}): DeviceCredentials {
  const { store, external, log } = deps;
  let draining: Promise<void> | null = null;
  /** Sends every recorded deletion; each confirmed one leaves the record. */
  const drain = (): Promise<void> => {
    if (!external) return Promise.resolve();
    draining ??= (async () => {
      for (const id of readPending(store)) {
        try {
          await external.deleteDevice(id);
          writePending(store, readPending(store).filter((x) => x !== id));
          log?.info('revoked login deleted on the broker', { deviceId: id });
        } catch (err) {
          log?.warn('revoked login still on the broker; kept for when it is back', { deviceId: id, error: (err as Error).message });
          return;
        }
      }
    })().finally(() => { draining = null; });
    return draining;
  };
  if (external) {
    external.onSynced(() => void drain());
    void drain(); // left by an earlier run
  }
  return {
    async issue(opts) {
      const c = await preIssueDevice(store, opts);
      await external?.putDevice(c.deviceId, c.password);
      return c;
    },
    async revoke(deviceId) {
      if (!store.getDevice(deviceId)) throw new SosnaError('E_NOT_FOUND', `no device ${deviceId}`);
      store.setDeviceSecret(deviceId, hashMachineSecret(randomSecret(24)));
      deps.disconnect(deviceId); // the embedded broker: its login hook already refuses the new hash
      if (!external) return { pending: false };
      writePending(store, [...readPending(store), deviceId]); // recorded before it is sent
      await drain();
      return { pending: readPending(store).includes(deviceId) };
    },
    pending: () => readPending(store),
  };
}

/** The console's `credentials` service (admin only, auth/roles.ts). */
export function credentialsHandlers(creds: DeviceCredentials, d: { hubId: string; brokerUrl: string | null; log: Logger }): Handlers<typeof credentialsService, OperatorMeta> {
  return {
    issue: async ({ name, fleet, tags }, ctx) => {
      const c = await creds.issue({ name, fleet: fleet ?? null, tags });
      d.log.info('device credentials issued', { operator: ctx.meta.operator, deviceId: c.deviceId, fleet: fleet ?? null });
      return { hubId: d.hubId, deviceId: c.deviceId, username: c.username, password: c.password, brokerUrl: d.brokerUrl };
    },
    revoke: async ({ deviceId }, ctx) => {
      const r = await creds.revoke(deviceId);
      d.log.warn('device credentials revoked', { operator: ctx.meta.operator, deviceId, brokerPending: r.pending });
      return { deviceId, pending: r.pending };
    },
  };
}
