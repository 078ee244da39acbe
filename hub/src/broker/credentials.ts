// Device credentials issued and revoked while the hub runs, with the broker kept in step: the hub's
// database is the source of truth; an external broker (mosquitto.ts) is a cache the hub pushes to. The
// hub keeps only hashes, so it can push a device's login only when it issues the password (here, or in
// provisioning); devices issued while no external broker was configured get a new password through
// issue again (re-keying) or by provisioning again.
import { preIssueDevice } from '../admin.js';
import { hashMachineSecret, randomSecret } from '../auth/password.js';
import type { HubStore } from '../store/types.js';
import type { ExternalBroker } from './mosquitto.js';
import { SosnaError } from '@sosna/protocol';

export interface DeviceCredentials {
  /** A new device with its own login (as `sosna provision --credentials` makes them), pushed to the broker. */
  issue(opts: { name: string; fleet: string | null; tags?: string[] }): Promise<{ deviceId: string; username: string; password: string }>;
  /**
   * Revokes a device's login: its stored hash is replaced by one of a secret nobody knows, and its connection
   * is closed: by the embedded broker, or by an external one, which deletes the login before this resolves.
   */
  revoke(deviceId: string): Promise<void>;
}

export function deviceCredentials(deps: { store: HubStore; external: ExternalBroker | null; disconnect: (clientId: string) => boolean }): DeviceCredentials {
  const { store, external } = deps;
  return {
    async issue(opts) {
      const c = await preIssueDevice(store, opts);
      await external?.putDevice(c.deviceId, c.password);
      return c;
    },
    async revoke(deviceId) {
      if (!store.getDevice(deviceId)) throw new SosnaError('E_NOT_FOUND', `no device ${deviceId}`);
      store.setDeviceSecret(deviceId, hashMachineSecret(randomSecret(24)));
      await external?.deleteDevice(deviceId);
      deps.disconnect(deviceId); // the embedded broker: its login hook already refuses the new hash
    },
  };
}
