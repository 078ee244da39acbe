// The fleet domain's state, as the fleet and credential services need it (see docs/architecture.md "Store"):
// devices and their credentials, provisioning keys, desired config and the hub's own settings. A database
// (store/sqlite.ts) implements these; nothing here imports a store implementation.
export interface DeviceRow {
  id: string;
  name: string;
  fleet: string | null;
  tags: string[];
  secretHash: string;
  keyId: string | null;
  provisionNonce: string | null;
  createdAt: number;
  firstSeen: number | null;
  lastSeen: number | null;
  online: boolean;
  agentVersion: string | null;
  inventory: Record<string, unknown> | null;
  telemetry: Record<string, number> | null;
  telemetryAt: number | null;
}

export interface KeyRow {
  id: string;
  fleet: string;
  secretHash: string;
  maxUses: number | null;
  uses: number;
  expiresAt: number | null;
  revokedAt: number | null;
  createdAt: number;
}

/** The config values an operator wants on a device (retained on dev/{id}/config) and what the device said. */
export interface DesiredConfigRow {
  deviceId: string;
  version: number;
  values: Record<string, unknown>;
  status: 'pending' | 'applied' | 'failed';
  reason: string | null;
  updatedAt: number;
  reportedAt: number | null;
}

export interface BirthUpdate {
  at: number;
  name: string;
  agentVersion: string;
  inventory: Record<string, unknown>;
}

/** Devices: registration, credentials, presence, telemetry and tags. */
export interface DeviceStore {
  getDevice(id: string): DeviceRow | undefined;
  /** A device's stored secret hash, without the rest of its row (every login and reconnect reads it). */
  getDeviceSecretHash(id: string): string | undefined;
  /** Whether a device id is known (a birth, an RPC from a device), without reading its row. */
  hasDevice(id: string): boolean;
  listDevices(filter?: { fleet?: string; tag?: string; online?: boolean }): DeviceRow[];
  countDevices(): { total: number; online: number };
  findDeviceByNonce(keyId: string, nonce: string): DeviceRow | undefined;
  /** Creates a device under a key and counts the use, atomically; fails when the key is exhausted. */
  createProvisionedDevice(row: { id: string; name: string; fleet: string; tags?: string[]; secretHash: string; keyId: string; nonce: string; createdAt: number }): 'created' | 'exhausted';
  createDevice(row: { id: string; name: string; fleet: string | null; tags: string[]; secretHash: string; createdAt: number }): void;
  setDeviceSecret(id: string, secretHash: string): void;
  recordBirth(id: string, birth: BirthUpdate): void;
  recordDeath(id: string, at: number): void;
  /** Everything offline: called at hub start, before any device can have connected. */
  markAllOffline(): void;
  /** Applies many telemetry updates in one transaction. */
  recordTelemetry(updates: { id: string; at: number; metrics: Record<string, number>; full: boolean }[]): void;

  setTags(id: string, tags: string[]): void;
}

/** What an operator wants on each device, and what the device reported. */
export interface DesiredConfigStore {
  /** Merges values into the device's desired config under the next version (status pending), atomically. */
  putDesiredConfig(id: string, values: Record<string, unknown>, at: number): DesiredConfigRow;
  getDesiredConfig(id: string): DesiredConfigRow | undefined;
  listDesiredConfigs(): DesiredConfigRow[];
  /** Records a device's report for a version; false (and nothing changes) when it is not the current version. */
  reportDesiredConfig(id: string, report: { version: number; status: 'applied' | 'failed'; reason: string | null; at: number }): boolean;
}

/** Provisioning keys (a device's first credential). */
export interface ProvisioningKeyStore {
  createKey(row: Omit<KeyRow, 'uses' | 'revokedAt'>): void;
  getKey(id: string): KeyRow | undefined;
  listKeys(): KeyRow[];
  revokeKey(id: string, at: number): boolean;
}

/** The hub's own settings (its id, the broker's password salt). */
export interface MetaStore {
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
}
