// The hub's state behind one small interface, so a server database can replace the embedded SQLite file.
import type { JobStore } from '../jobs/store.js';
import type { PayoutStore } from '../payouts/types.js';
import type { EscrowStore } from '../escrow/store.js';
import type { UpdateStore } from './updates-sqlite.js';
import type { SessionStore } from './sessions-sqlite.js';
import type { ReceiptStore } from './receipts-sqlite.js';
import type { AlertStore } from '../alerts/store.js';
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

export type Role = 'viewer' | 'operator' | 'admin' | 'buyer';
export interface OperatorRow {
  name: string;
  secretHash: string;
  role: Role;
  createdAt: number;
  /** The on-chain account (required for a buyer: its deposits come from it, refunds go to it). */
  address?: string | null;
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

export interface HubStore {
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;

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
  /** Merges values into the device's desired config under the next version (status pending), atomically. */
  putDesiredConfig(id: string, values: Record<string, unknown>, at: number): DesiredConfigRow;
  getDesiredConfig(id: string): DesiredConfigRow | undefined;
  listDesiredConfigs(): DesiredConfigRow[];
  /** Records a device's report for a version; false (and nothing changes) when it is not the current version. */
  reportDesiredConfig(id: string, report: { version: number; status: 'applied' | 'failed'; reason: string | null; at: number }): boolean;

  createKey(row: Omit<KeyRow, 'uses' | 'revokedAt'>): void;
  getKey(id: string): KeyRow | undefined;
  listKeys(): KeyRow[];
  revokeKey(id: string, at: number): boolean;

  putOperator(row: OperatorRow): void;
  getOperator(name: string): OperatorRow | undefined;
  listOperators(): OperatorRow[];
  removeOperator(name: string): boolean;

  /** The job queue, runs, ledger and device standing (same database). */
  readonly jobs: JobStore;
  readonly payouts: PayoutStore;
  /** Buyer jobs' funding, credit and the settlement outbox (same database). */
  readonly escrow: EscrowStore;
  /** Agent releases and rollouts (same database). */
  readonly updates: UpdateStore;
  /** Remote shell and exec sessions (same database). */
  readonly sessions: SessionStore;
  /** Device keys and run receipts (same database). */
  readonly receipts: ReceiptStore;
  /** Alerts and their webhook deliveries (same database). */
  readonly alerts: AlertStore;

  close(): void;
}
